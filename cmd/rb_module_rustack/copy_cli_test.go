package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// copyReport is the JSON of copy --json.
type copyReport struct {
	Mode     string `json:"mode"`
	Archives []struct {
		ID         string `json:"id"`
		Status     string `json:"status"`
		ChunksSent int64  `json:"chunks_sent"`
	} `json:"archives"`
	ArchivesCopied  int      `json:"archives_copied"`
	ArchivesSkipped int      `json:"archives_skipped"`
	ChunksSent      int64    `json:"chunks_sent"`
	ChunkBytes      int64    `json:"chunk_bytes"`
	BytesSent       int64    `json:"bytes_sent"`
	Seconds         float64  `json:"seconds"`
	MissingParents  []string `json:"missing_parents"`
}

func parseCopy(t *testing.T, out string) copyReport {
	t.Helper()
	var rep copyReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("copy --json output %q: %v", out, err)
	}
	return rep
}

// copySource is a store with three incremental backups of vm1 (each
// generation rewrites a quarter of its disk) and a full of vm2.
type copySource struct {
	r    *retentionRepo
	ids  []string // vm1 g0..g2, then vm2
	data [][]byte
}

func newCopySource(t *testing.T) *copySource {
	t.Helper()
	s := &copySource{r: newRetentionRepo(t, true)}
	img := filepath.Join(s.r.dir, "disk.img")
	for g := 0; g < 3; g++ {
		s.data = append(s.data, evolve(t, img, 5, g))
		s.ids = append(s.ids, s.r.imageBackup(t, inProcess(t), "vm1", img, "--type", "incremental"))
	}
	s.data = append(s.data, evolve(t, img, 6, 0))
	s.ids = append(s.ids, s.r.imageBackup(t, inProcess(t), "vm2", img))
	return s
}

// target is a new store (and a pool of its own for the commands that
// read it) with key file key.
func (s *copySource) target(t *testing.T, key string) *retentionRepo {
	dir := t.TempDir()
	return &retentionRepo{dir: dir, pool: filepath.Join(dir, "pool"), store: filepath.Join(dir, "store"), key: key}
}

func (s *copySource) copyArgs(to *retentionRepo, extra ...string) []string {
	args := []string{"copy", "--from", s.r.store, "--to", to.store, "--pool", s.r.pool, "--key-file", s.r.key, "--json"}
	if to.key != s.r.key {
		args = append(args, "--to-key-file", to.key)
	}
	return append(args, extra...)
}

// storeChunks is the number of chunks verify --all counts in a store.
func storeChunks(t *testing.T, r *retentionRepo) int {
	t.Helper()
	out, errOut, code := engineCLI(t, append([]string{"verify", "--all", "--json"}, r.flags()...)...)
	if code != 0 {
		t.Fatalf("verify --all %s: %d %s %s", r.store, code, out, errOut)
	}
	var rep struct {
		Store struct {
			Chunks int `json:"chunks"`
		} `json:"store"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	return rep.Store.Chunks
}

// TestCopyCLI: dir -> dir with the same key (chunks moved by id), a rerun
// that sends nothing, selection by archive and by VM with the chain
// parents pulled in, different keys (re-chunked), and a target made with
// another key.
func TestCopyCLI(t *testing.T) {
	s := newCopySource(t)
	srcChunks := storeChunks(t, s.r)

	to := s.target(t, s.r.key)
	out, errOut, code := engineCLI(t, s.copyArgs(to)...)
	if code != 0 {
		t.Fatalf("copy: %d %s", code, errOut)
	}
	rep := parseCopy(t, out)
	if rep.Mode != "chunks" || rep.ArchivesCopied != 4 || rep.ArchivesSkipped != 0 || rep.ChunksSent != int64(srcChunks) || rep.BytesSent <= rep.ChunkBytes/2 {
		t.Fatalf("copy: want 4 archives and the source's %d chunks moved: %s", srcChunks, out)
	}
	t.Logf("same key: %d archives, %d chunks (%d bytes of data), %d bytes written in %.2f s", rep.ArchivesCopied, rep.ChunksSent, rep.ChunkBytes, rep.BytesSent, rep.Seconds)
	// Again: nothing to do.
	out, errOut, code = engineCLI(t, s.copyArgs(to)...)
	if rep := parseCopy(t, out); code != 0 || rep.ArchivesCopied != 0 || rep.ArchivesSkipped != 4 || rep.ChunksSent != 0 || rep.BytesSent != 0 {
		t.Fatalf("second copy: %d %s %s", code, out, errOut)
	}
	if out, errOut, code := engineCLI(t, append([]string{"verify", "--all"}, to.flags()...)...); code != 0 || strings.Contains(out, "note:") {
		t.Fatalf("verify --all at the target: %d %s %s", code, out, errOut)
	}
	if n := storeChunks(t, to); n != srcChunks {
		t.Fatalf("target holds %d chunks, the source %d", n, srcChunks)
	}
	for i, id := range s.ids {
		restoreEquals(t, to, id, s.data[i])
		// The copies are only in the target store: verify ARCHIVE reads
		// the store's copy as restore does.
		if out, errOut, code := engineCLI(t, append([]string{"verify", id}, to.flags()...)...); code != 0 || !strings.HasPrefix(out, "OK "+id) {
			t.Fatalf("verify %s at the target: %d %s %s", id, code, out, errOut)
		}
	}
	// The text summary.
	out, _, code = engineCLI(t, slices.DeleteFunc(s.copyArgs(to), func(a string) bool { return a == "--json" })...)
	if code != 0 || !strings.Contains(out, "0 archive(s) copied, 4 skipped; 0 chunk(s) sent") {
		t.Fatalf("text summary: %s", out)
	}

	// An incremental by id brings its chain, parents first.
	sel := s.target(t, s.r.key)
	out, errOut, code = engineCLI(t, s.copyArgs(sel, s.ids[2])...)
	rep = parseCopy(t, out)
	var order []string
	for _, a := range rep.Archives {
		order = append(order, a.ID)
	}
	if code != 0 || !slices.Equal(order, s.ids[:3]) || rep.ArchivesCopied != 3 {
		t.Fatalf("copy %s: %d %s %s", s.ids[2], code, out, errOut)
	}
	restoreEquals(t, sel, s.ids[2], s.data[2])
	// --vm adds the rest; vm1's archives are skipped, only vm2's new chunks go.
	out, errOut, code = engineCLI(t, s.copyArgs(sel, "--vm", "vm2")...)
	rep = parseCopy(t, out)
	if code != 0 || rep.ArchivesCopied != 1 || rep.ArchivesSkipped != 0 || rep.Archives[0].ID != s.ids[3] {
		t.Fatalf("copy --vm vm2: %d %s %s", code, out, errOut)
	}
	out, _, _ = engineCLI(t, s.copyArgs(sel)...)
	if rep := parseCopy(t, out); rep.ArchivesCopied != 0 || rep.ArchivesSkipped != 4 || rep.ChunksSent != 0 {
		t.Fatalf("copy of all after the selections: %s", out)
	}
	if _, errOut, code := engineCLI(t, s.copyArgs(sel, "--vm", "nosuchvm")...); code != exitUsage || !strings.Contains(errOut, "nosuchvm") {
		t.Fatalf("unknown VM: exit %d %s", code, errOut)
	}
	if _, errOut, code := engineCLI(t, s.copyArgs(sel, "vm1-nosuch-archive")...); code != exitUsage || !strings.Contains(errOut, "vm1-nosuch-archive") {
		t.Fatalf("unknown archive: exit %d %s", code, errOut)
	}

	// Different keys: every disk re-chunked under the target's key.
	key2 := filepath.Join(t.TempDir(), "key2")
	if _, errOut, code := engineCLI(t, "keygen", "--key-file", key2); code != 0 {
		t.Fatalf("keygen: %s", errOut)
	}
	other := s.target(t, key2)
	out, errOut, code = engineCLI(t, s.copyArgs(other)...)
	rep = parseCopy(t, out)
	if code != 0 || rep.Mode != "rechunk" || rep.ArchivesCopied != 4 || rep.ChunksSent == 0 {
		t.Fatalf("copy to another key: %d %s %s", code, out, errOut)
	}
	t.Logf("different keys: %d archives, %d chunks (%d bytes of data), %d bytes written in %.2f s", rep.ArchivesCopied, rep.ChunksSent, rep.ChunkBytes, rep.BytesSent, rep.Seconds)
	for i, id := range s.ids {
		restoreEquals(t, other, id, s.data[i])
	}
	if out, errOut, code := engineCLI(t, append([]string{"verify", "--all"}, other.flags()...)...); code != 0 {
		t.Fatalf("verify --all at the re-keyed target: %d %s %s", code, out, errOut)
	}
	out, _, _ = engineCLI(t, s.copyArgs(other)...)
	if rep := parseCopy(t, out); rep.ArchivesSkipped != 4 || rep.ChunksSent != 0 {
		t.Fatalf("second copy to another key: %s", out)
	}

	// A target store made with one key, given another: a clear error.
	wrong := *to
	wrong.key = key2
	_, errOut, code = engineCLI(t, s.copyArgs(&wrong)...)
	if code != exitIntegrity || !strings.Contains(errOut, "wrong master key") || !strings.Contains(errOut, "--to-key-file") {
		t.Fatalf("target with another key: exit %d %s", code, errOut)
	}
}

// TestCopyKilled kills copy with SIGKILL right after each object it puts
// into the target (RB_TEST_COPY_KILL_AT), each time into a new target;
// the rerun completes without sending again what was published, verify
// passes, prune removes the leftovers and the archives restore bit-exact.
func TestCopyKilled(t *testing.T) {
	bin := buildBinary(t)
	s := newCopySource(t)
	s.ids, s.data = s.ids[:3], s.data[:3] // vm1's chain
	full := s.target(t, s.r.key)
	out, errOut, code := run(t, bin, s.copyArgs(full, "--vm", "vm1")...)
	if code != 0 {
		t.Fatalf("copy: %s", errOut)
	}
	whole := parseCopy(t, out)
	killed := 0
	for k := 1; k < 20; k++ {
		to := s.target(t, s.r.key)
		cmd := exec.Command(bin, s.copyArgs(to, "--vm", "vm1")...)
		cmd.Env = append(os.Environ(), fmt.Sprintf("RB_TEST_COPY_KILL_AT=%d", k))
		if err := cmd.Run(); err == nil {
			break
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("copy (kill at %d) failed without being killed", k)
		}
		killed = k
		out, errOut, code := run(t, bin, s.copyArgs(to, "--vm", "vm1")...)
		if code != 0 {
			t.Fatalf("kill at %d: the rerun: %d %s", k, code, errOut)
		}
		rep := parseCopy(t, out)
		if rep.ArchivesCopied+rep.ArchivesSkipped != 3 || rep.ChunksSent >= whole.ChunksSent {
			t.Fatalf("kill at %d: the rerun sent %d of %d chunks: %s", k, rep.ChunksSent, whole.ChunksSent, out)
		}
		// Before prune verify may note the killed run's temporary files,
		// but no pack that no index file lists: the rerun indexed the
		// packs it relied on.
		if out, errOut, code := run(t, bin, append([]string{"verify", "--all"}, to.flags()...)...); code != 0 || strings.Contains(out, "note: pack") {
			t.Fatalf("kill at %d: verify --all: %d %s %s", k, code, out, errOut)
		}
		if _, errOut, code := run(t, bin, append([]string{"prune", "--temp-grace", "1ns"}, to.flags()...)...); code != 0 {
			t.Fatalf("kill at %d: prune: %s", k, errOut)
		}
		if out, errOut, code := run(t, bin, append([]string{"verify", "--all"}, to.flags()...)...); code != 0 || strings.Contains(out, "note:") {
			t.Fatalf("kill at %d: verify --all after prune: %d %s %s", k, code, out, errOut)
		}
		out, _, _ = run(t, bin, append([]string{"prune", "--dry-run", "--json", "--temp-grace", "1ns"}, to.flags()...)...)
		if !strings.Contains(out, `"packs_deleted": 0`) || !strings.Contains(out, `"chunks_removed": 0`) || !strings.Contains(out, `"temp_files_removed": 0`) {
			t.Fatalf("kill at %d: work left after prune: %s", k, out)
		}
		for i, id := range s.ids {
			restoreEquals(t, to, id, s.data[i])
		}
		t.Logf("killed after put %d: the rerun copied %d, skipped %d, sent %d of %d chunks", k, rep.ArchivesCopied, rep.ArchivesSkipped, rep.ChunksSent, whole.ChunksSent)
	}
	if killed < 6 {
		t.Fatalf("copy was killed at only %d point(s)", killed)
	}

	// Interrupted (SIGINT) after its first pack: exit 5; the rerun finishes.
	to := s.target(t, s.r.key)
	cmd := exec.Command(bin, s.copyArgs(to, "--vm", "vm1")...)
	cmd.Env = append(os.Environ(), "RB_TEST_COPY_INTERRUPT_AT=1")
	err := cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != exitCanceled {
		t.Fatalf("interrupted copy: exit %d (%v), want %d", code, err, exitCanceled)
	}
	out, errOut, code = run(t, bin, s.copyArgs(to, "--vm", "vm1")...)
	if rep := parseCopy(t, out); code != 0 || rep.ArchivesCopied+rep.ArchivesSkipped != 3 || rep.ChunksSent >= whole.ChunksSent {
		t.Fatalf("rerun after SIGINT: %d %s %s", code, out, errOut)
	}
	if out, errOut, code := run(t, bin, append([]string{"verify", "--all"}, to.flags()...)...); code != 0 {
		t.Fatalf("verify --all after SIGINT and a rerun: %d %s %s", code, out, errOut)
	}
}

// TestCopyObjectStores: a directory store copied into Swift, that copy
// into S3 (the real cluster of scripts/swift.sh), verified and restored
// at each target; a second copy sends nothing.
func TestCopyObjectStores(t *testing.T) {
	sw := newObjStore(t, "swift")
	s3 := newObjStore(t, "s3")
	s := newCopySource(t)
	srcChunks := storeChunks(t, s.r)
	// One configuration that reaches both: Keystone (Swift) and the S3 keys.
	common := []string{"-c", sw.conf}
	for i := 0; i+1 < len(s3.args); i++ {
		if s3.args[i] == "--param" && !strings.HasPrefix(s3.args[i+1], "store=") {
			common = append(common, "--param", s3.args[i+1])
		}
	}
	copyTo := func(from, to string) copyReport {
		t.Helper()
		args := append([]string{"copy", "--from", from, "--to", to, "--pool", s.r.pool, "--key-file", s.r.key, "--json"}, common...)
		out, errOut, code := engineCLI(t, args...)
		if code != 0 {
			t.Fatalf("copy %s -> %s: %d %s", from, to, code, errOut)
		}
		return parseCopy(t, out)
	}
	at := func(loc string) *retentionRepo {
		return &retentionRepo{pool: filepath.Join(t.TempDir(), "pool"), key: s.r.key, storeArgs: append(slices.Clone(common), "--param", "store="+loc)}
	}
	for _, hop := range []struct{ from, to string }{{s.r.store, sw.loc}, {sw.loc, s3.loc}} {
		rep := copyTo(hop.from, hop.to)
		if rep.Mode != "chunks" || rep.ArchivesCopied != 4 || rep.ChunksSent != int64(srcChunks) {
			t.Fatalf("copy %s -> %s: %+v, want 4 archives and %d chunks", hop.from, hop.to, rep, srcChunks)
		}
		t.Logf("%s -> %s: %d archives, %d chunks, %d bytes written in %.2f s", hop.from, hop.to, rep.ArchivesCopied, rep.ChunksSent, rep.BytesSent, rep.Seconds)
		if rep := copyTo(hop.from, hop.to); rep.ArchivesSkipped != 4 || rep.ChunksSent != 0 || rep.BytesSent != 0 {
			t.Fatalf("second copy %s -> %s: %+v", hop.from, hop.to, rep)
		}
		tgt := at(hop.to)
		if out, errOut, code := engineCLI(t, append([]string{"verify", "--all"}, tgt.flags()...)...); code != 0 || strings.Contains(out, "note:") {
			t.Fatalf("verify --all at %s: %d %s %s", hop.to, code, out, errOut)
		}
	}
	tgt := at(s3.loc)
	for i, id := range s.ids {
		restoreEquals(t, tgt, id, s.data[i])
	}
}
