// Command testsummary reads `go test -json` on stdin and prints a short
// report: one line per package, the full output of every failed test, and
// every skipped test with its reason. It exits 1 when a package or test
// failed, or when a skip reason matches -fail-on-skip (used by
// scripts/test.sh so integration tests cannot silently skip once the
// OpenStack harness is up).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	Elapsed    float64
	ImportPath string
}

type key struct{ pkg, test string }

func main() {
	failOnSkip := flag.String("fail-on-skip", "", "treat a skip whose reason matches this regular expression as a failure")
	flag.Parse()
	var skipRE *regexp.Regexp
	if *failOnSkip != "" {
		re, err := regexp.Compile(*failOnSkip)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testsummary: -fail-on-skip:", err)
			os.Exit(2)
		}
		skipRE = re
	}
	failed := summarize(os.Stdin, os.Stdout, skipRE)
	if failed {
		os.Exit(1)
	}
}

// summarize writes the report and says whether anything failed.
func summarize(r io.Reader, w io.Writer, skipRE *regexp.Regexp) bool {
	output := map[key]*strings.Builder{}
	build := map[string]*strings.Builder{}
	var failedTests, badSkips, skips []string
	var pkgLines []string
	failed := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintln(w, string(line)) // not JSON: a build error or a panic
			continue
		}
		k := key{e.Package, e.Test}
		switch e.Action {
		case "output":
			b := output[k]
			if b == nil {
				b = &strings.Builder{}
				output[k] = b
			}
			b.WriteString(e.Output)
		case "build-output":
			b := build[e.ImportPath]
			if b == nil {
				b = &strings.Builder{}
				build[e.ImportPath] = b
			}
			b.WriteString(e.Output)
		case "build-fail":
			failed = true
			fmt.Fprintf(w, "BUILD FAILED %s\n%s", e.ImportPath, text(build[e.ImportPath]))
		case "fail":
			failed = true
			if e.Test == "" {
				pkgLines = append(pkgLines, fmt.Sprintf("FAIL  %s (%.1fs)", e.Package, e.Elapsed))
				// Output outside any test: a panic, a timeout, TestMain.
				if out := text(output[k]); strings.TrimSpace(out) != "" && !onlyStatus(out) {
					fmt.Fprintf(w, "--- output of package %s:\n%s", e.Package, out)
				}
			} else {
				failedTests = append(failedTests, e.Package+" "+e.Test)
				if !strings.Contains(e.Test, "/") { // subtests are inside their parent's output
					fmt.Fprintf(w, "--- FAIL %s %s (%.1fs):\n%s", e.Package, e.Test, e.Elapsed, text(output[k]))
				}
			}
		case "pass":
			if e.Test == "" {
				pkgLines = append(pkgLines, fmt.Sprintf("ok    %s (%.1fs)", e.Package, e.Elapsed))
			}
		case "skip":
			if e.Test == "" {
				pkgLines = append(pkgLines, fmt.Sprintf("--    %s (no tests)", e.Package))
				continue
			}
			reason := skipReason(text(output[k]))
			s := fmt.Sprintf("%s %s: %s", e.Package, e.Test, reason)
			skips = append(skips, s)
			if skipRE != nil && skipRE.MatchString(reason) {
				badSkips = append(badSkips, s)
				failed = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(w, "testsummary: reading go test output:", err)
		failed = true
	}
	sort.Strings(pkgLines)
	fmt.Fprintln(w, "=== packages")
	for _, l := range pkgLines {
		fmt.Fprintln(w, l)
	}
	if len(skips) > 0 {
		fmt.Fprintf(w, "=== %d skipped tests\n", len(skips))
		for _, s := range skips {
			fmt.Fprintln(w, "SKIP ", s)
		}
	}
	if len(badSkips) > 0 {
		fmt.Fprintf(w, "=== %d tests skipped although what they need is available (counted as failures)\n", len(badSkips))
		for _, s := range badSkips {
			fmt.Fprintln(w, "BAD SKIP ", s)
		}
	}
	if len(failedTests) > 0 {
		fmt.Fprintf(w, "=== %d failed tests\n", len(failedTests))
		for _, s := range failedTests {
			fmt.Fprintln(w, "FAIL ", s)
		}
	}
	return failed
}

func text(b *strings.Builder) string {
	if b == nil {
		return ""
	}
	return b.String()
}

// onlyStatus says whether a package's own output is just go test's status lines.
func onlyStatus(out string) bool {
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		l = strings.TrimSpace(l)
		if l != "FAIL" && l != "PASS" && !strings.HasPrefix(l, "FAIL\t") && !strings.HasPrefix(l, "ok ") && !strings.HasPrefix(l, "coverage:") {
			return false
		}
	}
	return true
}

// skipReason keeps the lines a test printed except go test's own markers.
func skipReason(out string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		keep = append(keep, t)
	}
	if len(keep) == 0 {
		return "(no reason given)"
	}
	return strings.Join(keep, " | ")
}
