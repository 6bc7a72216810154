package main

import (
	"strings"
	"testing"
)

// TestDemo runs the demo as a user would, then with faults: each ends with
// exit 1, a clear error and nothing left behind.
func TestDemo(t *testing.T) {
	bin := buildBinary(t)
	out, errOut, code := run(t, bin, "demo", "--boot-mib", "8", "--data-mib", "4", "--changes", "64")
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"2. full", "4. incremental", "5. restore", "= the VM's volume", "6. verify", "7. clean", "demo done"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"CreateSnapshot:2", "WaitVolume:1", "AttachVolume:1", "ListAttachments:1", "device"} {
		out, errOut, code := run(t, bin, "demo", "--boot-mib", "4", "--data-mib", "2", "--fail", f)
		if code != exitFailure {
			t.Errorf("--fail %s: exit %d, want %d\n%s%s", f, code, exitFailure, out, errOut)
		}
		if !strings.Contains(out, "nothing left behind") || !strings.Contains(errOut, "error: full backup:") {
			t.Errorf("--fail %s:\n%s%s", f, out, errOut)
		}
	}
	if _, errOut, code := run(t, bin, "demo", "--fail", "nonsense"); code != exitUsage {
		t.Errorf("--fail nonsense: exit %d %s", code, errOut)
	}
	// An unknown operation is refused before anything runs, with the list
	// of the valid ones.
	out, errOut, code = run(t, bin, "demo", "--fail", "Bogus:1")
	if code != exitUsage || out != "" || !strings.Contains(errOut, `unknown operation "Bogus"`) ||
		!strings.Contains(errOut, "CreateSnapshot, CreateVolume") || !strings.Contains(errOut, `"device"`) {
		t.Errorf("--fail Bogus:1: exit %d, want %d and the list of operations\nstdout: %s\nstderr: %s", code, exitUsage, out, errOut)
	}
}
