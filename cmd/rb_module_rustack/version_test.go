package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/codec"
)

// TestVersionStamped builds the binary the way scripts/package.sh does and
// checks that version and --version print the stamped version, commit and
// build date and the Go version, identically.
func TestVersionStamped(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rb_module_rustack")
	ldflags := "-X main.version=4.5.6-pkgtest -X main.commit=0123456789abcdef -X main.buildDate=2026-12-01T10:20:30Z"
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "-ldflags", ldflags, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	want := "rb_module_rustack 4.5.6-pkgtest\ncommit      0123456789abcdef\nbuilt       2026-12-01T10:20:30Z\ngo          " +
		runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n" +
		"zstd        Go (github.com/klauspost/compress/zstd)\n" // CGO_ENABLED=0: the Go encoder
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		out, errOut, code := run(t, bin, args...)
		if code != exitOK || out != want || errOut != "" {
			t.Errorf("%v: code %d, stdout %q, stderr %q; want 0 and %q", args, code, out, errOut, want)
		}
	}
	out, _, code := run(t, bin, "version", "--json")
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); code != exitOK || err != nil {
		t.Fatalf("version --json: code %d, %v: %q", code, err, out)
	}
	wantJSON := map[string]string{"version": "4.5.6-pkgtest", "commit": "0123456789abcdef", "build_date": "2026-12-01T10:20:30Z",
		"go_version": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH,
		"zstd_encoder": "Go (github.com/klauspost/compress/zstd)"}
	for k, v := range wantJSON {
		if got[k] != v {
			t.Errorf("version --json: %s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(wantJSON) {
		t.Errorf("version --json has keys %v, want exactly %v", got, wantJSON)
	}
}

// TestVersionUnstamped: a plain build says what it does not know.
func TestVersionUnstamped(t *testing.T) {
	var out bytes.Buffer
	a := newApp(&out, &out)
	root := newRootCmd(a)
	root.SetArgs([]string{"version"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	// go test builds without -ldflags; the VCS stamp may or may not be there.
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 5 || lines[0] != "rb_module_rustack "+version || !strings.HasPrefix(lines[1], "commit      ") ||
		!strings.HasPrefix(lines[2], "built       ") || lines[3] != "go          "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH ||
		lines[4] != "zstd        "+codec.ZstdEncoder() {
		t.Errorf("version printed %q", out.String())
	}
	for _, l := range lines[1:3] {
		if strings.TrimSpace(l[12:]) == "" {
			t.Errorf("empty value in %q", l)
		}
	}
}

// visibleCommands lists the command paths gen-docs must write a page for.
func visibleCommands(c *cobra.Command) []string {
	var out []string
	if !c.IsAvailableCommand() && c.HasParent() {
		return nil
	}
	out = append(out, strings.ReplaceAll(c.CommandPath(), " ", "-"))
	for _, sub := range c.Commands() {
		out = append(out, visibleCommands(sub)...)
	}
	return out
}

// TestGenDocs: one man page per visible command (completion included,
// gen-docs itself not), each with the command's flags, and completion
// scripts for bash, zsh and fish that know the commands.
func TestGenDocs(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	root := newRootCmd(newApp(&out, &out))
	root.SetArgs([]string{"gen-docs", "--man", filepath.Join(dir, "man"), "--completion", filepath.Join(dir, "completion")})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "man"))
	if err != nil {
		t.Fatal(err)
	}
	var pages []string
	for _, e := range entries {
		pages = append(pages, strings.TrimSuffix(e.Name(), ".8"))
	}
	slices.Sort(pages)
	want := visibleCommands(newRootCmd(newApp(&out, &out)))
	want = append(want, "rb_module_rustack-completion", "rb_module_rustack-completion-bash", "rb_module_rustack-completion-zsh",
		"rb_module_rustack-completion-fish", "rb_module_rustack-completion-powershell") // cobra adds these at Execute
	slices.Sort(want)
	want = slices.Compact(want)
	if !slices.Equal(pages, want) {
		t.Errorf("man pages %v\nwant %v", pages, want)
	}
	for _, must := range []string{"rb_module_rustack", "rb_module_rustack-backup", "rb_module_rustack-restore", "rb_module_rustack-version", "rb_module_rustack-completion"} {
		if !slices.Contains(pages, must) {
			t.Errorf("no man page %s", must)
		}
	}
	if slices.Contains(pages, "rb_module_rustack-gen-docs") {
		t.Error("the hidden gen-docs command has a man page")
	}
	page, err := os.ReadFile(filepath.Join(dir, "man", "rb_module_rustack-backup.8"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`.TH "RB_MODULE_RUSTACK" "8"`, `\fB--vm\fP`, `\fB--type\fP`, "rb_module_rustack(8)"} {
		if !strings.Contains(string(page), s) {
			t.Errorf("rb_module_rustack-backup.8 lacks %q", s)
		}
	}
	top, _ := os.ReadFile(filepath.Join(dir, "man", "rb_module_rustack.8"))
	for _, s := range []string{"/opt/rubackup/etc/rb_module_rustack.conf", "Exit status", "rb_module_rustack-backup(8)"} {
		if !strings.Contains(string(top), s) {
			t.Errorf("rb_module_rustack.8 lacks %q", s)
		}
	}
	for name, marker := range map[string]string{
		"rb_module_rustack.bash": "__start_rb_module_rustack",
		"_rb_module_rustack":     "#compdef rb_module_rustack",
		"rb_module_rustack.fish": "complete -c rb_module_rustack",
	} {
		b, err := os.ReadFile(filepath.Join(dir, "completion", name))
		if err != nil || !strings.Contains(string(b), marker) {
			t.Errorf("%s: %v; want %q in it", name, err, marker)
		}
	}
}

// TestCompletionVisible: completion is listed in --help, gen-docs is not.
func TestCompletionVisible(t *testing.T) {
	var out bytes.Buffer
	root := newRootCmd(newApp(&out, &out))
	root.SetArgs([]string{"--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\n  completion ") || !strings.Contains(out.String(), "\n  version ") {
		t.Errorf("--help lists no completion or version command:\n%s", out.String())
	}
	if strings.Contains(out.String(), "gen-docs") {
		t.Errorf("--help lists the hidden gen-docs:\n%s", out.String())
	}
}
