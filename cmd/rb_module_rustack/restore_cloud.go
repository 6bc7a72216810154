package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// restoreCloudOpts are the flags of a restore into the cloud
// (--deploy, --volume-only and their overrides).
// SKELETON: owned by the cloud-restore work.
type restoreCloudOpts struct {
	deploy     bool
	volumeOnly bool
}

// addRestoreCloudFlags registers the cloud-restore flags on the restore command.
func addRestoreCloudFlags(cmd *cobra.Command, o *restoreCloudOpts) {
	cmd.Flags().BoolVar(&o.deploy, "deploy", false, "recreate the VM in the cloud")
	cmd.Flags().BoolVar(&o.volumeOnly, "volume-only", false, "restore one disk (--disk) into a new volume")
}

// wanted reports whether the user asked for a cloud restore.
func (o *restoreCloudOpts) wanted() bool { return o.deploy || o.volumeOnly }

// runRestoreCloud restores archive into the cloud.
func runRestoreCloud(cmd *cobra.Command, a *app, archive string, o *restoreCloudOpts) error {
	return withCode(exitFailure, errors.New("restore --deploy: not yet available"))
}
