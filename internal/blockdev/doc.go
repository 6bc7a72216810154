// Package blockdev finds the block device of a cloud volume attached to the
// VM this module runs in. udev names a virtio disk after its serial, the
// first 20 characters of the volume id: <dir>/virtio-<serial>, or
// <dir>/scsi-0QEMU_QEMU_HARDDISK_<serial> on virtio-scsi; /sys/block/*/serial
// is scanned as a last resort. Nova's "device" field is not used: it is
// unreliable.
//
// It owns the names and the polling; it does not know the cloud API, the
// backup or the restore that attached the volume, nor the configuration
// (the caller passes device_dir and the timeout).
package blockdev
