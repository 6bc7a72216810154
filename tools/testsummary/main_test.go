package main

import (
	"regexp"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"start","Package":"p/a"}`,
		`{"Action":"run","Package":"p/a","Test":"TestOK"}`,
		`{"Action":"output","Package":"p/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}`,
		`{"Action":"pass","Package":"p/a","Test":"TestOK","Elapsed":0.1}`,
		`{"Action":"run","Package":"p/a","Test":"TestBad"}`,
		`{"Action":"output","Package":"p/a","Test":"TestBad","Output":"    a_test.go:9: got 1, want 2\n"}`,
		`{"Action":"fail","Package":"p/a","Test":"TestBad","Elapsed":0.2}`,
		`{"Action":"fail","Package":"p/a","Elapsed":0.5}`,
		`{"Action":"output","Package":"p/b","Test":"TestCloud","Output":"    b_test.go:3: harness not reachable: run ../shared/openstack/up.sh\n"}`,
		`{"Action":"skip","Package":"p/b","Test":"TestCloud"}`,
		`{"Action":"output","Package":"p/b","Test":"TestLong","Output":"    b_test.go:4: -short\n"}`,
		`{"Action":"skip","Package":"p/b","Test":"TestLong"}`,
		`{"Action":"pass","Package":"p/b","Elapsed":1}`,
		`not json: a build error`,
	}, "\n")
	var out strings.Builder
	failed := summarize(strings.NewReader(in), &out, regexp.MustCompile(`up\.sh`))
	s := out.String()
	if !failed {
		t.Error("a failed test was not reported as a failure")
	}
	for _, want := range []string{
		"--- FAIL p/a TestBad", "got 1, want 2", "FAIL  p/a (0.5s)", "ok    p/b (1.0s)",
		"BAD SKIP  p/b TestCloud: b_test.go:3: harness not reachable", "SKIP  p/b TestLong: b_test.go:4: -short",
		"not json: a build error", "=== 1 failed tests",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "BAD SKIP  p/b TestLong") {
		t.Errorf("an allowed skip was counted as bad:\n%s", s)
	}

	out.Reset()
	ok := `{"Action":"pass","Package":"p/a","Test":"T"}` + "\n" + `{"Action":"pass","Package":"p/a"}` + "\n"
	if summarize(strings.NewReader(ok), &out, nil) {
		t.Errorf("a passing run failed:\n%s", out.String())
	}
	out.Reset()
	if !summarize(strings.NewReader(`{"Action":"build-output","ImportPath":"p/c","Output":"x.go:1: syntax\n"}`+"\n"+`{"Action":"build-fail","ImportPath":"p/c"}`), &out, nil) ||
		!strings.Contains(out.String(), "BUILD FAILED p/c") || !strings.Contains(out.String(), "x.go:1: syntax") {
		t.Errorf("build failure not reported:\n%s", out.String())
	}
}
