package store

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"rb_module_rustack/internal/chunk"
)

// The helper process of TestPruneCrash: prune the store in
// $RB_PRUNE_CRASH_DIR/store, referencing the ids in .../refs, and kill
// itself with SIGKILL at the k-th event ($RB_PRUNE_CRASH_AT) of kind
// $RB_PRUNE_CRASH_MODE: "event" (a put or delete, Hook), "progress" (a
// Progress call, which comes while a new pack is being written) or
// "none" (run to the end and print the counts).
const (
	envCrashDir  = "RB_PRUNE_CRASH_DIR"
	envCrashAt   = "RB_PRUNE_CRASH_AT"
	envCrashMode = "RB_PRUNE_CRASH_MODE"

	crashPackTarget = 32 << 10
	crashIndexMax   = 16
	crashMaxUnused  = 1e-9 // rewrite every pack with an unused byte
)

func TestHelperPruneProcess(t *testing.T) {
	dir := os.Getenv(envCrashDir)
	if dir == "" {
		t.Skip("the helper process of TestPruneCrash")
	}
	at, _ := strconv.Atoi(os.Getenv(envCrashAt))
	mode := os.Getenv(envCrashMode)
	gcPackTarget, gcIndexMax = crashPackTarget, crashIndexMax
	ids, err := readIDs(filepath.Join(dir, "refs"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := OpenDir(filepath.Join(dir, "store"), testMaster, false)
	if err != nil {
		t.Fatal(err)
	}
	kill := func() {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	events, progress := 0, 0
	o := PruneOptions{Cipher: "aes-256-gcm", TempGrace: -1, MaxUnused: crashMaxUnused,
		Hook: func(string) {
			if events++; mode == "event" && events == at {
				kill()
			}
		},
		Progress: func(done, total int64) {
			if progress++; mode == "progress" && progress == at {
				kill()
			}
		},
	}
	rep, err := st.Prune(context.Background(), refsOf(ids), o)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(rep)
	fmt.Printf("REPORT %s\nEVENTS %d PROGRESS %d\n", js, events, progress)
}

func readIDs(path string) ([]chunk.ID, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ids []chunk.ID
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		id, err := chunk.ParseID(sc.Text())
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, sc.Err()
}

// runCrashHelper runs the helper on a copy of the store in template and
// returns the copy's directory, whether the helper was killed, and its
// counts when it was not.
func runCrashHelper(t *testing.T, template, refs, mode string, at int) (dir string, killed bool, events, progress int) {
	t.Helper()
	work := t.TempDir()
	copyTree(t, template, filepath.Join(work, "store"))
	if err := os.WriteFile(filepath.Join(work, "refs"), []byte(refs), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPruneProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envCrashDir+"="+work, envCrashMode+"="+mode, envCrashAt+"="+strconv.Itoa(at))
	out, err := cmd.Output()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		return filepath.Join(work, "store"), true, 0, 0
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("helper %s %d: %v\n%s%s", mode, at, err, out, ee.Stderr)
		}
		t.Fatalf("helper %s %d: %v", mode, at, err)
	}
	if mode == "none" {
		t.Logf("%s", out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if _, err := fmt.Sscanf(line, "EVENTS %d PROGRESS %d", &events, &progress); err == nil {
			return filepath.Join(work, "store"), false, events, progress
		}
	}
	t.Fatalf("helper %s %d printed no counts:\n%s", mode, at, out)
	return
}

// copyTree copies the files of directory from to to.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		return copyFileSync(p, dst)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPruneCrash kills a real prune process (SIGKILL, no deferred code
// runs) after each of its puts and deletes, and at each of its progress
// calls (while a new pack is staged), and checks that every referenced
// chunk is still readable through the index files, that the store is
// undamaged, and that the next prune finishes the job: the store then
// holds exactly the referenced chunks, once each, without orphan packs
// or staging files, and a further prune has nothing to do.
func TestPruneCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the prune process some 50 times")
	}
	smallFiles(t, crashPackTarget, crashIndexMax)
	ts := newTestStore(t, true)
	s1 := ts.session(makeChunks("s1", 40))                                            // all used
	s2 := ts.session(makeChunks("s2", 60))                                            // half used: rewritten
	ts.session(makeChunks("s3", 30))                                                  // unused: deleted
	ts.crashedSession(makeChunks("s4", 20))                                           // not indexed, unused: deleted
	ts.session(append(pick(makeChunks("s2", 60), 0, 2, 30), makeChunks("s5", 15)...)) // copies of used s2 chunks
	ts.session(makeChunks("s1", 20))                                                  // copies of s1 chunks
	if err := os.WriteFile(filepath.Join(ts.dir, "packs", ".tmp-00000000deadbeef-pack"), []byte("dead writer"), 0o600); err != nil {
		t.Fatal(err)
	}
	used := concat(s1, everyOther(s2))
	refs := hexIDs(used)

	_, killed, events, progress := runCrashHelper(t, ts.dir, refs, "none", 0)
	if killed || events < 10 || progress < 5 {
		t.Fatalf("a full run: killed %v, %d events, %d progress calls", killed, events, progress)
	}
	t.Logf("a full prune makes %d puts and deletes and %d progress calls", events, progress)
	runs := 0
	for _, mode := range []string{"event", "progress"} {
		n := events
		if mode == "progress" {
			n = progress
		}
		for k := 1; k <= n+1; k++ {
			t.Run(fmt.Sprintf("%s-%d", mode, k), func(t *testing.T) {
				dir, killed, _, _ := runCrashHelper(t, ts.dir, refs, mode, k)
				if killed != (k <= n) {
					t.Fatalf("killed %v", killed)
				}
				runs++
				ws := &testStore{t: t, dir: dir, master: ts.master, cipher: ts.cipher, codec: ts.codec, hasher: ts.hasher, data: ts.data}
				ws.reopen()
				// Right after the crash: every referenced chunk reads through
				// the index files, and nothing is damaged.
				ws.readable(used)
				if rep := ws.check(refsOf(used), 1); !rep.OK() {
					t.Fatalf("check after the crash: %+v", rep)
				}
				// The next prune finishes the job.
				rep := ws.prune(refsOf(used), PruneOptions{MaxUnused: crashMaxUnused})
				t.Logf("the next prune: %+v", rep)
				ws.exactly(used)
				before := ws.files()
				rep = ws.prune(refsOf(used), PruneOptions{MaxUnused: crashMaxUnused})
				if rep.PacksDeleted+rep.PacksRewritten+rep.IndexFilesWritten+rep.IndexFilesDeleted+rep.TempFilesRemoved != 0 ||
					!mapsEqualExceptLocks(before, ws.files()) {
					t.Fatalf("a third prune still works: %+v", rep)
				}
			})
		}
	}
	t.Logf("%d prune processes killed or run to the end", runs)
}

// pick returns every step-th of cs from first, n of them.
func pick(cs [][]byte, first, step, n int) [][]byte {
	var out [][]byte
	for i := first; i < len(cs) && len(out) < n; i += step {
		out = append(out, cs[i])
	}
	return out
}
