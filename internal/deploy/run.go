package deploy

import (
	"context"

	"rb_module_rustack/internal/journal"
	"rb_module_rustack/internal/logging"
)

// Job is one restore into the cloud as the restore command runs it.
type Job struct {
	// Options are complete but for Journal (and JobID, unless the caller
	// gives the id its log lines carry), which Run sets when JournalDir is
	// given.
	Options
	VolumeOnly bool        // one disk into a new volume (VolumeOnly), else a new VM (Deploy)
	Archive    string      // the archive as the user named it (for the log)
	JournalDir string      // journal.Dir(state_dir); "" = no journal
	Log        logging.Log // nil = no log
}

// Run runs the job: it starts the job's journal (so that a killed restore
// can be swept), restores, logs every stage but the writes and the outcome,
// and closes the journal.
func Run(ctx context.Context, j Job) (*Result, error) {
	log := j.Log
	if log == nil {
		log = logging.Discard()
	}
	if j.JournalDir != "" {
		if j.JobID == "" {
			j.JobID = journal.NewJobID()
		}
		jr, err := journal.Begin(j.JournalDir, j.JobID, "restore")
		if err != nil {
			return nil, &JournalError{err}
		}
		defer func() {
			if err := jr.Done(); err != nil {
				log.Warnf("%v", err)
			}
		}()
		j.Journal = jr
		m := j.Manifest
		log.Infof("restore job %s: archive %s (%s, VM %s %s) into the cloud", j.JobID, m.ID, m.Type, m.VMName, m.VMID)
	}
	progress := j.Progress
	j.Progress = func(e Event) {
		if progress != nil {
			progress(e)
		}
		if e.Stage != "write" {
			log.Infof("restore: %s %s %s", e.Stage, e.Disk, e.Msg)
		}
	}
	var (
		res *Result
		err error
	)
	if j.VolumeOnly {
		res, err = VolumeOnly(ctx, j.Options)
	} else {
		res, err = Deploy(ctx, j.Options)
	}
	if err != nil {
		log.Infof("restore of %s failed: %v", j.Archive, err)
	} else {
		log.Infof("restore of %s done: server %q %s, %d volume(s), %.1f MB/s", j.Archive,
			res.ServerName, res.ServerID, len(res.Volumes), res.MBps())
	}
	return res, err
}

// JournalError is Run's error when the job's journal cannot be started:
// nothing was done.
type JournalError struct{ Err error }

func (e *JournalError) Error() string { return e.Err.Error() }
func (e *JournalError) Unwrap() error { return e.Err }
