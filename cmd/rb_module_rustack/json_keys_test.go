package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/backup"
	"rb_module_rustack/internal/deploy"
	"rb_module_rustack/internal/fileget"
	"rb_module_rustack/internal/restore"
	"rb_module_rustack/internal/snapshot"
	"rb_module_rustack/internal/status"
)

// snakeKey is the one naming scheme of every --json output (docs/json.md).
var snakeKey = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// badKeys walks decoded JSON and returns every object key that is not
// snake_case, with its path.
func badKeys(v any, path string) []string {
	var bad []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if !snakeKey.MatchString(k) {
				bad = append(bad, path+"."+k)
			}
			bad = append(bad, badKeys(e, path+"."+k)...)
		}
	case []any:
		for _, e := range x {
			bad = append(bad, badKeys(e, path+"[]")...)
		}
	}
	return bad
}

func TestBadKeysFindsCamelCase(t *testing.T) {
	var v any
	if err := json.Unmarshal([]byte(`{"ok":1,"a":[{"VMID":2,"vm_id":3,"x":{"Path":4,"read_mb_per_s":5}}]}`), &v); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(badKeys(v, "$"), " ")
	if !strings.Contains(got, "$.a[].VMID") || !strings.Contains(got, "$.a[].x.Path") || strings.Contains(got, "vm_id") || strings.Contains(got, "read_mb") {
		t.Errorf("badKeys = %q", got)
	}
}

// TestJSONOutputSnakeCase runs every command whose --json output needs no
// cloud, on a pool and on a dedup store, and fails on any key that is not
// snake_case. The outputs of the cloud commands are checked through their
// types in TestJSONTypesSnakeCase.
func TestJSONOutputSnakeCase(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	pool, pool2 := filepath.Join(dir, "pool"), filepath.Join(dir, "pool2")
	store, store2 := filepath.Join(dir, "store"), filepath.Join(dir, "store2")
	img := filepath.Join(dir, "disk.img")
	writeImage(t, img, 1<<20, 0)
	if _, e, code := engineCLI(t, "keygen", "--key-file", key); code != exitOK {
		t.Fatalf("keygen: %d %s", code, e)
	}
	seen := map[string]bool{}
	js := func(args ...string) map[string]any {
		t.Helper()
		out, e, code := engineCLI(t, append(args, "--json")...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, e)
		}
		var v any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%v: not JSON: %v\n%s", args, err, out)
		}
		if bad := badKeys(v, "$"); len(bad) > 0 {
			t.Errorf("%v --json: keys not snake_case: %v", args, bad)
		}
		name := args[0]
		if name == "image" {
			name += " " + args[1]
		}
		seen[name] = true
		m, _ := v.(map[string]any)
		if m == nil {
			if l, ok := v.([]any); ok && len(l) > 0 {
				m, _ = l[0].(map[string]any)
			}
		}
		return m
	}
	repo := []string{"--pool", pool, "--key-file", key}
	st := []string{"--pool", pool2, "--store", store, "--key-file", key}
	full := js(append([]string{"image", "backup", "--name", "vm1", "--disk", "vda=" + img, "--type", "full"}, repo...)...)
	writeImage(t, img, 1<<20, 1)
	incr := js(append([]string{"image", "backup", "--name", "vm1", "--disk", "vda=" + img, "--type", "incremental"}, repo...)...)
	js(append([]string{"image", "backup", "--name", "vm2", "--disk", "vda=" + img, "--type", "full"}, st...)...)
	js(append([]string{"archives"}, repo...)...)
	js(append([]string{"status"}, repo...)...)
	js("version")
	js(append([]string{"verify", full["archive"].(string)}, repo...)...)
	js(append([]string{"verify", "--all"}, repo...)...)
	js(append([]string{"verify", "--all"}, st...)...)
	js(append([]string{"restore", incr["archive"].(string), "--to-dir", filepath.Join(dir, "out")}, repo...)...)
	js(append([]string{"forget", "--keep-last", "1", "--dry-run"}, repo...)...)
	js(append([]string{"prune", "--dry-run"}, st...)...)
	js("copy", "--from", store, "--to", store2, "--key-file", key, "--pool", pool2, "--vm", "vm2")
	js(append([]string{"consolidate", incr["archive"].(string)}, repo...)...)
	js(append([]string{"delete", full["archive"].(string), "--with-dependants"}, repo...)...)
	js("algorithms")

	// Every command with a --json flag is either run above or checked by
	// type below; a new one must be added to one of them.
	byType := map[string]bool{"list": true, "backup": true, "restore": true, "cleanup": true, "files": true}
	var walk func(prefix string, cmds []*cobra.Command)
	walk = func(prefix string, cmds []*cobra.Command) {
		for _, c := range cmds {
			name := strings.TrimSpace(prefix + " " + c.Name())
			if c.Flags().Lookup("json") != nil && !seen[name] && !byType[name] {
				t.Errorf("command %q has --json but this test checks neither its output nor its type", name)
			}
			walk(name, c.Commands())
		}
	}
	walk("", newRootCmd(newApp(os.Stdout, os.Stderr)).Commands())
}

// TestJSONTypesSnakeCase checks the JSON names of every field of the types
// the commands print (also fields left out when empty), including those of
// the cloud commands (list, backup, restore --deploy, cleanup).
func TestJSONTypesSnakeCase(t *testing.T) {
	for _, v := range []any{
		vmRow{}, backup.VMSummary{}, backup.ImagesSummary{}, deploy.Result{}, restore.DirResult{}, snapshot.Removed{},
		archive.Info{}, archive.VerifyReport{}, archive.VerifyAllReport{}, archive.PruneReport{},
		archive.ForgetResult{}, algorithmList{}, archive.DeleteResult{}, archive.ConsolidateResult{}, archive.CopyReport{},
		status.Row{}, versionInfo{},
		fileget.Entry{},
	} {
		for _, bad := range typeBadKeys(reflect.TypeOf(v), map[reflect.Type]bool{}) {
			t.Errorf("%T: %s", v, bad)
		}
	}
}

// typeBadKeys returns the fields of t (recursively) whose JSON name is not
// snake_case.
func typeBadKeys(t reflect.Type, seen map[reflect.Type]bool) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] || t.PkgPath() == "time" {
		return nil
	}
	seen[t] = true
	var bad []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if f.Anonymous && tag == "" {
			bad = append(bad, typeBadKeys(f.Type, seen)...)
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if !snakeKey.MatchString(tag) {
			bad = append(bad, t.Name()+"."+f.Name+" is "+tag)
		}
		bad = append(bad, typeBadKeys(f.Type, seen)...)
	}
	return bad
}
