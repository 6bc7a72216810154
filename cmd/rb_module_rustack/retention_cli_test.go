package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// retentionRepo is a pool (and store) on disk and the flags that open it.
type retentionRepo struct {
	dir, pool, store, key string
	// storeArgs reach an object store instead of the directory store
	// (-c CONFIG --param store=swift://... and its keys).
	storeArgs []string
}

func (r *retentionRepo) flags() []string {
	f := []string{"--pool", r.pool, "--key-file", r.key}
	if r.store != "" {
		f = append(f, "--store", r.store)
	}
	return append(f, r.storeArgs...)
}

func newRetentionRepo(t *testing.T, store bool) *retentionRepo {
	t.Helper()
	dir := t.TempDir()
	r := &retentionRepo{dir: dir, pool: filepath.Join(dir, "pool"), key: filepath.Join(dir, "key")}
	if store {
		r.store = filepath.Join(dir, "store")
	}
	if _, errOut, code := engineCLI(t, "keygen", "--key-file", r.key); code != 0 {
		t.Fatalf("keygen: %s", errOut)
	}
	return r
}

// evolve writes a 4 MiB image for generation gen of a VM: random data of
// which each generation rewrites a quarter, so that old packs become
// partly unused as old archives go.
func evolve(t *testing.T, path string, seed uint64, gen int) []byte {
	t.Helper()
	img := make([]byte, 4<<20)
	base := mrand.New(mrand.NewPCG(seed, 1))
	for i := range img {
		img[i] = byte(base.Uint32())
	}
	for g := 1; g <= gen; g++ {
		r := mrand.New(mrand.NewPCG(seed, uint64(g)+100))
		off := r.IntN(len(img) - len(img)/4)
		for i := off; i < off+len(img)/4; i++ {
			img[i] = byte(r.Uint32())
		}
	}
	if err := os.WriteFile(path, img, 0o600); err != nil {
		t.Fatal(err)
	}
	return img
}

func (r *retentionRepo) imageBackup(t *testing.T, run func(args ...string) (string, string, int), vm, img string, extra ...string) string {
	t.Helper()
	args := append([]string{"image", "backup", "--name", vm, "--disk", "vda=" + img, "--type", "full", "--json",
		"--chunk-min", "4K", "--chunk-avg", "16K", "--chunk-max", "64K"}, r.flags()...)
	out, errOut, code := run(append(args, extra...)...)
	if code != 0 {
		t.Fatalf("image backup: %d %s", code, errOut)
	}
	var s struct {
		Archive string `json:"archive"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.Archive == "" {
		t.Fatalf("image backup output %q: %v", out, err)
	}
	return s.Archive
}

func inProcess(t *testing.T) func(args ...string) (string, string, int) {
	return func(args ...string) (string, string, int) { return engineCLI(t, args...) }
}

func archiveIDs(t *testing.T, r *retentionRepo) []string {
	t.Helper()
	out, errOut, code := engineCLI(t, append([]string{"archives", "--json"}, r.flags()...)...)
	if code != 0 {
		t.Fatalf("archives: %s", errOut)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range list {
		ids = append(ids, a["id"].(string))
	}
	return ids
}

// restoreEquals restores archive id with the binary (or in process) and
// compares its disk with want.
func restoreEquals(t *testing.T, r *retentionRepo, id string, want []byte) {
	t.Helper()
	to := filepath.Join(t.TempDir(), "restore")
	if _, errOut, code := engineCLI(t, append([]string{"restore", id, "--to-dir", to, "--no-sync"}, r.flags()...)...); code != 0 {
		t.Fatalf("restore %s: %d %s", id, code, errOut)
	}
	got, err := os.ReadFile(filepath.Join(to, "vda.img"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("restore %s: not bit-exact (%v)", id, err)
	}
}

func TestRetentionCLI(t *testing.T) {
	r := newRetentionRepo(t, true)
	img := filepath.Join(r.dir, "disk.img")
	var ids []string
	var data [][]byte
	for g := 0; g < 3; g++ {
		data = append(data, evolve(t, img, 1, g))
		ids = append(ids, r.imageBackup(t, inProcess(t), "web1", img))
	}
	cli := func(args ...string) (string, string, int) { return engineCLI(t, append(args, r.flags()...)...) }

	// Bad input: exit 2, nothing changed, a message a person can act on.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"forget", "--keep-last", "abc"}, "--keep-last"},
		{[]string{"forget", "--keep-daily", "-1"}, "--keep-daily"},
		{[]string{"forget", "--keep-within", "3x"}, "--keep-within"},
		{[]string{"forget"}, "--keep-none"},
		{[]string{"forget", "--keep-last", "1", "--vm", "nosuchvm"}, "nosuchvm"},
		{[]string{"delete", "nosuch-archive"}, "nosuch-archive"},
		{[]string{"prune", "--max-unused", "200%"}, "--max-unused"},
		{[]string{"verify", "--read-data-subset", "10%"}, "--all"},
	} {
		_, errOut, code := cli(c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming %q", c.args, code, errOut, c.want)
		}
	}
	if got := archiveIDs(t, r); len(got) != 3 {
		t.Fatalf("bad input changed the archives: %v", got)
	}

	// The plan as JSON, snake_case, with decisions and reasons.
	out, errOut, code := cli("forget", "--keep-last", "1", "--dry-run", "--json")
	if code != 0 {
		t.Fatalf("forget --dry-run: %s", errOut)
	}
	var plan struct {
		Policy string `json:"policy"`
		DryRun bool   `json:"dry_run"`
		VMs    []struct {
			VMID     string `json:"vm_id"`
			Archives []struct {
				ID       string   `json:"id"`
				Decision string   `json:"decision"`
				Reasons  []string `json:"reasons"`
			} `json:"archives"`
		} `json:"vms"`
		Removed []string `json:"removed"`
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil || !plan.DryRun || len(plan.VMs) != 1 || len(plan.Removed) != 2 {
		t.Fatalf("plan: %v %s", err, out)
	}
	if a := plan.VMs[0].Archives[0]; a.ID != ids[2] || a.Decision != "keep" || strings.Join(a.Reasons, ",") != "last 1" {
		t.Fatalf("newest archive's decision: %+v", a)
	}
	if got := archiveIDs(t, r); len(got) != 3 {
		t.Fatalf("a dry run removed archives: %v", got)
	}

	// forget --prune frees space; what is kept restores bit-exact.
	before := dirSize(t, r.store)
	out, errOut, code = cli("forget", "--keep-last", "1", "--prune")
	if code != 0 || !strings.Contains(out, "freed") {
		t.Fatalf("forget --prune: %d %s %s", code, out, errOut)
	}
	after := dirSize(t, r.store)
	if after >= before {
		t.Fatalf("store %d -> %d bytes: prune freed nothing", before, after)
	}
	t.Logf("store %d -> %d bytes after forget --keep-last 1 --prune", before, after)
	if got := archiveIDs(t, r); len(got) != 1 || got[0] != ids[2] {
		t.Fatalf("after forget: %v", got)
	}
	restoreEquals(t, r, ids[2], data[2])
	if out, errOut, code := cli("verify", "--all"); code != 0 || !strings.HasPrefix(out, "OK") {
		t.Fatalf("verify --all: %d %s %s", code, out, errOut)
	}

	// The policy in the configuration (here as a rule parameter) is
	// applied by every successful backup to its VM.
	for g := 3; g < 6; g++ {
		data = append(data, evolve(t, img, 1, g))
		ids = append(ids, r.imageBackup(t, inProcess(t), "web1", img, "--param", "keep_last=2"))
	}
	if got := archiveIDs(t, r); len(got) != 2 || got[1] != ids[5] || got[0] != ids[4] {
		t.Fatalf("after backups with keep_last=2: %v", got)
	}
	if _, errOut, code := cli("delete", ids[4], ids[5]); code != 0 {
		t.Fatalf("delete: %s", errOut)
	}
	if got := archiveIDs(t, r); len(got) != 0 {
		t.Fatalf("after delete: %v", got)
	}
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// copyTree copies directory src to dst (regular files and directories).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	out, err := exec.Command("cp", "-a", src, dst).CombinedOutput()
	if err != nil {
		t.Fatalf("cp -a: %v %s", err, out)
	}
}

// TestPruneKilledAnywhere kills prune with SIGKILL right after each file it
// publishes or removes (RB_TEST_PRUNE_KILL_AT), on a fresh copy of the
// same repository each time; then verify --all passes, the kept archive
// restores bit-exact, and the next prune finishes the job.
func TestPruneKilledAnywhere(t *testing.T) {
	bin := buildBinary(t)
	r := newRetentionRepo(t, true)
	img := filepath.Join(r.dir, "disk.img")
	var ids []string
	var data [][]byte
	for g := 0; g < 4; g++ {
		data = append(data, evolve(t, img, 7, g))
		ids = append(ids, r.imageBackup(t, inProcess(t), "db1", img))
	}
	// A writer killed earlier left a temporary file in the store and one
	// in the pool.
	os.WriteFile(filepath.Join(r.store, "packs", ".tmp-00112233445566-pack"), make([]byte, 4096), 0o600)
	os.WriteFile(filepath.Join(r.pool, ".tmp-00112233445566-x.rba"), make([]byte, 4096), 0o600)
	if _, errOut, code := engineCLI(t, append([]string{"forget", "--keep-last", "1"}, r.flags()...)...); code != 0 {
		t.Fatalf("forget: %s", errOut)
	}
	pristine := filepath.Join(t.TempDir(), "pristine")
	copyTree(t, r.dir, pristine)

	killedAt := 0
	for k := 1; k < 200; k++ {
		os.RemoveAll(r.dir)
		copyTree(t, pristine, r.dir)
		cmd := exec.Command(bin, append([]string{"prune"}, r.flags()...)...)
		cmd.Env = append(os.Environ(), fmt.Sprintf("RB_TEST_PRUNE_KILL_AT=%d", k))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if err == nil {
			break // prune finished before its k-th change: every point was tried
		}
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("prune (kill at %d) failed without being killed: %v %s", k, err, stderr.String())
		}
		killedAt = k
		if out, errOut, code := run(t, bin, append([]string{"verify", "--all"}, r.flags()...)...); code != 0 {
			t.Fatalf("killed after change %d: verify --all: %d %s %s", k, code, out, errOut)
		}
		restoreEquals(t, r, ids[3], data[3])
		if _, errOut, code := run(t, bin, append([]string{"prune"}, r.flags()...)...); code != 0 {
			t.Fatalf("killed after change %d: the next prune: %s", k, errOut)
		}
		// The next prune finished the job: nothing left to remove.
		out, errOut, code := run(t, bin, append([]string{"prune", "--dry-run", "--json"}, r.flags()...)...)
		if code != 0 {
			t.Fatalf("prune --dry-run: %s", errOut)
		}
		var rep struct {
			PoolTempFiles int `json:"pool_temp_files"`
			Store         struct {
				PacksDeleted     int `json:"packs_deleted"`
				PacksRewritten   int `json:"packs_rewritten"`
				TempFilesRemoved int `json:"temp_files_removed"`
				ChunksRemoved    int `json:"chunks_removed"`
			} `json:"store"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.PoolTempFiles+rep.Store.PacksDeleted+rep.Store.PacksRewritten+rep.Store.TempFilesRemoved+rep.Store.ChunksRemoved != 0 {
			t.Fatalf("killed after change %d: after the next prune there is still work: %s", k, out)
		}
		if out, errOut, code := run(t, bin, append([]string{"verify", "--all"}, r.flags()...)...); code != 0 || strings.Contains(out, "note:") {
			t.Fatalf("killed after change %d, pruned again: verify --all: %d %s %s", k, code, out, errOut)
		}
		restoreEquals(t, r, ids[3], data[3])
	}
	if killedAt < 4 {
		t.Fatalf("prune was killed at only %d point(s): the hook does not see its changes", killedAt)
	}
	t.Logf("prune killed after each of its %d changes; every time verify, restore and the next prune passed", killedAt)
}

// TestPruneRemovesKilledWriters: an image backup killed with SIGKILL leaves
// its temporary archive file; prune removes it.
func TestPruneRemovesKilledWriters(t *testing.T) {
	bin := buildBinary(t)
	r := newRetentionRepo(t, false)
	img := filepath.Join(r.dir, "big.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for i := 0; i < 384; i++ {
		rand.Read(buf)
		f.Write(buf)
	}
	f.Close()
	cmd := exec.Command(bin, append([]string{"image", "backup", "--name", "big", "--disk", "vda=" + img, "--compression", "none"}, r.flags()...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var tmp string
	deadline := time.Now().Add(20 * time.Second)
	for tmp == "" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		m, _ := filepath.Glob(filepath.Join(r.pool, ".tmp-*"))
		for _, p := range m {
			if fi, err := os.Stat(p); err == nil && fi.Size() > 1<<20 {
				tmp = p
			}
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if tmp == "" {
		t.Fatal("the backup left no temporary file to kill it in")
	}
	out, errOut, code := run(t, bin, append([]string{"prune", "--json"}, r.flags()...)...)
	var rep struct {
		PoolTempFiles int   `json:"pool_temp_files"`
		PoolTempBytes int64 `json:"pool_temp_bytes"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.PoolTempFiles != 1 || rep.PoolTempBytes <= 1<<20 {
		t.Fatalf("prune: %d %s %s", code, out, errOut)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("%s still there after prune", tmp)
	}
}

// TestPruneBesideBackups runs several image backup processes into one
// store and a prune loop beside them; then verify --all and a restore of
// every archive pass.
func TestPruneBesideBackups(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for several seconds")
	}
	pruneBesideBackups(t, newRetentionRepo(t, true), 4)
}

func pruneBesideBackups(t *testing.T, r *retentionRepo, rounds int) {
	bin := buildRaceBinary(t) // a data race in any process fails it (exit 66)
	const writers = 3
	type done struct {
		id   string
		data []byte
	}
	var mu sync.Mutex
	var archives []done
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, writers+1)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			img := filepath.Join(r.dir, fmt.Sprintf("w%d.img", w))
			for g := 0; g < rounds; g++ {
				data := evolve(t, img, uint64(w)+20, g)
				args := append([]string{"image", "backup", "--name", fmt.Sprintf("vm%d", w), "--disk", "vda=" + img, "--json",
					"--chunk-min", "4K", "--chunk-avg", "16K", "--chunk-max", "64K", "--lock-wait", "2m", "--param", "keep_last=2"}, r.flags()...)
				out, errOut, code := run(t, bin, args...)
				if code != 0 {
					errs <- fmt.Errorf("backup %d/%d: %d %s", w, g, code, errOut)
					return
				}
				var s struct {
					Archive string `json:"archive"`
				}
				json.Unmarshal([]byte(out), &s)
				mu.Lock()
				archives = append(archives, done{s.Archive, data})
				mu.Unlock()
			}
		}(w)
	}
	prunes := 0
	var pwg sync.WaitGroup
	pwg.Add(1)
	go func() {
		defer pwg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, errOut, code := run(t, bin, append([]string{"prune", "--lock-wait", "2m"}, r.flags()...)...)
			if code != 0 {
				errs <- fmt.Errorf("prune: %d %s", code, errOut)
				return
			}
			prunes++
		}
	}()
	wg.Wait()
	close(stop)
	pwg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if out, errOut, code := run(t, bin, append([]string{"verify", "--all"}, r.flags()...)...); code != 0 {
		t.Fatalf("verify --all: %d %s %s", code, out, errOut)
	}
	kept := map[string]bool{}
	for _, id := range archiveIDs(t, r) {
		kept[id] = true
	}
	if len(kept) != writers*2 {
		t.Fatalf("%d archives kept, want %d (keep_last=2 per VM)", len(kept), writers*2)
	}
	for _, a := range archives {
		if kept[a.id] {
			restoreEquals(t, r, a.id, a.data)
		}
	}
	t.Logf("%d backups by %d processes beside %d prunes; verify --all and %d restores passed", len(archives), writers, prunes, len(kept))
}
