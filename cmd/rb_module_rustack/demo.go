package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"rb_module_rustack/internal/units"
	"rb_module_rustack/internal/vmdesc"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/dedup"
	"rb_module_rustack/internal/fakecloud"
	"rb_module_rustack/internal/journal"
	"rb_module_rustack/internal/logging"
	"rb_module_rustack/internal/snapshot"
)

type demoOpts struct {
	dir      string
	keep     bool
	bootMiB  int
	dataMiB  int
	cipher   string
	changes  int
	parallel int
	faults   []string
}

func newDemoCmd(a *app) *cobra.Command {
	var o demoOpts
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "run the whole backup flow against an in-process fake cloud: full, changes, incremental, restore, verify",
		Long: `Runs the real backup code (the same snapshot flow and archive engine as
"backup") against an in-process fake cloud whose volumes are sparse files in
a temporary directory: no service, no configuration file, no root. It makes a
VM with a boot disk (text, then zeros) and a data disk (random bytes), takes a
full backup, changes scattered blocks, takes an incremental, restores the
chain to a local directory, compares every byte with the VM's disks, verifies
the archives, and checks that no snapshot, temporary volume, attachment or
journal is left. Each step prints what it did and how fast.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runDemo(cmd.Context(), a, &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "", "work directory (default: a new temporary directory, removed at the end)")
	f.BoolVar(&o.keep, "keep", false, "keep the work directory (cloud files, pool, key, restored images)")
	f.IntVar(&o.bootMiB, "boot-mib", 64, "size of the boot disk in MiB")
	f.IntVar(&o.dataMiB, "data-mib", 32, "size of the data disk in MiB")
	f.IntVar(&o.changes, "changes", 256, "4 KiB blocks changed before the incremental")
	f.StringVar(&o.cipher, "cipher", crypt.AES256GCM, "aes-256-gcm | chacha20-poly1305 | none")
	f.IntVar(&o.parallel, "disk-parallelism", 2, "disks read at once")
	f.StringArrayVar(&o.faults, "fail", nil, "inject a fault into the full backup: OP:N fails the N-th call of a cloud operation (e.g. CreateVolume:2, DetachVolume:1), \"device\" hides the attached devices (repeatable)")
	return cmd
}

// demoGuest stands in for the guest agent: it only notes when the before
// and after scripts would run.
type demoGuest struct {
	w     io.Writer
	start time.Time
}

func (g *demoGuest) Before(context.Context) error {
	fmt.Fprintf(g.w, "          guest script \"before\" at +%s (simulated: the fake cloud has no agent)\n", since(g.start))
	return nil
}

func (g *demoGuest) After(context.Context) error {
	fmt.Fprintf(g.w, "          guest script \"after\"  at +%s\n", since(g.start))
	return nil
}

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }

func mbps(n int64, d time.Duration) float64 { return rate(n, d.Seconds()) }

func runDemo(ctx context.Context, a *app, o *demoOpts) (err error) {
	if o.bootMiB < 1 || o.dataMiB < 1 || o.bootMiB > 4096 || o.dataMiB > 4096 {
		return withCode(exitUsage, errors.New("--boot-mib and --data-mib: 1..4096"))
	}
	if !crypt.ValidCipher(o.cipher) {
		return withCode(exitUsage, fmt.Errorf("--cipher %q: want aes-256-gcm, chacha20-poly1305 or none", o.cipher))
	}
	type fault struct {
		op string
		n  int
	}
	var faults []fault
	for _, f := range o.faults {
		if f == "device" {
			faults = append(faults, fault{op: f})
			continue
		}
		op, ns, ok := strings.Cut(f, ":")
		n, err := strconv.Atoi(ns)
		if !ok || err != nil || n < 1 || op == "" {
			return withCode(exitUsage, fmt.Errorf("--fail %q: want OP:N (N >= 1) or device", f))
		}
		faults = append(faults, fault{op: op, n: n})
	}
	w := a.stdout
	t0 := time.Now()
	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "rb_module_rustack-demo-"); err != nil {
			return withCode(exitFailure, err)
		}
		if !o.keep {
			defer os.RemoveAll(dir)
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return withCode(exitFailure, err)
	}
	fmt.Fprintf(w, "rb_module_rustack demo: the backup flow of \"backup\" against an in-process fake cloud\n")
	fmt.Fprintf(w, "work directory %s%s\n\n", dir, map[bool]string{true: " (kept)", false: " (removed at the end; --keep keeps it)"}[o.keep || o.dir != ""])

	// 1. The cloud.
	step := time.Now()
	fc, err := fakecloud.New(fakecloud.Options{Dir: filepath.Join(dir, "cloud"), Unit: 1 << 20})
	if err != nil {
		return withCode(exitFailure, err)
	}
	defer fc.Close()
	proxy, err := fc.AddServer("rubackup-proxy", fakecloud.Disk{Size: 1})
	if err != nil {
		return withCode(exitFailure, err)
	}
	boot, textBytes := demoBootDisk(o.bootMiB << 20)
	data := make([]byte, o.dataMiB<<20)
	src := rand.NewChaCha8([32]byte{'r', 'b'})
	src.Read(data)
	vm, err := fc.AddServer("demo-web01",
		fakecloud.Disk{Name: "demo-web01-boot", Size: o.bootMiB, Content: boot, Bootable: true},
		fakecloud.Disk{Name: "demo-web01-data", Size: o.dataMiB, Content: data})
	if err != nil {
		return withCode(exitFailure, err)
	}
	fc.UpdateServer(vm.ID, func(s *api.Server) { s.Metadata["app"] = "demo"; s.KeyName = "demo-key" })
	orig := map[string]bool{}
	for _, v := range fc.Volumes() {
		orig[v.ID] = true
	}
	fmt.Fprintf(w, "1. cloud    proxy VM %s and VM %s (%s) with two volumes:\n", proxy.Name, vm.Name, vm.ID)
	fmt.Fprintf(w, "          boot %d MiB (%s of text, the rest zeros), data %d MiB of random bytes  [%s]\n",
		o.bootMiB, units.FormatBytes(int64(textBytes)), o.dataMiB, since(step))

	// The repository.
	keyFile := filepath.Join(dir, "master-key")
	var key []byte
	if o.cipher != crypt.None {
		os.Remove(keyFile)
		if key, err = crypt.GenerateKeyFile(keyFile); err != nil {
			return withCode(exitFailure, err)
		}
	}
	repo, err := archive.Open(archive.Options{
		Pool: filepath.Join(dir, "pool"), Key: key, Cipher: o.cipher, Compression: "zstd", Level: "fastest",
		ChunkMin: dedup.DefaultChunkMin, ChunkAvg: dedup.DefaultChunkAvg, ChunkMax: dedup.DefaultChunkMax,
		ToolVersion: "rb_module_rustack " + version,
	})
	if err != nil {
		return withCode(exitFailure, err)
	}
	defer repo.Close()
	jdir := journal.Dir(filepath.Join(dir, "state"))

	attachTimeout := 30 * time.Second
	leftovers := func() []string {
		var left []string
		for _, s := range fc.Snapshots() {
			left = append(left, "snapshot "+s.Name)
		}
		for _, v := range fc.Volumes() {
			if !orig[v.ID] {
				left = append(left, "volume "+v.Name)
			}
		}
		if att := fc.AttachedTo(proxy.ID); len(att) != 1 {
			left = append(left, fmt.Sprintf("%d volumes attached to the proxy", len(att)))
		}
		if js, _ := filepath.Glob(filepath.Join(jdir, "*.json")); len(js) > 0 {
			left = append(left, fmt.Sprintf("%d journal(s)", len(js)))
		}
		return left
	}
	if len(faults) > 0 {
		for _, f := range faults {
			if f.op == "device" {
				fc.HideDevices(true)
				attachTimeout = 2 * time.Second
				fmt.Fprintf(w, "   fault    attached volumes never show up in the proxy's device dir (volume_attachment_timeout %s)\n", attachTimeout)
				continue
			}
			fc.Fail(f.op, f.n, errors.New("503 Service Unavailable (injected by --fail)"))
			fmt.Fprintf(w, "   fault    call %d of %s will fail\n", f.n, f.op)
		}
	}

	backup := func(n int, typ archive.Type) (*archive.Summary, *snapshot.Result, error) {
		start := time.Now()
		var b *archive.Backup
		fmt.Fprintf(w, "%d. %-8s backup of %s\n", n, typ, vm.Name)
		res, err := snapshot.Run(ctx, snapshot.Options{
			Cloud: fc, VM: vm.Name, ProxyID: proxy.ID, JournalDir: jdir,
			Timeouts:  snapshot.Timeouts{Snapshot: 30 * time.Second, Volume: 30 * time.Second, Attach: attachTimeout},
			DeviceDir: fc.DeviceDir(proxy.ID), SysBlock: filepath.Join(dir, "no-sys-block"), DevicePoll: 5 * time.Millisecond,
			DiskParallelism: o.parallel, Log: logging.Discard(),
			Scripts: func(context.Context, *api.Server) (snapshot.Scripts, error) {
				return &demoGuest{w: w, start: start}, nil
			},
			Begin: func(ctx context.Context, d *vmdesc.VM) (snapshot.Sink, error) {
				raw, err := d.Marshal()
				if err != nil {
					return nil, err
				}
				b, err = repo.Begin(ctx, archive.BackupSpec{VMID: d.ID, VMName: d.Name, Type: typ, VM: raw, JobID: d.JobID})
				return b, err
			},
		})
		if err != nil {
			if b != nil {
				b.Abort()
			}
			return nil, nil, err
		}
		s, err := b.Commit(ctx)
		if err != nil {
			b.Abort()
			return nil, nil, err
		}
		took := time.Since(start)
		kinds := map[string]int{}
		for _, r := range res.Removed {
			kinds[r.Kind]++
		}
		fmt.Fprintf(w, "          job %s: %d snapshot(s) and %d temporary volume(s) attached to the proxy, read, removed\n",
			res.JobID, kinds[journal.KindSnapshot], kinds[journal.KindVolume])
		for _, d := range res.Disks {
			fmt.Fprintf(w, "          disk %s  %s read in %s (%.0f MB/s)\n", d.Label, units.FormatBytes(d.Size), d.Duration.Round(time.Millisecond), mbps(d.Size, d.Duration))
		}
		if note := b.Note(); note != "" {
			fmt.Fprintf(w, "          note: %s\n", note)
		}
		fmt.Fprintf(w, "          archive %s (%s)\n", s.ArchiveID, s.Type)
		fmt.Fprintf(w, "          read %s (zero %s), new %s, stored %s, %d chunks (%d new)\n",
			units.FormatBytes(s.BytesRead), units.FormatBytes(s.BytesZero), units.FormatBytes(s.BytesNew), units.FormatBytes(s.BytesStored), s.Chunks, s.NewChunks)
		fmt.Fprintf(w, "          whole job %s: %.0f MB/s of disk\n", took.Round(time.Millisecond), mbps(s.BytesRead, took))
		return s, res, nil
	}

	// 2. Full.
	full, _, err := backup(2, archive.Full)
	if err != nil {
		fmt.Fprintf(w, "          failed: %v\n", err)
		if left := leftovers(); len(left) > 0 {
			fmt.Fprintf(w, "          left behind: %v\n", left)
		} else {
			fmt.Fprintf(w, "          nothing left behind: no snapshot, temporary volume, attachment or journal\n")
		}
		return canceledOr(ctx, fmt.Errorf("full backup: %w", err))
	}
	fc.ClearFaults()

	// 3. Change data in the VM's disks.
	step = time.Now()
	changed, err := demoChange(fc, vm.VolumeIDs, o.changes, src)
	if err != nil {
		return withCode(exitFailure, err)
	}
	fmt.Fprintf(w, "3. change   wrote %d random 4 KiB blocks (%s) at random places of both disks  [%s]\n", o.changes, units.FormatBytes(changed), since(step))

	// 4. Incremental.
	incr, _, err := backup(4, archive.Incremental)
	if err != nil {
		return canceledOr(ctx, fmt.Errorf("incremental backup: %w", err))
	}
	if incr.Parent != full.ArchiveID {
		return withCode(exitFailure, fmt.Errorf("the incremental's parent is %q, not the full %s", incr.Parent, full.ArchiveID))
	}

	// 5. Restore the chain to a local directory and compare.
	step = time.Now()
	m, err := repo.Load(ctx, incr.ArchiveID)
	if err != nil {
		return canceledOr(ctx, err)
	}
	rdir := filepath.Join(dir, "restore")
	if err := os.MkdirAll(rdir, 0o700); err != nil {
		return withCode(exitFailure, err)
	}
	var restored int64
	fmt.Fprintf(w, "5. restore  %s (chain of %d: %v) to %s\n", m.ID, len(m.Chain), m.Chain, rdir)
	for _, d := range m.Disks {
		p := filepath.Join(rdir, d.Label+".img")
		ds := time.Now()
		if err := demoRestoreDisk(ctx, repo, m, d, p); err != nil {
			return canceledOr(ctx, err)
		}
		took := time.Since(ds)
		got, err := fileSHA256(p)
		if err != nil {
			return withCode(exitFailure, err)
		}
		want, err := fileSHA256(fc.VolumePath(d.Label))
		if err != nil {
			return withCode(exitFailure, err)
		}
		if got != want {
			return withCode(exitIntegrity, fmt.Errorf("restored disk %s differs from the VM's volume (sha256 %s, want %s)", d.Label, got, want))
		}
		restored += d.Size
		fmt.Fprintf(w, "          %s  %s in %s (%.0f MB/s), sha256 %s… = the VM's volume\n", filepath.Base(p), units.FormatBytes(d.Size), took.Round(time.Millisecond), mbps(d.Size, took), got[:16])
	}
	fmt.Fprintf(w, "          %s restored and compared  [%s]\n", units.FormatBytes(restored), since(step))

	// 6. Verify both archives.
	step = time.Now()
	for _, id := range []string{full.ArchiveID, incr.ArchiveID} {
		rep, err := repo.Verify(ctx, id)
		if err != nil {
			return canceledOr(ctx, err)
		}
		if len(rep.Damaged) > 0 {
			return withCode(exitIntegrity, fmt.Errorf("verify %s: %d damaged piece(s), first: %+v", id, len(rep.Damaged), rep.Damaged[0]))
		}
	}
	fmt.Fprintf(w, "6. verify   both archives: every chunk authenticated, no damage  [%s]\n", since(step))

	// 7. Nothing left behind.
	if left := leftovers(); len(left) > 0 {
		return withCode(exitFailure, fmt.Errorf("left behind: %v", left))
	}
	fmt.Fprintf(w, "7. clean    no snapshot, temporary volume, attachment or journal left\n\n")
	fmt.Fprintf(w, "demo done in %s\n", since(t0))
	return nil
}

// demoBootDisk is size bytes: a quarter of text lines, then zeros.
func demoBootDisk(size int) ([]byte, int) {
	b := make([]byte, size)
	var text bytes.Buffer
	for i := 0; text.Len() < size/4; i++ {
		fmt.Fprintf(&text, "%08d: the backup reads this line from a snapshot, through a temporary volume on the proxy\n", i)
	}
	n := copy(b, text.Bytes()[:size/4])
	return b, n
}

// demoChange writes n random 4 KiB blocks at random offsets of the volumes'
// backing files (never truncating); it returns the bytes written.
func demoChange(fc *fakecloud.Cloud, vols []string, n int, src *rand.ChaCha8) (int64, error) {
	rng := rand.New(src)
	var files []*os.File
	var sizes []int64
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, id := range vols {
		f, err := os.OpenFile(fc.VolumePath(id), os.O_WRONLY, 0)
		if err != nil {
			return 0, err
		}
		size, err := f.Seek(0, io.SeekEnd)
		if err != nil {
			return 0, err
		}
		files, sizes = append(files, f), append(sizes, size)
	}
	block := make([]byte, 4096)
	var total int64
	for i := range n {
		k := i % len(files)
		src.Read(block)
		off := rng.Int64N(sizes[k]/4096) * 4096
		if _, err := files[k].WriteAt(block, off); err != nil {
			return total, err
		}
		total += int64(len(block))
	}
	for _, f := range files {
		if err := f.Sync(); err != nil {
			return total, err
		}
	}
	return total, nil
}

func demoRestoreDisk(ctx context.Context, repo *archive.Repo, m *archive.Manifest, d archive.Disk, p string) error {
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Truncate(d.Size); err != nil {
		f.Close()
		return err
	}
	if err := repo.RestoreDisk(ctx, m, d.Label, f, archive.RestoreOptions{SkipHoles: true}); err != nil {
		f.Close()
		return fmt.Errorf("restore disk %s: %w", d.Label, err)
	}
	return f.Close()
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
