package main

import (
	"context"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/blockdev"
	"rb_module_rustack/internal/journal"
	"rb_module_rustack/internal/logging"
)

// restoreEnv is what a cloud restore holds open: the log and the repository.
type restoreEnv struct {
	log     *logging.Logger
	closers []func()
}

func (e *restoreEnv) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

// openRestoreEnv reads the configuration (the cloud keys are required),
// opens the log, the repository and the archive, and logs in. It completes
// the request's options from the configuration.
func openRestoreEnv(ctx context.Context, cmd *cobra.Command, a *app, req *cloudRequest) (env *restoreEnv, err error) {
	cfg, err := a.loadConfig("restore")
	if err != nil {
		return nil, err
	}
	// "return nil, err" sets env to nil before the deferred close runs:
	// everything is opened and closed through e.
	e := &restoreEnv{}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	e.log = a.openLogOrStderr(cfg)
	a.warnConfig(cfg, e.log)
	e.closers = append(e.closers, func() { e.log.Close() })
	repo, _, err := a.openRepoToRead(cmd, req.archive)
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func() { repo.Close() })
	m, err := repo.Load(ctx, req.archive)
	if err != nil {
		return nil, engineExit(err)
	}
	cloud, err := connect(ctx, cfg, &logging.OnceWarnings{Log: e.log}, false)
	if err != nil {
		return nil, err
	}
	o := &req.opts
	o.Cloud, o.Source, o.Manifest = cloud, repo, m
	o.ProxyVMID, o.Devices, o.DiskParallelism = cfg.ProxyVMID, blockdev.Finder{Dir: cfg.DeviceDir}, cfg.DiskParallelism
	o.VolumeTimeout, o.AttachTimeout = cfg.VolumeCreationTimeout, cfg.VolumeAttachmentTimeout
	req.journalDir = journal.Dir(cfg.StateDir)
	return e, nil
}
