package restore

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/snapshot"
)

// DeviceFinder locates the block device of a volume attached to the proxy VM.
// udev names it after the volume's serial, the first 20 characters of the
// volume id: <dir>/virtio-<serial>, or <dir>/scsi-0QEMU_QEMU_HARDDISK_<serial>
// on virtio-scsi; SysBlock (normally /sys/block) is scanned as a last resort
// for a device whose serial matches. Nova's "device" field is not used: it
// is unreliable. Find polls until the device appears or timeout passes.
type DeviceFinder struct {
	Dir      string // device_dir, normally /dev/disk/by-id
	SysBlock string // "" = /sys/block; "-" = do not scan
	DevDir   string // where /sys/block names live; "" = /dev
}

// serial is what the guest sees as the disk's serial number.
func serial(volumeID string) string {
	if len(volumeID) > 20 {
		return volumeID[:20]
	}
	return volumeID
}

// Find returns the path of the device of volumeID.
func (f DeviceFinder) Find(ctx context.Context, volumeID string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for attempt := 0; ; attempt++ {
		if p := f.lookup(volumeID); p != "" {
			return p, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return "", fmt.Errorf("the device of volume %s did not appear as %s within %s: "+
				"check device_dir in the configuration and that the module runs in the VM named by rubackup-vm-id",
				volumeID, filepath.Join(f.Dir, "virtio-"+serial(volumeID)), timeout)
		}
		t := time.NewTimer(min(api.PollInterval(attempt)/2, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("wait for the device of volume %s: %w", volumeID, ctx.Err())
		case <-t.C:
		}
	}
}

func (f DeviceFinder) lookup(volumeID string) string {
	s := serial(volumeID)
	for _, name := range snapshot.DeviceCandidates(volumeID) { // the names the backup looks for
		p := filepath.Join(f.Dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	sys := f.SysBlock
	switch sys {
	case "-":
		return ""
	case "":
		sys = "/sys/block"
	}
	ents, err := os.ReadDir(sys)
	if err != nil {
		return ""
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(sys, e.Name(), "serial"))
		if err != nil || string(bytes.TrimSpace(b)) != s {
			continue
		}
		dev := f.DevDir
		if dev == "" {
			dev = "/dev"
		}
		p := filepath.Join(dev, e.Name())
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}
