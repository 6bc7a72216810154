package deploy

import (
	"context"
	"fmt"
	"strings"

	"rb_module_rustack/internal/restore"
)

// VolumeOnly restores one disk (o.Disk) of the archive into one new,
// available volume, named o.VolumeName or <vm>-<label>-restored-<date>.
// The volume keeps the recorded bootable flag; no server is created. On
// failure the volume is removed unless o.KeepPartial.
func VolumeOnly(ctx context.Context, o Options) (*Result, error) {
	vm, err := o.prepare()
	if err != nil {
		return nil, err
	}
	var disk *restore.Disk
	labels := make([]string, 0, len(vm.Disks))
	for i := range vm.Disks {
		labels = append(labels, vm.Disks[i].Label)
		if vm.Disks[i].Label == o.Disk {
			disk = &vm.Disks[i]
		}
	}
	switch {
	case o.Disk == "" && len(vm.Disks) == 1:
		disk = &vm.Disks[0]
	case o.Disk == "":
		return nil, fmt.Errorf("archive %s holds %d disks: choose one with --disk (%s)",
			o.Manifest.ID, len(vm.Disks), strings.Join(labels, ", "))
	case disk == nil:
		return nil, fmt.Errorf("archive %s has no disk %q (disks: %s)", o.Manifest.ID, o.Disk, strings.Join(labels, ", "))
	}
	start := o.Now()
	name := o.VolumeName
	if name == "" {
		name = restore.SingleVolumeName(vm.Name, disk.Label, start)
	}
	p, err := restore.PlanVolume(ctx, o.Cloud, vm, *disk, name, o.planOptions())
	if err != nil {
		return nil, err
	}
	dp := &p.Disks[0]
	res := &Result{Archive: o.Manifest.ID, SkipZeroWrites: o.SkipZeroWrites}
	l := newLedger(o.Cloud, &o)

	err = func() error {
		o.Progress(Event{Stage: "volume", Disk: dp.Label, Msg: fmt.Sprintf("creating volume %s (%d GiB)", dp.Name, dp.Size)})
		v, err := createVolume(ctx, &o, l, p, dp)
		if err != nil {
			return err
		}
		if v, err = o.Cloud.WaitVolume(ctx, v.ID, o.VolumeTimeout, "available"); err != nil {
			return fmt.Errorf("new volume for disk %s: %w", dp.Label, err)
		}
		res.Volumes = []RestoredVolume{{Label: dp.Label, ID: v.ID, Name: dp.Name, SizeGiB: dp.Size,
			VolumeType: v.VolumeType, AvailabilityZone: v.AvailabilityZone, Bootable: dp.Bootable || dp.BootIndex == 0,
			BootIndex: -1, Bytes: dp.Bytes}}
		w, err := writeDisk(ctx, &o, l, dp.Disk, v.ID, dp.Name)
		if err != nil {
			return err
		}
		res.Volumes[0].WriteSeconds, res.WriteSeconds, res.Bytes = w.secs, w.secs, dp.Bytes
		res.Volumes[0].ZeroedBytes, res.ZeroedBytes = w.zeroed, w.zeroed
		if res.Volumes[0].Bootable {
			if err := o.Cloud.SetBootable(ctx, v.ID, true); err != nil {
				return fmt.Errorf("mark volume %s bootable: %w", v.ID, err)
			}
		}
		return nil
	}()
	res.Notes = p.Notes
	res.Seconds = o.Now().Sub(start).Seconds()
	if err == nil {
		l.handOver()
		o.Progress(Event{Stage: "done", Msg: fmt.Sprintf("volume %s (%s) is available", dp.Name, res.Volumes[0].ID)})
		return res, nil
	}
	return finishFailed(ctx, &o, l, res, fmt.Errorf("restore of disk %s from archive %s: %w", dp.Label, o.Manifest.ID, err))
}
