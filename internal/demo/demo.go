package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/backup"
	"rb_module_rustack/internal/chunker"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/fakecloud"
	"rb_module_rustack/internal/journal"
	"rb_module_rustack/internal/logging"
	"rb_module_rustack/internal/restore"
	"rb_module_rustack/internal/snapshot"
	"rb_module_rustack/internal/units"
)

// Options shape the scenario.
type Options struct {
	Dir             string // work directory; "" = a new temporary one
	Keep            bool   // keep the work directory
	BootMiB         int    // size of the boot disk
	DataMiB         int    // size of the data disk
	Changes         int    // 4 KiB blocks changed before the incremental
	Cipher          string // crypt.AES256GCM, crypt.ChaCha20Poly1305 or crypt.None
	DiskParallelism int    // disks read at once
	Faults          []Fault
	ToolVersion     string    // written into the manifests
	Out             io.Writer // where the steps are told
}

// Fault is injected into the full backup: the N-th call of the fake
// cloud's operation Op fails; Op "device" hides the attached devices.
type Fault struct {
	Op string
	N  int
}

// DamageError says a check found different or damaged data.
type DamageError struct{ Err error }

func (e *DamageError) Error() string { return e.Err.Error() }
func (e *DamageError) Unwrap() error { return e.Err }

// scripts stands in for the guest agent: it only notes when the before
// and after scripts would run.
type scripts struct {
	w     io.Writer
	start time.Time
}

func (g *scripts) Before(context.Context) error {
	fmt.Fprintf(g.w, "          guest script \"before\" at +%s (simulated: the fake cloud has no agent)\n", since(g.start))
	return nil
}

func (g *scripts) After(context.Context) error {
	fmt.Fprintf(g.w, "          guest script \"after\"  at +%s\n", since(g.start))
	return nil
}

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }

func mbps(n int64, d time.Duration) float64 { return backup.Rate(n, d.Seconds()) }

// scenario is one run's state.
type scenario struct {
	o             Options
	w             io.Writer
	dir           string
	fc            *fakecloud.Cloud
	proxy, vm     *api.Server
	orig          map[string]bool // the VM's volumes
	repo          *archive.Repo
	jdir          string
	attachTimeout time.Duration
}

// Run runs the scenario and tells each step on o.Out.
func Run(ctx context.Context, o Options) (err error) {
	s := &scenario{o: o, w: o.Out, dir: o.Dir, attachTimeout: 30 * time.Second}
	w := s.w
	t0 := time.Now()
	if s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "rb_module_rustack-demo-"); err != nil {
			return err
		}
		if !o.Keep {
			defer os.RemoveAll(s.dir)
		}
	} else if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	fmt.Fprintf(w, "rb_module_rustack demo: the backup flow of \"backup\" against an in-process fake cloud\n")
	fmt.Fprintf(w, "work directory %s%s\n\n", s.dir, map[bool]string{true: " (kept)", false: " (removed at the end; --keep keeps it)"}[o.Keep || o.Dir != ""])

	src := rand.NewChaCha8([32]byte{'r', 'b'})
	if err := s.setUp(src); err != nil {
		return err
	}
	defer s.fc.Close()
	defer s.repo.Close()

	// 2. Full.
	full, err := s.backup(ctx, 2, archive.Full)
	if err != nil {
		fmt.Fprintf(w, "          failed: %v\n", err)
		if left := s.leftovers(); len(left) > 0 {
			fmt.Fprintf(w, "          left behind: %v\n", left)
		} else {
			fmt.Fprintf(w, "          nothing left behind: no snapshot, temporary volume, attachment or journal\n")
		}
		return fmt.Errorf("full backup: %w", err)
	}
	s.fc.ClearFaults()

	// 3. Change data in the VM's disks.
	step := time.Now()
	changed, err := change(s.fc, s.vm.VolumeIDs, o.Changes, src)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "3. change   wrote %d random 4 KiB blocks (%s) at random places of both disks  [%s]\n", o.Changes, units.FormatBytes(changed), since(step))

	// 4. Incremental.
	incr, err := s.backup(ctx, 4, archive.Incremental)
	if err != nil {
		return fmt.Errorf("incremental backup: %w", err)
	}
	if incr.Parent != full.ArchiveID {
		return fmt.Errorf("the incremental's parent is %q, not the full %s", incr.Parent, full.ArchiveID)
	}

	// 5. Restore the chain to a local directory and compare.
	if err := s.restore(ctx, incr.ArchiveID); err != nil {
		return err
	}

	// 6. Verify both archives.
	step = time.Now()
	for _, id := range []string{full.ArchiveID, incr.ArchiveID} {
		rep, err := s.repo.Verify(ctx, id)
		if err != nil {
			return err
		}
		if len(rep.Damaged) > 0 {
			return &DamageError{fmt.Errorf("verify %s: %d damaged piece(s), first: %+v", id, len(rep.Damaged), rep.Damaged[0])}
		}
	}
	fmt.Fprintf(w, "6. verify   both archives: every chunk authenticated, no damage  [%s]\n", since(step))

	// 7. Nothing left behind.
	if left := s.leftovers(); len(left) > 0 {
		return fmt.Errorf("left behind: %v", left)
	}
	fmt.Fprintf(w, "7. clean    no snapshot, temporary volume, attachment or journal left\n\n")
	fmt.Fprintf(w, "demo done in %s\n", since(t0))
	return nil
}

// setUp makes the cloud (1.), the repository and the faults.
func (s *scenario) setUp(src *rand.ChaCha8) (err error) {
	o, w := s.o, s.w
	step := time.Now()
	if s.fc, err = fakecloud.New(fakecloud.Options{Dir: filepath.Join(s.dir, "cloud"), Unit: 1 << 20}); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			s.fc.Close()
		}
	}()
	if s.proxy, err = s.fc.AddServer("rubackup-proxy", fakecloud.Disk{Size: 1}); err != nil {
		return err
	}
	boot, textBytes := bootDisk(o.BootMiB << 20)
	data := make([]byte, o.DataMiB<<20)
	src.Read(data)
	s.vm, err = s.fc.AddServer("demo-web01",
		fakecloud.Disk{Name: "demo-web01-boot", Size: o.BootMiB, Content: boot, Bootable: true},
		fakecloud.Disk{Name: "demo-web01-data", Size: o.DataMiB, Content: data})
	if err != nil {
		return err
	}
	s.fc.UpdateServer(s.vm.ID, func(s *api.Server) { s.Metadata["app"] = "demo"; s.KeyName = "demo-key" })
	s.orig = map[string]bool{}
	for _, v := range s.fc.Volumes() {
		s.orig[v.ID] = true
	}
	fmt.Fprintf(w, "1. cloud    proxy VM %s and VM %s (%s) with two volumes:\n", s.proxy.Name, s.vm.Name, s.vm.ID)
	fmt.Fprintf(w, "          boot %d MiB (%s of text, the rest zeros), data %d MiB of random bytes  [%s]\n",
		o.BootMiB, units.FormatBytes(int64(textBytes)), o.DataMiB, since(step))

	// The repository.
	keyFile := filepath.Join(s.dir, "master-key")
	var key []byte
	if o.Cipher != crypt.None {
		os.Remove(keyFile)
		if key, err = crypt.GenerateKeyFile(keyFile); err != nil {
			return err
		}
	}
	s.repo, err = archive.Open(archive.Options{
		Pool: filepath.Join(s.dir, "pool"), Key: key, Cipher: o.Cipher, Compression: "zstd", Level: "fastest",
		ChunkMin: chunker.DefaultChunkMin, ChunkAvg: chunker.DefaultChunkAvg, ChunkMax: chunker.DefaultChunkMax,
		ToolVersion: o.ToolVersion,
	})
	if err != nil {
		return err
	}
	s.jdir = journal.Dir(filepath.Join(s.dir, "state"))
	for _, f := range o.Faults {
		if f.Op == "device" {
			s.fc.HideDevices(true)
			s.attachTimeout = 2 * time.Second
			fmt.Fprintf(w, "   fault    attached volumes never show up in the proxy's device dir (volume_attachment_timeout %s)\n", s.attachTimeout)
			continue
		}
		s.fc.Fail(f.Op, f.N, errors.New("503 Service Unavailable (injected by --fail)"))
		fmt.Fprintf(w, "   fault    call %d of %s will fail\n", f.N, f.Op)
	}
	return nil
}

// leftovers lists what the backups left in the cloud or the journal.
func (s *scenario) leftovers() []string {
	var left []string
	for _, sn := range s.fc.Snapshots() {
		left = append(left, "snapshot "+sn.Name)
	}
	for _, v := range s.fc.Volumes() {
		if !s.orig[v.ID] {
			left = append(left, "volume "+v.Name)
		}
	}
	if att := s.fc.AttachedTo(s.proxy.ID); len(att) != 1 {
		left = append(left, fmt.Sprintf("%d volumes attached to the proxy", len(att)))
	}
	if js, _ := filepath.Glob(filepath.Join(s.jdir, "*.json")); len(js) > 0 {
		left = append(left, fmt.Sprintf("%d journal(s)", len(js)))
	}
	return left
}

// backup runs one backup as the backup command does (internal/backup),
// with a strict cleanup: a leftover fails the demo.
func (s *scenario) backup(ctx context.Context, n int, typ archive.Type) (*archive.Summary, error) {
	w := s.w
	start := time.Now()
	fmt.Fprintf(w, "%d. %-8s backup of %s\n", n, typ, s.vm.Name)
	r, err := backup.VM(ctx, s.repo, backup.VMOptions{
		Type: typ, StrictCleanup: true,
		Snapshot: snapshot.Options{
			Cloud: s.fc, VM: s.vm.Name, ProxyID: s.proxy.ID, JournalDir: s.jdir,
			Timeouts:  snapshot.Timeouts{Snapshot: 30 * time.Second, Volume: 30 * time.Second, Attach: s.attachTimeout},
			DeviceDir: s.fc.DeviceDir(s.proxy.ID), SysBlock: filepath.Join(s.dir, "no-sys-block"), DevicePoll: 5 * time.Millisecond,
			DiskParallelism: s.o.DiskParallelism, Log: logging.Discard(),
			Scripts: func(context.Context, *api.Server) (snapshot.Scripts, error) {
				return &scripts{w: w, start: start}, nil
			},
		},
	})
	if err != nil {
		return nil, err
	}
	sum, res := r.Archive, r.Run
	took := time.Since(start)
	kinds := map[string]int{}
	for _, rm := range res.Removed {
		kinds[rm.Kind]++
	}
	fmt.Fprintf(w, "          job %s: %d snapshot(s) and %d temporary volume(s) attached to the proxy, read, removed\n",
		res.JobID, kinds[journal.KindSnapshot], kinds[journal.KindVolume])
	for _, d := range res.Disks {
		fmt.Fprintf(w, "          disk %s  %s read in %s (%.0f MB/s)\n", d.Label, units.FormatBytes(d.Size), d.Duration.Round(time.Millisecond), mbps(d.Size, d.Duration))
	}
	if r.Note != "" {
		fmt.Fprintf(w, "          note: %s\n", r.Note)
	}
	fmt.Fprintf(w, "          archive %s (%s)\n", sum.ArchiveID, sum.Type)
	fmt.Fprintf(w, "          read %s (zero %s), new %s, stored %s, %d chunks (%d new)\n",
		units.FormatBytes(sum.BytesRead), units.FormatBytes(sum.BytesZero), units.FormatBytes(sum.BytesNew),
		units.FormatBytes(sum.BytesStored), sum.Chunks, sum.NewChunks)
	fmt.Fprintf(w, "          whole job %s: %.0f MB/s of disk\n", took.Round(time.Millisecond), mbps(sum.BytesRead, took))
	return sum, nil
}

// restore restores the chain of archive id to a directory as "restore
// --to-dir" does (internal/restore) and compares every disk with the VM's
// volume.
func (s *scenario) restore(ctx context.Context, id string) error {
	w := s.w
	step := time.Now()
	m, err := s.repo.Load(ctx, id)
	if err != nil {
		return err
	}
	rdir := filepath.Join(s.dir, "restore")
	fmt.Fprintf(w, "5. restore  %s (chain of %d: %v) to %s\n", m.ID, len(m.Chain), m.Chain, rdir)
	var restored int64
	ds := time.Now()
	_, err = restore.ToDir(ctx, s.repo, m, restore.DirOptions{Dir: rdir, Force: true, NoSync: true,
		Written: func(d restore.ImageFile) error {
			took := time.Since(ds)
			got, err := fileSHA256(d.Path)
			if err != nil {
				return err
			}
			want, err := fileSHA256(s.fc.VolumePath(d.Label))
			if err != nil {
				return err
			}
			if got != want {
				return &DamageError{fmt.Errorf("restored disk %s differs from the VM's volume (sha256 %s, want %s)", d.Label, got, want)}
			}
			restored += d.Size
			fmt.Fprintf(w, "          %s  %s in %s (%.0f MB/s), sha256 %s… = the VM's volume\n", filepath.Base(d.Path), units.FormatBytes(d.Size), took.Round(time.Millisecond), mbps(d.Size, took), got[:16])
			ds = time.Now()
			return nil
		}})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "          %s restored and compared  [%s]\n", units.FormatBytes(restored), since(step))
	return nil
}

// FaultOperations are the operation names a Fault may have (besides
// "device"): every operation of the fake cloud.
func FaultOperations() []string { return fakecloud.Operations() }
