package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/directio"
	"rb_module_rustack/internal/journal"
	"rb_module_rustack/internal/logging"
	"rb_module_rustack/internal/vmdesc"
)

// Cloud is the part of the cloud API the backup flow and the sweep use.
// *api.Client and *fakecloud.Cloud satisfy it.
type Cloud interface {
	ListServers(ctx context.Context) ([]api.Server, error)
	GetServer(ctx context.Context, id string) (*api.Server, error)
	GetServerAdmin(ctx context.Context, id string) (*api.Server, error)
	DeleteServer(ctx context.Context, id string) error
	WaitServerDeleted(ctx context.Context, id string, timeout time.Duration) error
	GetFlavor(ctx context.Context, id string) (*api.Flavor, error)

	ListAttachments(ctx context.Context, serverID string) ([]api.Attachment, error)
	AttachVolume(ctx context.Context, serverID, volumeID string) (*api.Attachment, error)
	DetachVolume(ctx context.Context, serverID, volumeID string) error

	ListVolumes(ctx context.Context) ([]api.Volume, error)
	GetVolume(ctx context.Context, id string) (*api.Volume, error)
	CreateVolume(ctx context.Context, req api.VolumeCreate) (*api.Volume, error)
	DeleteVolume(ctx context.Context, id string) error
	WaitVolume(ctx context.Context, id string, timeout time.Duration, want ...string) (*api.Volume, error)
	WaitVolumeDeleted(ctx context.Context, id string, timeout time.Duration) error

	ListSnapshots(ctx context.Context) ([]api.Snapshot, error)
	GetSnapshot(ctx context.Context, id string) (*api.Snapshot, error)
	CreateSnapshot(ctx context.Context, req api.SnapshotCreate) (*api.Snapshot, error)
	DeleteSnapshot(ctx context.Context, id string) error
	WaitSnapshot(ctx context.Context, id string, timeout time.Duration, want ...string) (*api.Snapshot, error)
	WaitSnapshotDeleted(ctx context.Context, id string, timeout time.Duration) error
}

// Scripts runs the guest's before/after scripts. *guest.Scripts satisfies it.
type Scripts interface {
	Before(ctx context.Context) error
	After(ctx context.Context) error
}

// Sink receives the disks. *archive.Backup satisfies it; AddDisk is called
// concurrently for different labels.
type Sink interface {
	AddDisk(ctx context.Context, label string, src io.ReaderAt, size int64, p func(bytesRead int64)) error
}

// Device is an opened disk: read-only, never truncated.
type Device interface {
	io.ReaderAt
	io.Seeker
	io.Closer
}

// openDevice opens a device read-only, to be read past the page cache
// where it is cold (directio.Reader).
func openDevice(path string) (Device, error) {
	r, err := directio.OpenReader(path)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Timeouts bound every wait on the cloud (the configuration's
// snapshot_creation_timeout, volume_creation_timeout and
// volume_attachment_timeout). Deletions are bounded by the timeout of the
// same kind of resource, detaching by Attach.
type Timeouts struct {
	Snapshot time.Duration
	Volume   time.Duration
	Attach   time.Duration
}

func (t *Timeouts) defaults() {
	for _, d := range []*time.Duration{&t.Snapshot, &t.Volume, &t.Attach} {
		if *d <= 0 {
			*d = 300 * time.Second
		}
	}
}

// cleanupBudget bounds a whole cleanup: each resource's waits are bounded
// too, this is the backstop.
func (t Timeouts) cleanupBudget(n int) time.Duration {
	return time.Duration(n+1) * (t.Snapshot + t.Volume + t.Attach)
}

// Options describe one VM backup.
type Options struct {
	Cloud      Cloud
	VM         string // id or name
	ProxyID    string // rubackup-vm-id: the server this module runs in
	JournalDir string // journal.Dir(state_dir)
	JobID      string // "" = journal.NewJobID()
	Timeouts   Timeouts

	DeviceDir string // where by-id links appear; default /dev/disk/by-id
	SysBlock  string // default /sys/block (serial scan fallback)
	DevRoot   string // where /sys/block names live; default /dev

	DiskParallelism int // disks read at once; default 2

	// Scripts makes the guest scripts of a server (admin view: Host and
	// InstanceName set). nil, or no admin account: no scripts.
	Scripts func(ctx context.Context, admin *api.Server) (Scripts, error)
	// Begin is called once the VM is described, before any snapshot; it
	// returns where the disks go (usually archive.Repo.Begin).
	Begin func(ctx context.Context, d *vmdesc.VM) (Sink, error)
	// Open opens a device for reading; default directio.OpenReader
	// (read-only; past the page cache where it is cold).
	Open func(path string) (Device, error)
	// Progress is called with the bytes read so far, all disks together
	// (as the sink reports them: bytes read by all disks); calls are
	// serialized.
	Progress func(bytesRead int64)
	Log      logging.Log
	// DevicePoll is the pause between two looks for a device; default 100 ms.
	DevicePoll time.Duration
}

// DiskResult is one disk that was read.
type DiskResult struct {
	Label    string
	VolumeID string // the VM's volume
	Device   string // path read
	Size     int64  // bytes
	Duration time.Duration
}

// Result describes a finished VM backup.
type Result struct {
	JobID        string
	VM           *vmdesc.VM
	Disks        []DiskResult
	Scripts      bool      // before/after ran
	SnapshotTime time.Time // when the first snapshot was requested
	BytesRead    int64
	Duration     time.Duration
	Removed      []Removed // resources created and removed by the job
}

// CleanupError says some resources of the job could not be removed; they
// stay in the journal for the next sweep. When Run returns a CleanupError
// alone, every disk was read and the backup itself is complete.
type CleanupError struct{ Err error }

func (e *CleanupError) Error() string {
	return fmt.Sprintf("cleanup incomplete (the journal keeps what is left; \"rb_module_rustack cleanup\" or the next backup removes it): %v", e.Err)
}

func (e *CleanupError) Unwrap() error { return e.Err }

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// job is the state of one Run.
type job struct {
	o   Options
	log logging.Log
	jr  *journal.Journal
	cl  *cleaner

	mu  sync.Mutex
	res []*resource
}

// Run backs up one VM: DESIGN.md steps 2-7. It finds the VM and its
// volumes, describes them, hands the description to Options.Begin, runs
// the guest's before script, snapshots every volume, runs the after
// script, reads each snapshot through a temporary volume attached to the
// proxy into the sink, and removes everything it created, on success, on
// error and on cancellation alike (with a fresh, bounded context). Every
// resource is recorded in the job's journal before it is created.
func Run(ctx context.Context, o Options) (res *Result, err error) {
	start := time.Now()
	if o.Cloud == nil || o.Begin == nil {
		return nil, errors.New("snapshot: Options.Cloud and Options.Begin are required")
	}
	if o.VM == "" {
		return nil, errors.New("no VM given (--vm ID|NAME)")
	}
	if o.ProxyID == "" {
		return nil, errors.New("rubackup-vm-id is not set: the id of the proxy VM this module runs in is needed to attach the disks")
	}
	if o.JournalDir == "" {
		return nil, errors.New("snapshot: Options.JournalDir is required")
	}
	o.Timeouts.defaults()
	if o.DeviceDir == "" {
		o.DeviceDir = "/dev/disk/by-id"
	}
	if o.SysBlock == "" {
		o.SysBlock = "/sys/block"
	}
	if o.DevRoot == "" {
		o.DevRoot = "/dev"
	}
	if o.DiskParallelism <= 0 {
		o.DiskParallelism = 2
	}
	if o.Open == nil {
		o.Open = openDevice
	}
	if o.DevicePoll <= 0 {
		o.DevicePoll = 100 * time.Millisecond
	}
	if o.JobID == "" {
		o.JobID = journal.NewJobID()
	}
	j := &job{o: o, log: o.Log}
	if j.log == nil {
		j.log = logging.Discard()
	}
	j.jr, err = journal.Begin(o.JournalDir, o.JobID, "backup")
	if err != nil {
		return nil, err
	}
	j.cl = &cleaner{cloud: o.Cloud, t: o.Timeouts, jr: j.jr, log: j.log, job: o.JobID}
	j.log.Infof("job %s: backup of VM %s", o.JobID, o.VM)

	res = &Result{JobID: o.JobID}
	defer func() {
		// Cleanup runs on every path, even when ctx is canceled.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.Timeouts.cleanupBudget(len(j.res)))
		defer cancel()
		cerr := j.cl.run(cctx, j.resources())
		derr := j.jr.Done()
		res.Removed = j.cl.removed
		if cerr != nil || derr != nil {
			ce := &CleanupError{Err: errors.Join(cerr, derr)}
			j.log.Warnf("job %s: %v", o.JobID, ce)
			if err == nil {
				err = ce // the disks were read: the caller may keep the backup
			} else {
				err = errors.Join(err, ce)
			}
		}
		res.Duration = time.Since(start)
	}()

	srv, err := j.findServer(ctx)
	if err != nil {
		return res, err
	}
	if srv.ID == o.ProxyID {
		return res, fmt.Errorf("VM %s is the proxy VM (rubackup-vm-id) this module runs in; it cannot back itself up this way", srv.ID)
	}
	admin, err := o.Cloud.GetServerAdmin(ctx, srv.ID)
	switch {
	case errors.Is(err, api.ErrNoAdmin):
		admin = nil
		if o.Scripts != nil {
			j.log.Infof("no admin account (admin_name): guest scripts are not run")
		}
	case err != nil:
		return res, fmt.Errorf("read the admin view of VM %s (host, instance name): %w", srv.ID, err)
	}
	desc, vols, err := j.describe(ctx, srv, admin)
	if err != nil {
		return res, err
	}
	res.VM = desc
	sink, err := o.Begin(ctx, desc)
	if err != nil {
		return res, err
	}
	if so, ok := sink.(interface{ SetDiskOrder([]string) }); ok {
		labels := make([]string, len(desc.Disks))
		for i, d := range desc.Disks {
			labels[i] = d.Label
		}
		so.SetDiskOrder(labels) // boot order in the manifest, whatever order the reads finish in
	}

	var scripts Scripts
	if admin != nil && o.Scripts != nil && !strings.EqualFold(srv.Status, "ACTIVE") {
		// No guest is running to answer: its disks are at rest anyway.
		j.log.Infof("VM %s is %s: no guest scripts", srv.Name, srv.Status)
	} else if admin != nil && o.Scripts != nil {
		if scripts, err = o.Scripts(ctx, admin); err != nil {
			return res, fmt.Errorf("guest scripts of VM %s: %w", srv.Name, err)
		}
	}
	snaps, err := j.snapshotAll(ctx, scripts, vols, res)
	if err != nil {
		return res, err
	}
	disks, err := j.readAll(ctx, sink, desc, snaps)
	res.Disks = disks
	for _, d := range disks {
		res.BytesRead += d.Size
	}
	return res, err
}

func (j *job) add(r *resource) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.res = append(j.res, r)
}

func (j *job) resources() []*resource {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]*resource(nil), j.res...)
}

// findServer finds the VM by id, or else by its exact name.
func (j *job) findServer(ctx context.Context) (*api.Server, error) {
	c := j.o.Cloud
	if uuidRE.MatchString(j.o.VM) {
		srv, err := c.GetServer(ctx, j.o.VM)
		if err == nil {
			return srv, nil
		}
		if !api.IsNotFound(err) {
			return nil, fmt.Errorf("find VM %s: %w", j.o.VM, err)
		}
	}
	all, err := c.ListServers(ctx)
	if err != nil {
		return nil, fmt.Errorf("find VM %s: %w", j.o.VM, err)
	}
	var found []api.Server
	for _, s := range all {
		if s.Name == j.o.VM || s.ID == j.o.VM {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("VM %q not found in the project (rb_module_rustack -l lists the VMs)", j.o.VM)
	case 1:
		return &found[0], nil
	}
	ids := make([]string, len(found))
	for i, s := range found {
		ids[i] = s.ID
	}
	return nil, fmt.Errorf("%d VMs are named %q (%s): give the id with --vm", len(found), j.o.VM, strings.Join(ids, ", "))
}

// describe reads the flavor and the volumes (in boot order).
func (j *job) describe(ctx context.Context, srv, admin *api.Server) (*vmdesc.VM, []api.Volume, error) {
	c := j.o.Cloud
	d := &vmdesc.VM{
		Version: vmdesc.Version, ID: srv.ID, Name: srv.Name, Status: srv.Status, ProjectID: srv.ProjectID,
		Flavor:  vmdesc.Flavor{ID: srv.FlavorID, Name: srv.FlavorName},
		KeyName: srv.KeyName, AvailabilityZone: srv.AvailabilityZone,
		SecurityGroups: srv.SecurityGroups, Metadata: srv.Metadata, JobID: j.o.JobID,
	}
	for _, n := range srv.Networks {
		d.Networks = append(d.Networks, vmdesc.Network(n))
	}
	if admin != nil {
		d.Host, d.InstanceName = admin.Host, admin.InstanceName
	}
	if srv.FlavorID != "" {
		fl, err := c.GetFlavor(ctx, srv.FlavorID)
		switch {
		case err == nil:
			d.Flavor = vmdesc.Flavor{ID: fl.ID, Name: fl.Name, VCPUs: fl.VCPUs, RAM: fl.RAM, Disk: fl.Disk}
		case api.IsNotFound(err):
			j.log.Warnf("flavor %s of VM %s no longer exists; a restore will need another flavor", srv.FlavorID, srv.Name)
		default:
			return nil, nil, fmt.Errorf("read flavor %s of VM %s: %w", srv.FlavorID, srv.Name, err)
		}
	}
	if len(srv.VolumeIDs) == 0 {
		return nil, nil, fmt.Errorf("VM %s (%s) has no volumes: only volume-backed VMs can be backed up", srv.Name, srv.ID)
	}
	atts, err := c.ListAttachments(ctx, srv.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("list the volumes attached to VM %s: %w", srv.Name, err)
	}
	device := map[string]string{}
	for _, a := range atts {
		device[a.VolumeID] = a.Device
	}
	type vol struct {
		v     api.Volume
		dev   string
		order int
	}
	var vs []vol
	for i, id := range srv.VolumeIDs {
		v, err := c.GetVolume(ctx, id)
		if err != nil {
			return nil, nil, fmt.Errorf("read volume %s of VM %s: %w", id, srv.Name, err)
		}
		dev := device[id]
		if dev == "" {
			for _, a := range v.Attachments {
				if a.ServerID == srv.ID {
					dev = a.Device
				}
			}
		}
		vs = append(vs, vol{v: *v, dev: dev, order: i})
	}
	// Boot order: by device name (vda < vdb < ... < vdaa), volumes without
	// one last in Nova's order.
	sort.SliceStable(vs, func(a, b int) bool {
		da, db := vs[a].dev, vs[b].dev
		switch {
		case da == "" || db == "":
			return da != "" && db == ""
		case len(da) != len(db):
			return len(da) < len(db)
		default:
			return da < db
		}
	})
	out := make([]api.Volume, len(vs))
	for i, x := range vs {
		out[i] = x.v
		d.Disks = append(d.Disks, vmdesc.Disk{
			Label: x.v.ID, VolumeID: x.v.ID, Name: x.v.Name, Description: x.v.Description, Size: x.v.Size, SizeBytes: int64(x.v.Size) << 30,
			VolumeType: x.v.VolumeType, AvailabilityZone: x.v.AvailabilityZone, Bootable: x.v.Bootable,
			BootIndex: i, Device: x.dev, Metadata: x.v.Metadata,
		})
	}
	return d, out, nil
}

// snap is one snapshot taken, with its source volume.
type snap struct {
	vol api.Volume
	r   *resource
}

// snapshotAll runs before, snapshots every volume close together in time,
// waits until all are available and runs after (always, once before ran).
func (j *job) snapshotAll(ctx context.Context, scripts Scripts, vols []api.Volume, res *Result) (snaps []snap, err error) {
	if scripts != nil {
		// Once before was started, after always runs, even when before
		// failed or the job is canceled: the guest must be released.
		defer func() {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), j.o.Timeouts.Snapshot+j.o.Timeouts.Attach)
			defer cancel()
			j.log.Infof("running the guest's after script")
			if aerr := scripts.After(actx); aerr != nil {
				err = errors.Join(err, fmt.Errorf("guest script (after): %w", aerr))
			}
		}()
		j.log.Infof("running the guest's before script")
		res.Scripts = true
		if err := scripts.Before(ctx); err != nil {
			return nil, fmt.Errorf("guest script (before): %w", err)
		}
	}
	res.SnapshotTime = time.Now().UTC()
	res.VM.BackupTime = res.SnapshotTime
	for _, v := range vols {
		r := &resource{kind: journal.KindSnapshot, name: journal.Name(j.o.JobID, "snap", v.ID)}
		if r.entry, err = j.jr.Record(r.kind, r.name); err != nil {
			return nil, err
		}
		j.add(r)
		s, err := j.o.Cloud.CreateSnapshot(ctx, api.SnapshotCreate{
			VolumeID: v.ID, Name: r.name, Force: v.Status != "available",
			Description: fmt.Sprintf("rb_module_rustack backup job %s of volume %s; removed when the job ends", j.o.JobID, v.ID),
		})
		if err != nil {
			return nil, fmt.Errorf("snapshot volume %s (%s): %w", v.ID, v.Name, err)
		}
		r.id = s.ID
		if err := j.jr.Created(r.entry, s.ID); err != nil {
			return nil, err
		}
		snaps = append(snaps, snap{vol: v, r: r})
	}
	for _, s := range snaps {
		if _, err := j.o.Cloud.WaitSnapshot(ctx, s.r.id, j.o.Timeouts.Snapshot, "available"); err != nil {
			s.r.stuck = j.timedOut(err)
			return nil, fmt.Errorf("snapshot %s of volume %s: %w (snapshot_creation_timeout %s)", s.r.id, s.vol.ID, err, j.o.Timeouts.Snapshot)
		}
	}
	j.log.Infof("%d snapshot(s) available", len(snaps))
	return snaps, nil
}

// timedOut reports whether err is a wait that ran out of time; the job's
// cleanup then stops waiting for statuses to settle.
func (j *job) timedOut(err error) bool {
	var se *api.StatusError
	if errors.As(err, &se) && se.TimedOut {
		j.cl.noSettle.Store(true)
		return true
	}
	return false
}

// readAll reads the disks, DiskParallelism at a time; the first error
// cancels the others.
func (j *job) readAll(ctx context.Context, sink Sink, desc *vmdesc.VM, snaps []snap) ([]DiskResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		sem   = make(chan struct{}, j.o.DiskParallelism)
		mu    sync.Mutex
		errs  []error
		out   = make([]DiskResult, len(snaps))
		pmu   sync.Mutex // serializes Progress calls
		total int64
	)
	for i, s := range snaps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			// The sink reports the bytes read by the whole backup so far
			// (all disks); pass on the highest value seen.
			progress := func(n int64) {
				pmu.Lock()
				defer pmu.Unlock()
				if n > total {
					total = n
					if j.o.Progress != nil {
						j.o.Progress(total)
					}
				}
			}
			dr, err := j.readDisk(ctx, sink, desc.Disks[i].Label, s, progress)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				cancel()
				return
			}
			out[i] = dr
		}()
	}
	wg.Wait()
	if len(errs) == 0 {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		// Report the first real error, not the cancellations it caused.
		for _, e := range errs {
			if !errors.Is(e, context.Canceled) {
				return nil, e
			}
		}
		return nil, errs[0]
	}
	return out, nil
}

// readDisk makes a temporary volume from the snapshot, attaches it to the
// proxy, finds the device, hands it to the sink and removes the temporary
// volume and the snapshot again.
func (j *job) readDisk(ctx context.Context, sink Sink, label string, s snap, progress func(int64)) (dr DiskResult, err error) {
	c := j.o.Cloud
	vol := &resource{kind: journal.KindVolume, name: journal.Name(j.o.JobID, "tmp", s.vol.ID)}
	att := &resource{kind: journal.KindAttachment, name: vol.name, server: j.o.ProxyID}
	defer func() {
		// Release this disk's resources now rather than at the end of the job.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), j.o.Timeouts.cleanupBudget(1))
		defer cancel()
		if cerr := j.cl.run(cctx, []*resource{att, vol, s.r}); cerr != nil {
			j.log.Warnf("disk %s: %v", label, cerr)
		}
	}()
	if vol.entry, err = j.jr.Record(vol.kind, vol.name); err != nil {
		return dr, err
	}
	j.add(vol)
	v, err := c.CreateVolume(ctx, api.VolumeCreate{
		Name: vol.name, SnapshotID: s.r.id, Size: s.vol.Size,
		Description: fmt.Sprintf("rb_module_rustack backup job %s: temporary copy of volume %s; removed when the job ends", j.o.JobID, s.vol.ID),
	})
	if err != nil {
		return dr, fmt.Errorf("create a temporary volume from snapshot %s: %w", s.r.id, err)
	}
	vol.id = v.ID
	if err := j.jr.Created(vol.entry, v.ID); err != nil {
		return dr, err
	}
	if _, err := c.WaitVolume(ctx, v.ID, j.o.Timeouts.Volume, "available"); err != nil {
		vol.stuck = j.timedOut(err)
		return dr, fmt.Errorf("temporary volume %s: %w (volume_creation_timeout %s)", v.ID, err, j.o.Timeouts.Volume)
	}
	att.id = v.ID
	if att.entry, err = j.jr.RecordAttachment(j.o.ProxyID, v.ID, vol.name); err != nil {
		return dr, err
	}
	j.add(att)
	attachStart := time.Now()
	if _, err := c.AttachVolume(ctx, j.o.ProxyID, v.ID); err != nil {
		return dr, fmt.Errorf("attach temporary volume %s to the proxy VM %s: %w", v.ID, j.o.ProxyID, err)
	}
	if _, err := c.WaitVolume(ctx, v.ID, j.o.Timeouts.Attach, "in-use"); err != nil {
		att.stuck = j.timedOut(err)
		return dr, fmt.Errorf("attach temporary volume %s to the proxy VM %s: %w (volume_attachment_timeout %s)", v.ID, j.o.ProxyID, err, j.o.Timeouts.Attach)
	}
	path, err := j.findDevice(ctx, v.ID, attachStart.Add(j.o.Timeouts.Attach))
	if err != nil {
		return dr, err
	}
	j.log.Infof("disk %s: volume %s -> snapshot %s -> temporary volume %s at %s", label, s.vol.ID, s.r.id, v.ID, path)
	dev, err := j.o.Open(path)
	if err != nil {
		return dr, fmt.Errorf("open device %s: %w", path, err)
	}
	defer dev.Close()
	size, err := dev.Seek(0, io.SeekEnd)
	if err != nil {
		return dr, fmt.Errorf("size of device %s: %w", path, err)
	}
	start := time.Now()
	if err := sink.AddDisk(ctx, label, dev, size, progress); err != nil {
		return dr, fmt.Errorf("read disk %s (volume %s) from %s: %w", label, s.vol.ID, path, err)
	}
	if err := ctx.Err(); err != nil {
		return dr, err
	}
	return DiskResult{Label: label, VolumeID: s.vol.ID, Device: path, Size: size, Duration: time.Since(start)}, nil
}
