package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/restore"
)

// Deploy recreates the archived VM: one new volume per disk, written through
// the proxy VM, and a server booted from them. On failure (including a
// canceled ctx) it removes what it created unless o.KeepPartial; the error
// then says what was removed or kept, and what to fix. After a failure the
// Result is non-nil only when something is left in place (Partial set).
func Deploy(ctx context.Context, o Options) (*Result, error) {
	vm, err := o.prepare()
	if err != nil {
		return nil, err
	}
	start := o.Now()
	c := o.Cloud
	o.Progress(Event{Stage: "plan", Msg: "checking flavor, networks and name"})
	p, err := restore.PlanServer(ctx, c, vm, o.planOptions())
	if err != nil {
		return nil, err
	}

	res := &Result{Archive: o.Manifest.ID, ServerName: p.Name, Flavor: p.Flavor.Name,
		Networks: p.Networks, SkipZeroWrites: o.SkipZeroWrites}
	l := newLedger(c, &o)
	err = deploy(ctx, &o, l, p, res)
	res.Notes = p.Notes
	res.Seconds = o.Now().Sub(start).Seconds()
	if err == nil {
		l.handOver()
		o.Progress(Event{Stage: "done", Msg: fmt.Sprintf("server %s (%s) is ACTIVE", res.ServerName, res.ServerID)})
		return res, nil
	}
	return finishFailed(ctx, &o, l, res, fmt.Errorf("restore of VM %q from archive %s: %w", vm.Name, o.Manifest.ID, err))
}

func deploy(ctx context.Context, o *Options, l *ledger, p *restore.Plan, res *Result) error {
	c := o.Cloud
	vols, err := createVolumes(ctx, o, l, p)
	if err != nil {
		return err
	}
	for i := range p.Disks {
		dp := &p.Disks[i]
		res.Volumes = append(res.Volumes, RestoredVolume{Label: dp.Label, ID: vols[i].ID, Name: dp.Name,
			SizeGiB: dp.Size, VolumeType: vols[i].VolumeType, AvailabilityZone: vols[i].AvailabilityZone,
			BootIndex: dp.BootIndex, Bootable: dp.BootIndex == 0 || dp.Bootable, Bytes: dp.Bytes})
	}
	ws, err := writeDisks(ctx, o, l, p.Disks, vols)
	if err != nil {
		return err
	}
	for i, w := range ws {
		res.Volumes[i].WriteSeconds, res.Volumes[i].ZeroedBytes = w.secs, w.zeroed
		res.WriteSeconds = max(res.WriteSeconds, w.end.Sub(ws[0].start).Seconds())
		res.ZeroedBytes += w.zeroed
		res.Bytes += p.Disks[i].Bytes
	}
	var bds []api.BlockDevice
	for _, rv := range res.Volumes {
		if rv.Bootable {
			if err := c.SetBootable(ctx, rv.ID, true); err != nil {
				return fmt.Errorf("mark volume %s bootable: %w", rv.ID, err)
			}
		}
		bds = append(bds, api.BlockDevice{VolumeID: rv.ID, BootIndex: rv.BootIndex})
	}

	o.Progress(Event{Stage: "server", Msg: fmt.Sprintf("booting server %s (flavor %s)", p.Name, p.Flavor.Name)})
	req := api.ServerCreate{Name: p.Name, FlavorID: p.Flavor.ID, Networks: p.Networks, KeyName: p.KeyName,
		SecurityGroups: p.SecurityGroups, Metadata: p.Metadata, AvailabilityZone: p.Zone, BlockDevices: bds}
	s, err := l.createServer(ctx, req)
	if err != nil {
		return fmt.Errorf("create server %s: %w%s", p.Name, err, hint(err))
	}
	res.ServerID = s.ID
	if _, err := c.WaitServer(ctx, s.ID, o.ServerTimeout, "ACTIVE"); err != nil {
		return fmt.Errorf("server %s (%s) did not become ACTIVE: %w%s", p.Name, s.ID, err, hint(err))
	}
	return nil
}

// createVolumes creates every volume of the plan (all requests first, then
// the waits) and returns them in plan order.
func createVolumes(ctx context.Context, o *Options, l *ledger, p *restore.Plan) ([]*api.Volume, error) {
	vols := make([]*api.Volume, len(p.Disks))
	for i := range p.Disks {
		dp := &p.Disks[i]
		o.Progress(Event{Stage: "volume", Disk: dp.Label, Msg: fmt.Sprintf("creating volume %s (%d GiB)", dp.Name, dp.Size)})
		v, err := createVolume(ctx, o, l, p, dp)
		if err != nil {
			return nil, err
		}
		vols[i] = v
	}
	for i, v := range vols {
		w, err := o.Cloud.WaitVolume(ctx, v.ID, o.VolumeTimeout, "available")
		if err != nil {
			return nil, fmt.Errorf("new volume %s for disk %s: %w", v.ID, p.Disks[i].Label, err)
		}
		vols[i] = w
	}
	return vols, nil
}

// createVolume creates the volume of one disk. A recorded volume type or
// zone that could not be checked up front and that the cloud refuses is
// dropped (with a note) and the create retried once.
func createVolume(ctx context.Context, o *Options, l *ledger, p *restore.Plan, dp *restore.DiskPlan) (*api.Volume, error) {
	req := api.VolumeCreate{Name: dp.Name, Size: dp.Size, VolumeType: dp.Type, AvailabilityZone: dp.Zone,
		Description: fmt.Sprintf("disk %s of VM %s restored from archive %s by rb_module_rustack",
			dp.Label, cmp.Or(o.Manifest.VMName, o.Manifest.VMID), o.Manifest.ID)}
	if o.JobID != "" {
		req.Metadata = map[string]string{MetaJob: o.JobID}
	}
	v, err := l.createVolume(ctx, req)
	if err != nil && !dp.TypeChecked && dp.Type != "" && api.IsNotFound(err) {
		p.Note("disk %s: volume type %q no longer exists: the default type is used (give --volume-type)", dp.Label, dp.Type)
		req.VolumeType, dp.Type = "", ""
		v, err = l.createVolume(ctx, req)
	}
	if err != nil && !dp.ZoneChecked && dp.Zone != "" && strings.Contains(strings.ToLower(err.Error()), "availability zone") {
		p.Note("disk %s: volume availability zone %q is refused: the default zone is used (give --volume-availability-zone)", dp.Label, dp.Zone)
		req.AvailabilityZone, dp.Zone = "", ""
		v, err = l.createVolume(ctx, req)
	}
	if err != nil {
		return nil, fmt.Errorf("create a %d GiB volume for disk %s: %w%s", dp.Size, dp.Label, err, hint(err))
	}
	return v, nil
}

// written is what writing one disk did.
type written struct {
	secs       float64 // writing and flushing
	zeroed     int64   // bytes zeroed by the kernel (zero ranges) instead of written
	start, end time.Time
}

// writeDisks writes every disk into its volume, o.DiskParallelism disks at a
// time (each attached to the proxy, written, detached). The first failure
// cancels the others; every one has finished (and detached when it could)
// when writeDisks returns.
func writeDisks(ctx context.Context, o *Options, l *ledger, disks []restore.DiskPlan, vols []*api.Volume) ([]written, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([]written, len(disks))
	errs := make([]error, len(disks))
	sem := make(chan struct{}, o.DiskParallelism)
	var wg sync.WaitGroup
	for i := range disks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			out[i], errs[i] = writeDisk(ctx, o, l, disks[i].Disk, vols[i].ID, disks[i].Name)
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	// The first real error, not the cancellations it caused.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	start := out[0].start
	for _, w := range out {
		if w.start.Before(start) {
			start = w.start
		}
	}
	for i := range out {
		out[i].start = start
	}
	return out, nil
}

// writeDisk attaches a volume to the proxy, writes the disk into its device,
// flushes it and detaches it.
func writeDisk(ctx context.Context, o *Options, l *ledger, d restore.Disk, volumeID, name string) (written, error) {
	o.Progress(Event{Stage: "attach", Disk: d.Label, Msg: "attaching volume " + volumeID + " to the proxy VM"})
	if err := l.attach(ctx, volumeID, name); err != nil {
		return written{}, fmt.Errorf("%w%s", err, hint(err))
	}
	if _, err := o.Cloud.WaitVolume(ctx, volumeID, o.AttachTimeout, "in-use"); err != nil {
		return written{}, fmt.Errorf("attach volume %s to the proxy VM: %w", volumeID, err)
	}
	path, err := o.Devices.Find(ctx, volumeID, o.AttachTimeout)
	if err != nil {
		return written{}, err
	}
	start := time.Now()
	zeroed, err := restore.WriteDevice(ctx, o.Source, o.Manifest, d, path, restore.DeviceOptions{
		SkipHoles: o.SkipZeroWrites, PlainZeroWrites: o.PlainZeroWrites,
		Progress: func(done, total int64) { o.Progress(Event{Stage: "write", Disk: d.Label, Done: done, Total: total}) },
	})
	if err != nil {
		return written{}, err
	}
	end := time.Now()
	w := written{secs: end.Sub(start).Seconds(), zeroed: zeroed, start: start, end: end}
	o.Progress(Event{Stage: "detach", Disk: d.Label, Msg: "detaching volume " + volumeID})
	if err := l.detach(ctx, volumeID); err != nil {
		return w, err
	}
	return w, nil
}

// finishFailed rolls back (or keeps, detached) what a failed restore made.
func finishFailed(ctx context.Context, o *Options, l *ledger, res *Result, err error) (*Result, error) {
	if o.KeepPartial {
		// Even a kept volume is detached from the proxy: the proxy must not
		// collect attachments.
		rctx := context.WithoutCancel(ctx)
		for _, v := range l.volumes {
			if l.attached(v.id) {
				_ = l.detachForRollback(rctx, v.id)
			}
		}
		kept := l.kept()
		l.handOver()
		res.Partial = true
		if len(kept) == 0 {
			return res, err
		}
		return res, fmt.Errorf("%w\nkept (--keep-partial): %s", err, strings.Join(kept, "; "))
	}
	if l.server == "" && l.serverN == "" && len(l.volumes) == 0 && len(l.pending) == 0 {
		return nil, err
	}
	o.Progress(Event{Stage: "rollback", Msg: "removing what this restore created"})
	left := l.rollback(ctx)
	if len(left) > 0 {
		res.Partial = true
		return res, fmt.Errorf("%w\nrollback could not remove: %s\nremove them by hand, or run `rb_module_rustack cleanup` (the journal lists them)",
			err, strings.Join(left, "; "))
	}
	return nil, fmt.Errorf("%w\n(everything this restore created was removed)", err)
}

// hint suggests what to do about an error the cloud returned.
func hint(err error) string {
	s := strings.ToLower(err.Error())
	switch {
	case strings.Contains(s, "quota") || strings.Contains(s, "limitexceeded") || strings.Contains(s, "limit exceeded") ||
		strings.Contains(s, "413"):
		return ": the project's quota is too low for this restore; raise it (openstack quota set) or delete unused volumes/servers, then restore again"
	case strings.Contains(s, "no valid host") || strings.Contains(s, "no valid backend"):
		return ": the cloud found no host or storage backend with room; free capacity or choose another --flavor / --volume-type / --availability-zone"
	}
	return ""
}
