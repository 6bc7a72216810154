package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rb_module_rustack/internal/config"
	"rb_module_rustack/internal/harnesstest"
	"rb_module_rustack/internal/objstore"
	"rb_module_rustack/internal/repoopen"
)

// The dedup store on the real Swift cluster of scripts/swift.sh (native
// API through the harness' Keystone, and S3 through its s3api). The
// script's `up` prints RB_SWIFT_PARAMS and RB_S3_PARAMS; scripts/test.sh
// exports them, and turns a skip here into a failure.

// objStore is one object store under a prefix of its own.
type objStore struct {
	kind string   // "swift" | "s3"
	loc  string   // swift://rb-test/<unique>
	args []string // -c CONFIG --param store=... (and the S3 keys)
	conf string
	user string // the harness user
}

func newObjStore(t *testing.T, kind string) *objStore {
	t.Helper()
	env := map[string]string{"swift": "RB_SWIFT_PARAMS", "s3": "RB_S3_PARAMS"}[kind]
	params := os.Getenv(env)
	if params == "" {
		t.Skipf("SWIFT NOT AVAILABLE (%s is not set): eval \"$(scripts/swift.sh up)\"", env)
	}
	h := harnesstest.New(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "rb.conf")
	text := fmt.Sprintf("url %s\nusername %s\npassword %s\ndomain %s\nproject_id %s\nregion %s\nlog_file %s\nstate_dir %s\n",
		h.Env["OS_AUTH_URL"], h.Env["OS_USERNAME"], h.Env["OS_PASSWORD"], h.Env["OS_USER_DOMAIN_NAME"],
		h.Env["OS_PROJECT_ID"], h.Env["OS_REGION_NAME"], filepath.Join(dir, "rb.log"), filepath.Join(dir, "state"))
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	o := &objStore{kind: kind, conf: conf, args: []string{"-c", conf}, user: h.Env["OS_USERNAME"]}
	prefix := fmt.Sprintf("t-%s-%d", strings.ToLower(t.Name()), time.Now().UnixNano())
	prefix = strings.NewReplacer("/", "-", "_", "-").Replace(prefix)
	for _, f := range strings.Fields(params) {
		if f == "--param" {
			continue
		}
		if v, ok := strings.CutPrefix(f, "store="); ok {
			container, _, _ := strings.Cut(strings.SplitN(v, "://", 2)[1], "/")
			o.loc = kind + "://" + container + "/" + prefix
			f = "store=" + o.loc
		}
		o.args = append(o.args, "--param", f)
	}
	return o
}

// backend opens the store as the commands do, for the test's own looks.
func (o *objStore) backend(t *testing.T) *objstore.Backend {
	t.Helper()
	params := map[string]string{}
	for i := 0; i+1 < len(o.args); i++ {
		if o.args[i] == "--param" {
			k, v, _ := strings.Cut(o.args[i+1], "=")
			params[k] = v
		}
	}
	cfg, err := config.Load(o.conf, params)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := objstore.ParseLocation(cfg.Store)
	if err != nil {
		t.Fatal(err)
	}
	s := repoopen.ObjectSettings(cfg, nil)
	s.Backend.Spool = t.TempDir()
	b, err := objstore.Open(context.Background(), loc, s, false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (o *objStore) names(t *testing.T, prefix string) []string {
	t.Helper()
	n, err := o.backend(t).List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestObjectStoreCLI: backup, restore, verify, forget and prune on Swift
// and on S3, as on a directory; an unchanged re-backup puts no data; bad
// credentials and a missing container are clear errors.
func TestObjectStoreCLI(t *testing.T) {
	for _, kind := range []string{"swift", "s3"} {
		t.Run(kind, func(t *testing.T) {
			o := newObjStore(t, kind)
			r := newRetentionRepo(t, false)
			r.storeArgs = o.args
			img := filepath.Join(r.dir, "disk.img")
			var datas [][]byte
			var ids []string
			for g := 0; g < 3; g++ {
				datas = append(datas, evolve(t, img, 7, g))
				out, errOut, code := engineCLI(t, append([]string{"image", "backup", "--name", "vm1", "--disk", "vda=" + img, "--type", "incremental", "--json"}, r.flags()...)...)
				if code != 0 {
					t.Fatalf("backup %d: exit %d: %s", g, code, errOut)
				}
				var s struct {
					Archive string `json:"archive"`
				}
				json.Unmarshal([]byte(out), &s)
				ids = append(ids, s.Archive)
			}
			for i, id := range ids {
				restoreEquals(t, r, id, datas[i])
			}
			// An unchanged re-backup writes no pack and no index file.
			packs, idx := o.names(t, "packs/"), o.names(t, "index/")
			if _, errOut, code := engineCLI(t, append([]string{"image", "backup", "--name", "vm1", "--disk", "vda=" + img, "--type", "incremental"}, r.flags()...)...); code != 0 {
				t.Fatalf("unchanged backup: %s", errOut)
			}
			if p2, i2 := o.names(t, "packs/"), o.names(t, "index/"); len(p2) != len(packs) || len(i2) != len(idx) {
				t.Fatalf("unchanged re-backup stored data: packs %d -> %d, index files %d -> %d", len(packs), len(p2), len(idx), len(i2))
			}
			if out, errOut, code := engineCLI(t, append([]string{"verify", "--all", "--read-data-subset", "100%"}, r.flags()...)...); code != 0 {
				t.Fatalf("verify --all: %d %s %s", code, out, errOut)
			}
			out, errOut, code := engineCLI(t, append([]string{"forget", "--keep-last", "1", "--prune", "--json"}, r.flags()...)...)
			if code != 0 {
				t.Fatalf("forget --prune: %d %s", code, errOut)
			}
			if !strings.Contains(out, `"bytes_freed"`) || strings.Contains(out, `"bytes_freed": 0`) {
				t.Errorf("forget --prune freed nothing: %s", out)
			}
			restoreEquals(t, r, archiveIDs(t, r)[0], datas[2])
			if out, errOut, code := engineCLI(t, append([]string{"verify", "--all"}, r.flags()...)...); code != 0 {
				t.Fatalf("verify --all after prune: %d %s %s", code, out, errOut)
			}

			// Wrong credentials: exit 1, a message to act on, no secret.
			bad := []string{"--param", "store_username=" + o.user, "--param", "store_password=wrong-Secret-123"}
			if kind == "s3" {
				bad = []string{"--param", "s3_secret_key=wrong-Secret-123"}
			}
			_, errOut, code = engineCLI(t, append(append([]string{"archives"}, r.flags()...), bad...)...)
			if code != 1 || strings.Contains(errOut, "wrong-Secret-123") || !strings.Contains(errOut, o.loc) {
				t.Errorf("wrong credentials: exit %d: %s", code, errOut)
			}
			// A container or bucket that does not exist: reading commands say so.
			missing := append(r.flags(), "--param", "store="+kind+"://rb-missing-"+fmt.Sprint(time.Now().UnixNano()%1e6)+"/x")
			_, errOut, code = engineCLI(t, append([]string{"archives"}, missing...)...)
			if code != 1 || !strings.Contains(errOut, "does not exist") {
				t.Errorf("missing container: exit %d: %s", code, errOut)
			}
			t.Logf("%s: %d packs, %d index files; errors: %s", o.loc, len(packs), len(idx), strings.TrimSpace(errOut))
		})
	}
}

// TestSwiftStoreBesideBackups: backups of three VMs by three processes
// into one Swift store while another process prunes; verify and restores.
func TestSwiftStoreBesideBackups(t *testing.T) {
	o := newObjStore(t, "swift")
	r := newRetentionRepo(t, false)
	r.storeArgs = o.args
	pruneBesideBackups(t, r, 3)
}
