package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
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
	// The objects of the test's prefix are deleted at its end (the test
	// container is shared by every run on the machine).
	args := slices.Clone(o.args)
	t.Cleanup(func() {
		spool, err := os.MkdirTemp("", "rb-objstore-cleanup-")
		if err != nil {
			t.Logf("clean up %s: %v", o.loc, err)
			return
		}
		defer os.RemoveAll(spool)
		b := o.backendOf(t, args, spool)
		ctx := context.Background()
		names, err := b.List(ctx, "")
		if err != nil {
			t.Logf("clean up %s: %v", o.loc, err)
			return
		}
		for _, n := range names {
			if err := b.Delete(ctx, n); err != nil {
				t.Logf("clean up %s: %v", o.loc, err)
			}
		}
		if left, err := b.List(ctx, ""); err == nil && len(left) > 0 {
			t.Errorf("clean up %s: %d objects left: %v", o.loc, len(left), left[:min(len(left), 5)])
		}
	})
	return o
}

// backend opens the store as the commands do, for the test's own looks.
func (o *objStore) backend(t *testing.T) *objstore.Backend {
	t.Helper()
	return o.backendOf(t, o.args, t.TempDir())
}

// backendOf opens the store the arguments args name, with its spool in
// the directory spool.
func (o *objStore) backendOf(t *testing.T, args []string, spool string) *objstore.Backend {
	t.Helper()
	params := map[string]string{}
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--param" {
			k, v, _ := strings.Cut(args[i+1], "=")
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
	s.Backend.Spool = spool
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

// randomImage writes size bytes of random data (seeded) to path.
func randomImage(t *testing.T, path string, size int, seed uint64) []byte {
	t.Helper()
	img := make([]byte, size)
	r := mrand.New(mrand.NewPCG(seed, 7))
	for i := 0; i+8 <= len(img); i += 8 {
		binary.LittleEndian.PutUint64(img[i:], r.Uint64())
	}
	if err := os.WriteFile(path, img, 0o600); err != nil {
		t.Fatal(err)
	}
	return img
}

// spoolFiles lists what is left in the pool's spool directory.
func spoolFiles(t *testing.T, r *retentionRepo) []string {
	t.Helper()
	var left []string
	filepath.WalkDir(filepath.Join(r.pool, ".spool"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	return left
}

// TestObjectStoreStorm: an S3 endpoint that answers every pack upload with
// 503 (a proxy in front of the real s3api) fails the backup after the
// retries with a clear error: exit 1, no archive, nothing left in the
// spool; once the storm ends the next backup succeeds and restores.
func TestObjectStoreStorm(t *testing.T) {
	o := newObjStore(t, "s3")
	var storming atomic.Bool
	var refused atomic.Int64
	for i, a := range o.args {
		v, ok := strings.CutPrefix(a, "s3_endpoint=")
		if !ok {
			continue
		}
		target, err := url.Parse(v)
		if err != nil {
			t.Fatal(err)
		}
		rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // the request is signed for the host the client named
		}}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if storming.Load() && req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/packs/") {
				refused.Add(1)
				io.Copy(io.Discard, req.Body)
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>Please reduce your request rate.</Message></Error>`)
				return
			}
			rp.ServeHTTP(w, req)
		}))
		t.Cleanup(srv.Close)
		o.args[i] = "s3_endpoint=" + srv.URL
	}
	r := newRetentionRepo(t, false)
	r.storeArgs = o.args
	img := filepath.Join(r.dir, "disk.img")
	backup := func() (string, int) {
		_, errOut, code := engineCLI(t, append([]string{"image", "backup", "--name", "vm1", "--disk", "vda=" + img, "--type", "incremental"}, r.flags()...)...)
		return errOut, code
	}
	evolve(t, img, 3, 0)
	if errOut, code := backup(); code != 0 {
		t.Fatalf("backup before the storm: %d %s", code, errOut)
	}
	want := evolve(t, img, 3, 1)
	storming.Store(true)
	start := time.Now()
	errOut, code := backup()
	took := time.Since(start)
	if code != 1 || !strings.Contains(errOut, "HTTP 503") || !strings.Contains(errOut, "retried with backoff, then gave up") ||
		!strings.Contains(errOut, "reduce your request rate") {
		t.Fatalf("backup in a storm: exit %d after %s: %s", code, took, errOut)
	}
	if refused.Load() < 2 {
		t.Errorf("the storm refused %d uploads: no retry", refused.Load())
	}
	if n := len(archiveIDs(t, r)); n != 1 {
		t.Errorf("%d archives after the failed backup, want 1", n)
	}
	if left := spoolFiles(t, r); len(left) > 0 {
		t.Errorf("the failed backup left staged files: %v", left)
	}
	storming.Store(false)
	if errOut, code := backup(); code != 0 {
		t.Fatalf("backup after the storm: %d %s", code, errOut)
	}
	ids := archiveIDs(t, r)
	if len(ids) != 2 {
		t.Fatalf("%d archives, want 2", len(ids))
	}
	restoreEquals(t, r, ids[len(ids)-1], want)
	t.Logf("storm: %d uploads refused, backup failed after %s: %s", refused.Load(), took.Round(time.Millisecond), strings.TrimSpace(errOut))
}

// TestSwiftProxyStopped: the Swift proxy server stops while a backup
// uploads its packs. The backup fails with exit 1 and a clear error and
// publishes no archive; once Swift is back the next backup succeeds and
// prune removes the packs the failed one left. Not parallel: it takes
// the shared Swift cluster away for a few seconds.
func TestSwiftProxyStopped(t *testing.T) {
	o := newObjStore(t, "swift")
	script, err := filepath.Abs("../../scripts/swift.sh")
	if err != nil {
		t.Fatal(err)
	}
	swiftCmd := func(arg string) {
		if out, err := exec.Command(script, arg).CombinedOutput(); err != nil {
			t.Fatalf("swift.sh %s: %v: %s", arg, err, out)
		}
	}
	r := newRetentionRepo(t, false)
	r.storeArgs = o.args
	small := filepath.Join(r.dir, "small.img")
	evolve(t, small, 5, 0)
	if _, errOut, code := engineCLI(t, append([]string{"image", "backup", "--name", "vm1", "--disk", "vda=" + small}, r.flags()...)...); code != 0 {
		t.Fatalf("first backup: %s", errOut)
	}
	packs0 := len(o.names(t, "packs/"))
	big := filepath.Join(r.dir, "big.img")
	want := randomImage(t, big, 384<<20, 11)

	type result struct {
		errOut string
		code   int
	}
	// The failing backup is a process of its own, as on a proxy: its
	// lease record, which it cannot delete while the store is away, names
	// a process that has ended by the time prune runs, so prune removes it
	// at once instead of waiting out the lease's 15 minutes.
	bin := buildBinary(t)
	done := make(chan result, 1)
	go func() {
		_, errOut, code := run(t, bin, append([]string{"image", "backup", "--name", "vm2", "--disk", "vda=" + big}, r.flags()...)...)
		done <- result{errOut, code}
	}()
	// Stop the proxy once a first pack of this backup is in Swift: the
	// backup is in the middle, with more packs to come, and leaves packs
	// no archive refers to.
	deadline := time.Now().Add(90 * time.Second)
	for len(o.names(t, "packs/")) == packs0 {
		if time.Now().After(deadline) {
			t.Fatal("no pack reached Swift in 90 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	swiftCmd("stop-proxy")
	stopped := time.Now()
	t.Cleanup(func() { swiftCmd("start-proxy") })
	var res result
	select {
	case res = <-done:
	case <-time.After(3 * time.Minute):
		swiftCmd("start-proxy")
		t.Fatal("the backup did not end within 3 minutes of the proxy's stop")
	}
	took := time.Since(stopped)
	swiftCmd("start-proxy")
	if res.code != 1 || !strings.Contains(res.errOut, "connection refused") || !strings.Contains(res.errOut, "127.0.0.1:8080") {
		t.Fatalf("backup with the proxy stopped: exit %d after %s: %s", res.code, took, res.errOut)
	}
	if n := len(archiveIDs(t, r)); n != 1 {
		t.Errorf("%d archives after the failed backup, want 1", n)
	}
	if left := spoolFiles(t, r); len(left) > 0 {
		t.Errorf("the failed backup left staged files: %v", left)
	}
	orphans := len(o.names(t, "packs/")) - packs0
	if orphans < 1 {
		t.Fatalf("the failed backup left %d packs in Swift; the test wants it stopped after its first", orphans)
	}
	if _, errOut, code := engineCLI(t, append([]string{"image", "backup", "--name", "vm2", "--disk", "vda=" + big}, r.flags()...)...); code != 0 {
		t.Fatalf("backup after the proxy is back: %s", errOut)
	}
	out, errOut, code := engineCLI(t, append([]string{"prune", "--json", "--lock-wait", "30s"}, r.flags()...)...)
	if code != 0 {
		t.Fatalf("prune: %d %s", code, errOut)
	}
	var rep struct {
		Store struct {
			PacksDeleted int `json:"packs_deleted"`
		} `json:"store"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("prune --json: %v: %s", err, out)
	}
	if rep.Store.PacksDeleted < orphans {
		t.Errorf("prune deleted %d packs; the failed backup left %d", rep.Store.PacksDeleted, orphans)
	}
	if out, errOut, code := engineCLI(t, append([]string{"verify", "--all"}, r.flags()...)...); code != 0 {
		t.Fatalf("verify --all: %d %s %s", code, out, errOut)
	}
	ids := archiveIDs(t, r)
	restoreEquals(t, r, ids[len(ids)-1], want)
	t.Logf("proxy stopped: backup failed %s later: %s; %d orphan packs, prune deleted %d",
		took.Round(time.Millisecond), strings.TrimSpace(res.errOut), orphans, rep.Store.PacksDeleted)
}

// TestSwiftCorruptObject: a byte of a pack flipped on the object server's
// disk, behind Swift's back. verify reads the data and names the pack
// (exit 4); the other archive's data, in another pack, still verifies.
func TestSwiftCorruptObject(t *testing.T) {
	o := newObjStore(t, "swift")
	script, err := filepath.Abs("../../scripts/swift.sh")
	if err != nil {
		t.Fatal(err)
	}
	r := newRetentionRepo(t, false)
	r.storeArgs = o.args
	img := filepath.Join(r.dir, "disk.img")
	randomImage(t, img, 8<<20, 21)
	if _, errOut, code := engineCLI(t, append([]string{"image", "backup", "--name", "vm1", "--disk", "vda=" + img}, r.flags()...)...); code != 0 {
		t.Fatalf("backup: %s", errOut)
	}
	packs := o.names(t, "packs/")
	if len(packs) != 1 {
		t.Fatalf("%d packs, want 1: %v", len(packs), packs)
	}
	other := filepath.Join(r.dir, "other.img")
	want := randomImage(t, other, 4<<20, 22)
	if _, errOut, code := engineCLI(t, append([]string{"image", "backup", "--name", "vm2", "--disk", "vda=" + other}, r.flags()...)...); code != 0 {
		t.Fatalf("backup: %s", errOut)
	}
	container, prefix, _ := strings.Cut(strings.TrimPrefix(o.loc, "swift://"), "/")
	out, err := exec.Command(script, "object-path", container, prefix+"/"+packs[0]).Output()
	if err != nil {
		t.Fatalf("swift.sh object-path: %v", err)
	}
	data := strings.TrimSpace(string(out))
	f, err := os.OpenFile(data, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, 4<<20); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x20
	if _, err := f.WriteAt(b, 4<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	vout, verr, code := engineCLI(t, append([]string{"verify", "--all", "--read-data-subset", "100%"}, r.flags()...)...)
	name := strings.TrimSuffix(filepath.Base(packs[0]), ".pack")
	if code != 4 || !strings.Contains(vout+verr, name[:16]) {
		t.Fatalf("verify of a corrupted pack: exit %d, want 4 naming pack %s:\n%s\n%s", code, name, vout, verr)
	}
	ids := archiveIDs(t, r)
	restoreEquals(t, r, ids[len(ids)-1], want) // vm2's archive, whose data is in its own pack
	t.Logf("corrupted %s at byte %d; verify: %s", packs[0], 4<<20, strings.TrimSpace(vout+verr))
}
