package main

import (
	"context"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/blockdev"
	"rb_module_rustack/internal/journal"
	"rb_module_rustack/internal/restore"
)

// restoreEnv is what a cloud restore needs from the configuration: the
// cloud, the archive chain, the journal.
type restoreEnv struct {
	cloud    restore.Cloud
	source   restore.DiskSource
	manifest *archive.Manifest
	journal  restore.Journal
	jobID    string
	logf     func(string, ...any)
	closers  []func()
}

func (e *restoreEnv) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

// openRestoreEnv reads the configuration (the cloud keys are required),
// opens the repository and the archive, logs in, and starts the job's
// journal. It fills the request's proxy, device and timeout options.
func openRestoreEnv(ctx context.Context, cmd *cobra.Command, a *app, req *cloudRequest) (env *restoreEnv, err error) {
	cfg, err := a.loadConfig("restore")
	if err != nil {
		return nil, err
	}
	env = &restoreEnv{}
	defer func() {
		if err != nil {
			env.close()
		}
	}()
	log := a.openLogOrStderr(cfg)
	env.closers = append(env.closers, func() { log.Close() })
	env.logf = log.Infof

	repo, _, err := a.openRepo(cmd, false)
	if err != nil {
		return nil, err
	}
	env.closers = append(env.closers, func() { repo.Close() })
	if env.manifest, err = repo.Load(ctx, req.archive); err != nil {
		return nil, engineExit(err)
	}
	env.source = repo

	cloud, err := connect(ctx, cfg, &onceWarnings{Logger: log}, false)
	if err != nil {
		return nil, err
	}
	env.cloud = cloud

	env.jobID = journal.NewJobID()
	j, err := journal.Begin(journal.Dir(cfg.StateDir), env.jobID, "restore")
	if err != nil {
		return nil, withCode(exitFailure, err)
	}
	env.journal = j
	env.closers = append(env.closers, func() {
		if err := j.Done(); err != nil {
			log.Warnf("%v", err)
		}
	})

	req.opts.ProxyVMID = cfg.ProxyVMID
	req.opts.Devices = blockdev.Finder{Dir: cfg.DeviceDir}
	req.opts.VolumeTimeout = cfg.VolumeCreationTimeout
	req.opts.AttachTimeout = cfg.VolumeAttachmentTimeout
	req.opts.DiskParallelism = cfg.DiskParallelism
	log.Infof("restore job %s: archive %s (%s, VM %s %s) into the cloud", env.jobID, env.manifest.ID,
		env.manifest.Type, env.manifest.VMName, env.manifest.VMID)
	return env, nil
}
