package snapshot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// serial is what the guest sees as a volume's serial: the first 20
// characters of its id.
func serial(volumeID string) string {
	if len(volumeID) > 20 {
		return volumeID[:20]
	}
	return volumeID
}

// DeviceCandidates are the by-id names of a volume, in the order they are
// tried: virtio-<serial>, then scsi-0QEMU_QEMU_HARDDISK_<serial>.
func DeviceCandidates(volumeID string) []string {
	s := serial(volumeID)
	return []string{"virtio-" + s, "scsi-0QEMU_QEMU_HARDDISK_" + s}
}

// lookDevice looks once for the device of a volume: the by-id names in
// deviceDir, then a /sys/block/*/serial scan. "" when not there yet.
func lookDevice(deviceDir, sysBlock, devRoot, volumeID string) string {
	for _, n := range DeviceCandidates(volumeID) {
		p := filepath.Join(deviceDir, n)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	want := serial(volumeID)
	files, _ := filepath.Glob(filepath.Join(sysBlock, "*", "serial"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil || strings.TrimSpace(string(b)) != want {
			continue
		}
		p := filepath.Join(devRoot, filepath.Base(filepath.Dir(f)))
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// findDevice polls for the device of an attached volume until deadline.
func (j *job) findDevice(ctx context.Context, volumeID string, deadline time.Time) (string, error) {
	for {
		if p := lookDevice(j.o.DeviceDir, j.o.SysBlock, j.o.DevRoot, volumeID); p != "" {
			return p, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			names := DeviceCandidates(volumeID)
			return "", fmt.Errorf("the device of volume %s did not appear in %s (%s or %s) nor in %s/*/serial within volume_attachment_timeout %s; check device_dir in the configuration and that rubackup-vm-id is this VM",
				volumeID, j.o.DeviceDir, names[0], names[1], j.o.SysBlock, j.o.Timeouts.Attach)
		}
		t := time.NewTimer(min(j.o.DevicePoll, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("wait for the device of volume %s: %w", volumeID, ctx.Err())
		case <-t.C:
		}
	}
}
