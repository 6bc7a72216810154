package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestLineSilentOffTerminal(t *testing.T) {
	var buf bytes.Buffer
	p := NewLine(&buf, "writing", Auto)
	if p.On() {
		t.Fatal("a bytes.Buffer is no terminal")
	}
	p.Message("attaching")
	p.Update("vda", 1, 2)
	p.Finish()
	if buf.Len() != 0 {
		t.Errorf("wrote %q off a terminal", buf.String())
	}
}

func TestLineNever(t *testing.T) {
	var buf bytes.Buffer
	p := NewLine(&buf, "writing", Never)
	p.Update("vda", 1, 1)
	p.Message("done")
	if p.On() || buf.Len() != 0 {
		t.Errorf("Never drew %q", buf.String())
	}
}

func TestLineDraws(t *testing.T) {
	var buf bytes.Buffer
	p := NewLine(&buf, "writing", Always)
	p.Update("vda", 0, 4<<20)
	p.Update("vdb", 2<<20, 2<<20)
	p.Update("vda", 4<<20, 4<<20) // complete: drawn whatever the time
	p.Message("booting the server")
	out := buf.String()
	if !strings.Contains(out, "\r\033[Kwriting 2 disk(s): 6.00 MiB / 6.00 MiB (100%") {
		t.Errorf("no complete line for both disks in %q", out)
	}
	if !strings.HasSuffix(out, ")\nbooting the server\n") {
		t.Errorf("the message does not follow the ended line: %q", out)
	}
}
