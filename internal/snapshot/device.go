package snapshot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"rb_module_rustack/internal/blockdev"
)

// findDevice polls for the device of an attached volume until deadline.
func (j *job) findDevice(ctx context.Context, volumeID string, deadline time.Time) (string, error) {
	f := blockdev.Finder{Dir: j.o.DeviceDir, SysBlock: j.o.SysBlock, DevRoot: j.o.DevRoot, Poll: j.o.DevicePoll}
	p, err := f.Find(ctx, volumeID, time.Until(deadline))
	var nf *blockdev.NotFoundError
	if errors.As(err, &nf) {
		names := blockdev.Candidates(volumeID)
		return "", fmt.Errorf("the device of volume %s did not appear in %s (%s or %s) nor in %s/*/serial within volume_attachment_timeout %s; check device_dir in the configuration and that rubackup-vm-id is this VM",
			volumeID, j.o.DeviceDir, names[0], names[1], j.o.SysBlock, j.o.Timeouts.Attach)
	}
	return p, err
}
