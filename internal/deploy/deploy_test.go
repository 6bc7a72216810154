package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/blockdev"
	"rb_module_rustack/internal/deploy"
	"rb_module_rustack/internal/fakecloud"
	"rb_module_rustack/internal/journal"
	"rb_module_rustack/internal/vmdesc"
)

const unit = 1 << 20 // the fake cloud's size unit in these tests (Cinder's GiB)

// memSource is an archive chain in memory: what the engine's RestoreDisk
// does, writing zeros or skipping them as asked.
type memSource struct {
	disks map[string][]byte
	fail  func(label string, off int64) error // fails the write at off
}

func (s *memSource) RestoreDisk(ctx context.Context, m *archive.Manifest, label string, dst io.WriterAt, o archive.RestoreOptions) error {
	data, ok := s.disks[label]
	if !ok {
		return fmt.Errorf("no disk %q", label)
	}
	const blk = 64 << 10
	for off := int64(0); off < int64(len(data)); off += blk {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.fail != nil {
			if err := s.fail(label, off); err != nil {
				return err
			}
		}
		b := data[off:min(off+blk, int64(len(data)))]
		if o.SkipHoles && !slices.ContainsFunc(b, func(c byte) bool { return c != 0 }) {
			continue
		}
		if _, err := dst.WriteAt(b, off); err != nil {
			return err
		}
		if o.Progress != nil {
			o.Progress(off + int64(len(b)))
		}
	}
	return nil
}

// world is a fake cloud with a proxy VM and an original VM "web01" of two
// disks, and the archive of that VM.
type world struct {
	fc       *fakecloud.Cloud
	proxy    *api.Server
	orig     *api.Server
	src      *memSource
	m        *archive.Manifest
	labels   []string
	baseVols []string // volume ids that exist before a restore
	jdir     string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	fc, err := fakecloud.New(fakecloud.Options{Dir: t.TempDir(), Unit: unit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fc.Close)
	w := &world{fc: fc, jdir: t.TempDir()}
	if w.proxy, err = fc.AddServer("proxy", fakecloud.Disk{Size: 1}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	d0 := make([]byte, 3*unit+5000) // not a whole unit: the volume is 4 units
	for i := 0; i < len(d0); i += 64 << 10 {
		if i/(64<<10)%3 == 0 { // one block in three holds data; the rest is a hole
			for j := i; j < min(i+64<<10, len(d0)); j++ {
				d0[j] = byte(rng.Uint32())
			}
		}
	}
	d1 := make([]byte, unit)
	for i := range d1 {
		d1[i] = byte(rng.Uint32())
	}
	if w.orig, err = fc.AddServer("web01",
		fakecloud.Disk{Size: 4, Content: d0, Type: "fast"},
		fakecloud.Disk{Size: 2, Content: d1}); err != nil {
		t.Fatal(err)
	}
	desc := vmdesc.VM{Version: 1, ID: w.orig.ID, Name: "web01",
		Flavor: vmdesc.Flavor{ID: "2", Name: "m1.small"}, KeyName: "",
		SecurityGroups: []string{"default"}, Metadata: map[string]string{"role": "web"}}
	w.src = &memSource{disks: map[string][]byte{}}
	m := &archive.Manifest{ID: "arch-1", Type: archive.Full, VMID: w.orig.ID, VMName: "web01"}
	for i, vid := range w.orig.VolumeIDs {
		v := volumeByID(fc, vid)
		data := [][]byte{d0, d1}[i]
		w.src.disks[vid] = data
		w.labels = append(w.labels, vid)
		m.Disks = append(m.Disks, archive.Disk{Label: vid, Size: int64(len(data))})
		desc.Disks = append(desc.Disks, vmdesc.Disk{Label: vid, VolumeID: vid, Name: v.Name,
			Size: v.Size, VolumeType: v.VolumeType, AvailabilityZone: v.AvailabilityZone, Bootable: v.Bootable,
			BootIndex: map[bool]int{true: 0, false: -1}[i == 0]})
	}
	if m.VM, err = desc.Marshal(); err != nil {
		t.Fatal(err)
	}
	w.m = m
	for _, v := range fc.Volumes() {
		w.baseVols = append(w.baseVols, v.ID)
	}
	return w
}

func volumeByID(fc *fakecloud.Cloud, id string) api.Volume {
	for _, v := range fc.Volumes() {
		if v.ID == id {
			return v
		}
	}
	return api.Volume{}
}

func (w *world) opts(t *testing.T) deploy.Options {
	return deploy.Options{
		Cloud: w.fc, Source: w.src, Manifest: w.m, ProxyVMID: w.proxy.ID,
		Devices:       blockdev.Finder{Dir: w.fc.DeviceDir(w.proxy.ID), SysBlock: "-"},
		VolumeTimeout: 5 * time.Second, AttachTimeout: 5 * time.Second, ServerTimeout: 5 * time.Second,
		Unit: unit, JobID: "testjob",
	}
}

// withJournal gives o a real journal and returns it.
func (w *world) withJournal(t *testing.T, o *deploy.Options) *journal.Journal {
	t.Helper()
	j, err := journal.Begin(w.jdir, journal.NewJobID(), "restore")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	o.Journal = j
	return j
}

// checkVolumeBytes compares the first bytes of a volume's backing file with
// the archived disk, and checks that the rest is zero.
func (w *world) checkVolumeBytes(t *testing.T, volumeID, label string) {
	t.Helper()
	got, err := os.ReadFile(w.fc.VolumePath(volumeID))
	if err != nil {
		t.Fatal(err)
	}
	want := w.src.disks[label]
	if len(got) < len(want) {
		t.Fatalf("volume %s holds %d bytes, want at least %d", volumeID, len(got), len(want))
	}
	if !bytes.Equal(got[:len(want)], want) {
		t.Fatalf("volume %s: bytes differ from disk %s", volumeID, label)
	}
}

// checkNothingLeft verifies that only the resources of before exist: no new
// volume, server or attachment to the proxy, and no journal entry.
func (w *world) checkNothingLeft(t *testing.T, j *journal.Journal) {
	t.Helper()
	var vols []string
	for _, v := range w.fc.Volumes() {
		vols = append(vols, v.ID)
	}
	slices.Sort(vols)
	base := slices.Sorted(slices.Values(w.baseVols))
	if !slices.Equal(vols, base) {
		t.Errorf("volumes left: have %v, want %v", vols, base)
	}
	for _, s := range w.fc.Servers() {
		if s.ID != w.proxy.ID && s.ID != w.orig.ID {
			t.Errorf("server left: %s %s %s", s.ID, s.Name, s.Status)
		}
	}
	if att := w.fc.AttachedTo(w.proxy.ID); len(att) != 1 || att[0] != w.proxy.VolumeIDs[0] {
		t.Errorf("proxy attachments: %v, want only its root %s", att, w.proxy.VolumeIDs[0])
	}
	if j != nil {
		if e := j.Entries(); len(e) != 0 {
			t.Errorf("journal entries left: %+v", e)
		}
	}
}

func serverByName(fc *fakecloud.Cloud, name string) *api.Server {
	for _, s := range fc.Servers() {
		if s.Name == name {
			return &s
		}
	}
	return nil
}

func TestDeployNamesAndBytes(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	o := w.opts(t)
	j := w.withJournal(t, &o)

	res, err := deploy.Deploy(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.ServerName != "web01-1" {
		t.Fatalf("server name %q, want web01-1 (the original exists)", res.ServerName)
	}
	s, err := w.fc.GetServer(ctx, res.ServerID)
	if err != nil || s.Status != "ACTIVE" {
		t.Fatalf("server %s: %+v, %v", res.ServerID, s, err)
	}
	if s.FlavorID != "2" || s.Metadata["role"] != "web" {
		t.Errorf("server flavor %q metadata %v, want 2 and role=web", s.FlavorID, s.Metadata)
	}
	if len(res.Volumes) != 2 {
		t.Fatalf("volumes: %+v", res.Volumes)
	}
	if !slices.Equal(s.VolumeIDs, []string{res.Volumes[0].ID, res.Volumes[1].ID}) {
		t.Errorf("server volumes %v, want boot disk first: %v", s.VolumeIDs, res.Volumes)
	}
	for i, rv := range res.Volumes {
		v := volumeByID(w.fc, rv.ID)
		if rv.Label != w.labels[i] {
			t.Errorf("volume %d is disk %s, want %s", i, rv.Label, w.labels[i])
		}
		wantSize := []int{4, 2}[i]
		if v.Size != wantSize || v.Status != "in-use" {
			t.Errorf("volume %s: size %d status %s, want %d in-use", rv.ID, v.Size, v.Status, wantSize)
		}
		if v.Bootable != (i == 0) {
			t.Errorf("volume %s bootable = %v", rv.ID, v.Bootable)
		}
		if v.Name != "web01-1-"+w.labels[i] {
			t.Errorf("volume name %q", v.Name)
		}
		w.checkVolumeBytes(t, rv.ID, rv.Label)
	}
	if vt := volumeByID(w.fc, res.Volumes[0].ID).VolumeType; vt != "fast" {
		t.Errorf("boot volume type %q, want the recorded fast", vt)
	}
	if e := j.Entries(); len(e) != 0 {
		t.Errorf("journal still lists %+v after a finished restore", e)
	}
	if att := w.fc.AttachedTo(w.proxy.ID); len(att) != 1 {
		t.Errorf("proxy still has %v attached", att)
	}

	res2, err := deploy.Deploy(ctx, w.opts(t))
	if err != nil {
		t.Fatal(err)
	}
	if res2.ServerName != "web01-2" {
		t.Fatalf("second restore named %q, want web01-2", res2.ServerName)
	}

	// Without the original, the original name is free again.
	if err := w.fc.DeleteServer(ctx, w.orig.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.fc.WaitServerDeleted(ctx, w.orig.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	res3, err := deploy.Deploy(ctx, w.opts(t))
	if err != nil {
		t.Fatal(err)
	}
	if res3.ServerName != "web01" {
		t.Fatalf("restore after deleting the original named %q, want web01", res3.ServerName)
	}
	// An explicit name is used as given.
	o4 := w.opts(t)
	o4.Name = "custom"
	res4, err := deploy.Deploy(ctx, o4)
	if err != nil || res4.ServerName != "custom" || serverByName(w.fc, "custom") == nil {
		t.Fatalf("--name custom: %+v, %v", res4, err)
	}
}

// TestDeployFailsAtEveryStep injects a failure at each cloud call a restore
// makes (and in the data path) and checks that nothing is left behind.
func TestDeployFailsAtEveryStep(t *testing.T) {
	boom := errors.New("boom")
	type step struct {
		name  string
		setup func(w *world, o *deploy.Options)
	}
	steps := []step{
		{"ListServers", func(w *world, o *deploy.Options) { w.fc.Fail("ListServers", 0, boom) }},
		{"CreateVolume 1", func(w *world, o *deploy.Options) { w.fc.Fail("CreateVolume", 1, boom) }},
		{"CreateVolume 2", func(w *world, o *deploy.Options) { w.fc.Fail("CreateVolume", 2, boom) }},
		{"CreateVolume 2 lost answer", func(w *world, o *deploy.Options) { w.fc.FailAfter("CreateVolume", 2, boom) }},
		{"volume goes to error", func(w *world, o *deploy.Options) { w.fc.Break("volume", "creating") }},
		{"WaitVolume 1", func(w *world, o *deploy.Options) { w.fc.Fail("WaitVolume", 1, boom) }},
		{"AttachVolume 1", func(w *world, o *deploy.Options) { w.fc.Fail("AttachVolume", 1, boom) }},
		{"AttachVolume 2 lost answer", func(w *world, o *deploy.Options) { w.fc.FailAfter("AttachVolume", 2, boom) }},
		{"attach slower than the timeout", func(w *world, o *deploy.Options) {
			// The attach completes only once the rollback has begun.
			w.fc.Stick("volume", "attaching")
			o.AttachTimeout = 100 * time.Millisecond
			o.Progress = func(e deploy.Event) {
				if e.Stage == "rollback" {
					w.fc.Unstick("volume", "attaching")
				}
			}
		}},
		{"device never appears", func(w *world, o *deploy.Options) {
			w.fc.HideDevices(true)
			o.AttachTimeout = 100 * time.Millisecond
		}},
		{"write fails", func(w *world, o *deploy.Options) {
			w.src.fail = func(label string, off int64) error {
				if label == w.labels[1] && off > 0 {
					return errors.New("archive damaged")
				}
				return nil
			}
		}},
		{"DetachVolume 2", func(w *world, o *deploy.Options) { w.fc.Fail("DetachVolume", 2, boom) }},
		{"SetBootable", func(w *world, o *deploy.Options) { w.fc.Fail("SetBootable", 1, boom) }},
		{"CreateServer", func(w *world, o *deploy.Options) { w.fc.Fail("CreateServer", 1, boom) }},
		{"CreateServer lost answer", func(w *world, o *deploy.Options) { w.fc.FailAfter("CreateServer", 1, boom) }},
		{"server goes to ERROR", func(w *world, o *deploy.Options) { w.fc.Break("server", "BUILD") }},
		{"WaitServer", func(w *world, o *deploy.Options) { w.fc.Fail("WaitServer", 1, boom) }},
		{"WaitServer lost answer", func(w *world, o *deploy.Options) { w.fc.FailAfter("WaitServer", 1, boom) }},
		{"server stuck in BUILD", func(w *world, o *deploy.Options) {
			w.fc.Stick("server", "BUILD")
			o.ServerTimeout = 100 * time.Millisecond
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			w := newWorld(t)
			o := w.opts(t)
			j := w.withJournal(t, &o)
			st.setup(w, &o)
			res, err := deploy.Deploy(context.Background(), o)
			if err == nil {
				t.Fatalf("restore succeeded: %+v", res)
			}
			if res != nil {
				t.Errorf("result after a full rollback: %+v", res)
			}
			if strings.Contains(err.Error(), "rollback could not remove") {
				t.Fatalf("rollback incomplete: %v", err)
			}
			// Faults that outlive the step (stuck/broken statuses) are lifted
			// before checking: rollback must already have removed everything.
			w.checkNothingLeft(t, j)
		})
	}
}

func TestDeployCanceledMidWrite(t *testing.T) {
	w := newWorld(t)
	o := w.opts(t)
	j := w.withJournal(t, &o)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	w.src.fail = func(label string, off int64) error {
		if label == w.labels[1] && off >= 128<<10 {
			once.Do(cancel) // SIGINT while the second disk is written
		}
		return nil
	}
	_, err := deploy.Deploy(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	w.checkNothingLeft(t, j)
}

func TestDeployKeepPartial(t *testing.T) {
	w := newWorld(t)
	o := w.opts(t)
	o.KeepPartial = true
	j := w.withJournal(t, &o)
	w.fc.Fail("CreateServer", 1, errors.New("boom"))
	res, err := deploy.Deploy(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "kept (--keep-partial)") {
		t.Fatalf("err = %v", err)
	}
	if res == nil || !res.Partial || len(res.Volumes) != 2 {
		t.Fatalf("result %+v", res)
	}
	for _, rv := range res.Volumes {
		v := volumeByID(w.fc, rv.ID)
		if v.Status != "available" {
			t.Errorf("kept volume %s is %s, want available (detached from the proxy)", v.ID, v.Status)
		}
		w.checkVolumeBytes(t, rv.ID, rv.Label)
	}
	if e := j.Entries(); len(e) != 0 {
		t.Errorf("journal lists kept resources (a sweep would delete them): %+v", e)
	}
}

func TestDeployFlavorMissing(t *testing.T) {
	w := newWorld(t)
	desc, err := vmdesc.Parse(w.m.VM)
	if err != nil {
		t.Fatal(err)
	}
	desc.Flavor = vmdesc.Flavor{ID: "42", Name: "m1.gone"}
	if w.m.VM, err = desc.Marshal(); err != nil {
		t.Fatal(err)
	}
	o := w.opts(t)
	j := w.withJournal(t, &o)
	_, err = deploy.Deploy(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "m1.gone") || !strings.Contains(err.Error(), "--flavor") ||
		!strings.Contains(err.Error(), "m1.tiny (id 1)") {
		t.Fatalf("err = %v, want the missing flavor named, --flavor and the available flavors", err)
	}
	if n := w.fc.Calls("CreateVolume"); n != 0 {
		t.Errorf("%d volumes created before the flavor check", n)
	}
	w.checkNothingLeft(t, j)

	// --flavor by name overrides it.
	o.Flavor = "m1.tiny"
	res, err := deploy.Deploy(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := w.fc.GetServer(context.Background(), res.ServerID); s.FlavorID != "1" {
		t.Errorf("flavor %q, want 1", s.FlavorID)
	}
	// A wrong --flavor is named too.
	o.Flavor = "m9.huge"
	if _, err := deploy.Deploy(context.Background(), o); err == nil || !strings.Contains(err.Error(), `"m9.huge" given with --flavor`) {
		t.Fatalf("err = %v", err)
	}
}

func TestDeployQuota(t *testing.T) {
	w := newWorld(t)
	// Recreate the world with a volume quota that lets one new volume in.
	fc, err := fakecloud.New(fakecloud.Options{Dir: t.TempDir(), Unit: unit, MaxVolumes: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fc.Close)
	w2 := rebuild(t, w, fc)
	o := w2.opts(t)
	j := w2.withJournal(t, &o)
	_, err = deploy.Deploy(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "quota") {
		t.Fatalf("err = %v, want a quota message", err)
	}
	if !strings.Contains(err.Error(), "raise it") {
		t.Errorf("err = %v, want a hint on what to do", err)
	}
	w2.checkNothingLeft(t, j)
}

// rebuild makes the same world (proxy, web01, archive) in another fake cloud.
func rebuild(t *testing.T, w *world, fc *fakecloud.Cloud) *world {
	t.Helper()
	w2 := &world{fc: fc, src: &memSource{disks: map[string][]byte{}}, jdir: t.TempDir()}
	var err error
	if w2.proxy, err = fc.AddServer("proxy", fakecloud.Disk{Size: 1}); err != nil {
		t.Fatal(err)
	}
	if w2.orig, err = fc.AddServer("web01",
		fakecloud.Disk{Size: 4, Content: w.src.disks[w.labels[0]], Type: "fast"},
		fakecloud.Disk{Size: 2, Content: w.src.disks[w.labels[1]]}); err != nil {
		t.Fatal(err)
	}
	m := *w.m
	m.Disks = nil
	desc, _ := vmdesc.Parse(w.m.VM)
	for i, vid := range w2.orig.VolumeIDs {
		w2.src.disks[vid] = w.src.disks[w.labels[i]]
		w2.labels = append(w2.labels, vid)
		m.Disks = append(m.Disks, archive.Disk{Label: vid, Size: int64(len(w2.src.disks[vid]))})
		desc.Disks[i].Label, desc.Disks[i].VolumeID = vid, vid
	}
	m.VM, _ = desc.Marshal()
	w2.m = &m
	for _, v := range fc.Volumes() {
		w2.baseVols = append(w2.baseVols, v.ID)
	}
	return w2
}

func TestVolumeOnly(t *testing.T) {
	w := newWorld(t)
	o := w.opts(t)
	j := w.withJournal(t, &o)
	o.Now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

	_, err := deploy.VolumeOnly(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "--disk") || !strings.Contains(err.Error(), w.labels[1]) {
		t.Fatalf("without --disk: %v", err)
	}
	o.Disk = "nope"
	if _, err := deploy.VolumeOnly(context.Background(), o); err == nil || !strings.Contains(err.Error(), `no disk "nope"`) {
		t.Fatalf("unknown disk: %v", err)
	}
	o.Disk = w.labels[1]
	res, err := deploy.VolumeOnly(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.ServerID != "" || len(res.Volumes) != 1 {
		t.Fatalf("result %+v", res)
	}
	v := volumeByID(w.fc, res.Volumes[0].ID)
	want := "web01-" + w.labels[1] + "-restored-20260102-030405"
	if v.Status != "available" || v.Name != want || v.Size != 2 || v.Bootable {
		t.Errorf("volume %+v, want available %s 2 units not bootable", v, want)
	}
	w.checkVolumeBytes(t, v.ID, w.labels[1])
	if e := j.Entries(); len(e) != 0 {
		t.Errorf("journal entries left: %+v", e)
	}
	if n := len(w.fc.Servers()); n != 2 {
		t.Errorf("%d servers, want the proxy and the original only", n)
	}

	// A failure removes the volume (the rollback's detach is call 2).
	w.baseVols = append(w.baseVols, v.ID)
	w.fc.Fail("DetachVolume", w.fc.Calls("DetachVolume")+1, errors.New("boom"))
	if _, err := deploy.VolumeOnly(context.Background(), o); err == nil || !strings.Contains(err.Error(), "was removed") {
		t.Fatalf("restore with a failing detach: %v", err)
	}
	w.checkNothingLeft(t, j)
}

// TestZeroWrites shows why zeros are written by default: a new volume that
// does not read as zeros (old data on the backend) keeps that data in the
// archive's holes when they are skipped.
func TestZeroWrites(t *testing.T) {
	for _, mode := range []string{"zero-range", "plain", "skip"} {
		skip := mode == "skip"
		t.Run(mode, func(t *testing.T) {
			w := newWorld(t)
			o := w.opts(t)
			o.SkipZeroWrites = skip
			o.PlainZeroWrites = mode == "plain"
			o.Disk = w.labels[0]
			// Dirty each new volume before it is written, like a backend
			// that hands out reused extents.
			w.fc.Hook("AttachVolume", func(ctx context.Context) error {
				for _, v := range w.fc.Volumes() {
					if !slices.Contains(w.baseVols, v.ID) {
						junk := bytes.Repeat([]byte{0xAA}, 4*unit)
						if err := os.WriteFile(w.fc.VolumePath(v.ID), junk, 0o600); err != nil {
							return err
						}
					}
				}
				return nil
			})
			res, err := deploy.VolumeOnly(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(w.fc.VolumePath(res.Volumes[0].ID))
			want := w.src.disks[w.labels[0]]
			same := bytes.Equal(got[:len(want)], want)
			if same == skip {
				t.Errorf("skip=%v: bytes equal = %v", skip, same)
			}
			if res.SkipZeroWrites != skip {
				t.Errorf("result SkipZeroWrites = %v", res.SkipZeroWrites)
			}
			if mode != "zero-range" && res.ZeroedBytes != 0 {
				t.Errorf("%s: %d bytes zeroed by fallocate", mode, res.ZeroedBytes)
			}
			t.Logf("%s: %d bytes zeroed by the kernel", mode, res.ZeroedBytes)
		})
	}
}

// catalogCloud is the fake cloud plus the optional listers, recording the
// server requests.
type catalogCloud struct {
	*fakecloud.Cloud
	networks []api.Network
	keys     []string
	groups   []string
	types    []string
	mu       sync.Mutex
	reqs     []api.ServerCreate
}

func (c *catalogCloud) ListNetworks(context.Context) ([]api.Network, error)  { return c.networks, nil }
func (c *catalogCloud) ListKeyPairs(context.Context) ([]string, error)       { return c.keys, nil }
func (c *catalogCloud) ListSecurityGroups(context.Context) ([]string, error) { return c.groups, nil }
func (c *catalogCloud) ListVolumeTypes(context.Context) ([]string, error)    { return c.types, nil }
func (c *catalogCloud) CreateServer(ctx context.Context, r api.ServerCreate) (*api.Server, error) {
	c.mu.Lock()
	c.reqs = append(c.reqs, r)
	c.mu.Unlock()
	return c.Cloud.CreateServer(ctx, r)
}

func (c *catalogCloud) last() api.ServerCreate {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reqs[len(c.reqs)-1]
}

func TestDeployReplacesWhatIsGone(t *testing.T) {
	w := newWorld(t)
	desc, _ := vmdesc.Parse(w.m.VM)
	desc.Networks = []vmdesc.Network{{ID: "net-a", Name: "lan"}, {ID: "net-gone", Name: "old"}, {ID: "net-old-id", Name: "dmz"}}
	desc.KeyName = "alice"
	desc.SecurityGroups = []string{"default", "web-gone"}
	w.m.VM, _ = desc.Marshal()
	cc := &catalogCloud{Cloud: w.fc,
		networks: []api.Network{{ID: "net-a", Name: "lan"}, {ID: "net-dmz2", Name: "dmz"}, {ID: "net-b", Name: "wan"}},
		keys:     []string{"bob"}, groups: []string{"default"}, types: []string{"standard"}}
	o := w.opts(t)
	o.Cloud = cc
	res, err := deploy.Deploy(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	r := cc.last()
	if !slices.Equal(r.Networks, []string{"net-a", "net-dmz2"}) || r.KeyName != "" || !slices.Equal(r.SecurityGroups, []string{"default"}) {
		t.Errorf("request %+v", r)
	}
	notes := strings.Join(res.Notes, "\n")
	for _, want := range []string{"old (id net-gone) no longer exists", "net-old-id no longer exists; using network dmz (id net-dmz2)",
		`key pair "alice" no longer exists`, `security group "web-gone" no longer exists`, `volume type "fast" no longer exists`} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if vt := volumeByID(w.fc, res.Volumes[0].ID).VolumeType; vt == "fast" {
		t.Errorf("volume type %q was used although it no longer exists", vt)
	}

	// Overrides: no network, a key, no metadata, extra metadata.
	o.Networks = []string{"none"}
	o.KeyName = "bob"
	o.NoMetadata = true
	o.Metadata = map[string]string{"restored": "yes"}
	o.SecurityGroups = []string{"none"}
	if _, err := deploy.Deploy(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	r = cc.last()
	if len(r.Networks) != 0 || r.KeyName != "bob" || len(r.SecurityGroups) != 0 || len(r.Metadata) != 1 || r.Metadata["restored"] != "yes" {
		t.Errorf("request with overrides %+v", r)
	}
	// Unknown explicit values fail before anything is created.
	calls := w.fc.Calls("CreateVolume")
	for _, bad := range []func(*deploy.Options){
		func(o *deploy.Options) { o.Networks = []string{"nope"} },
		func(o *deploy.Options) { o.KeyName = "carol" },
		func(o *deploy.Options) { o.SecurityGroups = []string{"nope"} },
		func(o *deploy.Options) { o.Networks = []string{"none", "net-a"} },
	} {
		o2 := o
		bad(&o2)
		if _, err := deploy.Deploy(context.Background(), o2); err == nil {
			t.Errorf("bad override accepted: %+v", o2.Overrides)
		}
	}
	if w.fc.Calls("CreateVolume") != calls {
		t.Error("a bad override created volumes")
	}
	// All recorded networks gone: the server has none, with a note.
	cc.networks = nil
	o.Networks, o.KeyName, o.SecurityGroups = nil, "", nil
	res, err = deploy.Deploy(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r := cc.last(); len(r.Networks) != 0 || !strings.Contains(strings.Join(res.Notes, " "), "the server has no network") {
		t.Errorf("request %+v notes %v", r, res.Notes)
	}
}

// lateCloud cuts off one call (the caller sees a transport error) and has
// the cloud carry it out a little later, as Nova and Cinder do when the
// client goes away mid-request.
type lateCloud struct {
	*fakecloud.Cloud
	op    string // "CreateVolume", "AttachVolume", "CreateServer"
	n     int    // which call (1-based)
	calls int
	mu    sync.Mutex
	wg    sync.WaitGroup
}

func (c *lateCloud) cut(op string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if op != c.op {
		return false
	}
	c.calls++
	return c.calls == c.n
}

var errCut = &url.Error{Op: "Post", URL: "http://cloud.example/", Err: errors.New("connection reset by peer")}

func (c *lateCloud) later(fn func()) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		time.Sleep(300 * time.Millisecond)
		fn()
	}()
}

func (c *lateCloud) CreateVolume(ctx context.Context, r api.VolumeCreate) (*api.Volume, error) {
	if c.cut("CreateVolume") {
		c.later(func() { c.Cloud.CreateVolume(context.Background(), r) })
		return nil, errCut
	}
	return c.Cloud.CreateVolume(ctx, r)
}

func (c *lateCloud) AttachVolume(ctx context.Context, server, volume string) (*api.Attachment, error) {
	if c.cut("AttachVolume") {
		c.later(func() { c.Cloud.AttachVolume(context.Background(), server, volume) })
		return nil, errCut
	}
	return c.Cloud.AttachVolume(ctx, server, volume)
}

func (c *lateCloud) CreateServer(ctx context.Context, r api.ServerCreate) (*api.Server, error) {
	if c.cut("CreateServer") {
		c.later(func() { c.Cloud.CreateServer(context.Background(), r) })
		return nil, errCut
	}
	return c.Cloud.CreateServer(ctx, r)
}

// TestDeployCallCutOff: a create or attach call whose answer never came, and
// which the cloud carries out after the restore gave up on it, is still
// rolled back.
func TestDeployCallCutOff(t *testing.T) {
	for _, tc := range []struct {
		op string
		n  int
	}{{"CreateVolume", 2}, {"AttachVolume", 1}, {"AttachVolume", 2}, {"CreateServer", 1}} {
		t.Run(fmt.Sprintf("%s-%d", tc.op, tc.n), func(t *testing.T) {
			w := newWorld(t)
			o := w.opts(t)
			j := w.withJournal(t, &o)
			lc := &lateCloud{Cloud: w.fc, op: tc.op, n: tc.n}
			o.Cloud = lc
			o.Settle = 3 * time.Second
			_, err := deploy.Deploy(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), "connection reset by peer") {
				t.Fatalf("err = %v", err)
			}
			if strings.Contains(err.Error(), "rollback could not remove") {
				t.Fatalf("rollback incomplete: %v", err)
			}
			lc.wg.Wait()
			w.checkNothingLeft(t, j)
		})
	}
}
