package blockdev

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Serial is what the guest sees as a volume's serial number: the first 20
// characters of its id.
func Serial(volumeID string) string {
	if len(volumeID) > 20 {
		return volumeID[:20]
	}
	return volumeID
}

// Candidates are the by-id names of a volume, in the order they are tried:
// virtio-<serial>, then scsi-0QEMU_QEMU_HARDDISK_<serial>.
func Candidates(volumeID string) []string {
	s := Serial(volumeID)
	return []string{"virtio-" + s, "scsi-0QEMU_QEMU_HARDDISK_" + s}
}

// Finder locates the device of a volume attached to this VM.
type Finder struct {
	Dir      string // device_dir, normally /dev/disk/by-id
	SysBlock string // "" = /sys/block; "-" = do not scan
	DevRoot  string // where /sys/block names live; "" = /dev
	// Poll is the pause between two looks; 0 = 50 ms, doubling up to 500 ms.
	Poll time.Duration
}

// NotFoundError is Find's error when the device did not appear in time.
type NotFoundError struct {
	VolumeID string
	Dir      string
	SysBlock string // the directory scanned ("-" when none)
	Timeout  time.Duration
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("the device of volume %s did not appear as %s within %s: "+
		"check device_dir in the configuration and that the module runs in the VM named by rubackup-vm-id",
		e.VolumeID, filepath.Join(e.Dir, Candidates(e.VolumeID)[0]), e.Timeout)
}

// Find polls until the device of volumeID appears (its path) or timeout
// passes (a *NotFoundError), or ctx ends.
func (f Finder) Find(ctx context.Context, volumeID string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for attempt := 0; ; attempt++ {
		if p := f.Look(volumeID); p != "" {
			return p, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return "", &NotFoundError{VolumeID: volumeID, Dir: f.Dir, SysBlock: f.sysBlock(), Timeout: timeout}
		}
		pause := f.Poll
		if pause <= 0 {
			pause = min(50*time.Millisecond<<min(attempt, 4), 500*time.Millisecond)
		}
		t := time.NewTimer(min(pause, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("wait for the device of volume %s: %w", volumeID, ctx.Err())
		case <-t.C:
		}
	}
}

func (f Finder) sysBlock() string {
	if f.SysBlock == "" {
		return "/sys/block"
	}
	return f.SysBlock
}

// Look looks once: the by-id names in Dir, then the /sys/block serial
// scan. "" when the device is not there (yet).
func (f Finder) Look(volumeID string) string {
	for _, name := range Candidates(volumeID) {
		p := filepath.Join(f.Dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	sys := f.sysBlock()
	if sys == "-" {
		return ""
	}
	ents, err := os.ReadDir(sys)
	if err != nil {
		return ""
	}
	s := Serial(volumeID)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(sys, e.Name(), "serial"))
		if err != nil || string(bytes.TrimSpace(b)) != s {
			continue
		}
		dev := f.DevRoot
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
