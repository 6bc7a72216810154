package backup

import (
	"context"
	"time"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/logging"
	"rb_module_rustack/internal/snapshot"
	"rb_module_rustack/internal/vmdesc"
)

// VMOptions describe one backup of a cloud VM.
type VMOptions struct {
	Type archive.Type
	// Snapshot drives the cloud side (the VM, the proxy, the journal, the
	// timeouts, the guest scripts, the log); its Begin is set by VM.
	Snapshot snapshot.Options
	// Note is called when the archive begun has a note (for example "no
	// full backup to build on: this one is full"); the log gets it too.
	Note func(note string)
	// StrictCleanup fails the backup when only the cleanup of the cloud
	// resources failed. Otherwise such a backup is complete and kept, and
	// VMResult.Warning says what is left for the next sweep.
	StrictCleanup bool
	// DiskProgress, if set, is told the bytes read of each disk.
	DiskProgress DiskProgress
}

// VMResult describes a VM backup.
type VMResult struct {
	Run     *snapshot.Result // the cloud side: job, VM description, disks read, resources removed
	Archive *archive.Summary // the committed archive
	Note    string           // the archive's note, if any
	Warning string           // the cleanup was incomplete (the backup is kept)
	Took    time.Duration    // the whole job: snapshots, reads, cleanup, commit
	// Read is set when every disk was read: an error returned with it is
	// the commit's.
	Read bool
}

// VM backs up one VM into repo. On error nothing of the backup is kept
// (the archive is aborted) and the cloud resources of the job are removed;
// the result returned with an error says how far it got.
func VM(ctx context.Context, repo *archive.Repo, o VMOptions) (res *VMResult, err error) {
	log := o.Snapshot.Log
	if log == nil {
		log = logging.Discard()
	}
	log.Infof("backup of VM %s (%s) requested", o.Snapshot.VM, o.Type)
	var b *archive.Backup
	defer func() {
		if b != nil && err != nil {
			if aerr := b.Abort(); aerr != nil {
				log.Warnf("abort archive: %v", aerr)
			}
		}
	}()
	so := o.Snapshot
	so.Begin = func(ctx context.Context, d *vmdesc.VM) (snapshot.Sink, error) {
		raw, err := d.Marshal()
		if err != nil {
			return nil, err
		}
		b, err = repo.Begin(ctx, archive.BackupSpec{VMID: d.ID, VMName: d.Name, Type: o.Type, VM: raw, JobID: d.JobID})
		if err != nil {
			return nil, err
		}
		if note := b.Note(); note != "" {
			log.Infof("%s", note)
			if o.Note != nil {
				o.Note(note)
			}
		}
		return withDiskProgress(b, o.DiskProgress), nil
	}
	run, runErr := snapshot.Run(ctx, so)
	res = &VMResult{Run: run}
	if ce, ok := runErr.(*snapshot.CleanupError); ok && !o.StrictCleanup {
		// Only the cleanup failed and every disk was read: keep the
		// backup, and say what is left for the next sweep.
		res.Warning = ce.Error()
		log.Warnf("%s", res.Warning)
		runErr = nil
	}
	if runErr != nil {
		return res, runErr
	}
	res.Read = true
	res.Note = b.Note()
	commitStart := time.Now()
	sum, err := b.Commit(ctx)
	if err != nil {
		return res, err
	}
	res.Archive = sum
	res.Took = run.Duration + time.Since(commitStart)
	log.Infof("backup of VM %s done: archive %s, %s, read %d bytes, stored %d bytes in %.1f s",
		run.VM.Name, sum.ArchiveID, sum.Type, sum.BytesRead, sum.BytesStored, res.Took.Seconds())
	return res, nil
}
