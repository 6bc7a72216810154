package snapshot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"rb_module_rustack/internal/journal"
	"rb_module_rustack/internal/logging"
)

// SweepOptions tune Sweep.
type SweepOptions struct {
	Timeouts Timeouts
	Log      logging.Log
}

// Sweep removes what killed jobs left behind: for every journal in
// journalDir whose job is no longer running (journal.List), the resources
// its entries name (by id, or by name when the job died before it learnt
// the id), plus any volume or snapshot whose name carries that job's
// prefix ("rbk-<job>-"), in dependency order (detach, servers, volumes,
// snapshots). A journal is removed once everything it names is gone;
// otherwise it stays for the next sweep. Jobs still running, in this
// process or another, are never touched.
func Sweep(ctx context.Context, c Cloud, journalDir string, o SweepOptions) ([]Removed, error) {
	o.Timeouts.defaults()
	log := o.Log
	if log == nil {
		log = logging.Discard()
	}
	dead, err := journal.List(journalDir)
	if err != nil {
		return nil, fmt.Errorf("read journals in %s: %w", journalDir, err)
	}
	if len(dead) == 0 {
		return nil, nil
	}
	// One listing of the project's volumes and snapshots for the name scan.
	vols, err := c.ListVolumes(ctx)
	if err != nil {
		for _, j := range dead {
			j.Close()
		}
		return nil, fmt.Errorf("sweep: list volumes: %w", err)
	}
	snaps, err := c.ListSnapshots(ctx)
	if err != nil {
		for _, j := range dead {
			j.Close()
		}
		return nil, fmt.Errorf("sweep: list snapshots: %w", err)
	}
	var (
		removed []Removed
		errs    []error
	)
	for _, jr := range dead {
		job := jr.JobID()
		log.Infof("sweeping leftovers of job %s (%s, pid %d, started %s)", job, jr.JobKind(), jr.PID(), jr.Started().Format("2006-01-02 15:04:05"))
		cl := &cleaner{cloud: c, t: o.Timeouts, jr: jr, log: log, job: job}
		var rs []*resource
		known := map[string]bool{}
		for _, e := range jr.Entries() {
			rs = append(rs, &resource{kind: e.Kind, entry: e.ID, name: e.Name, id: e.CloudID, server: e.Server})
			switch {
			case e.Kind == journal.KindAttachment:
			case e.CloudID != "":
				known[e.CloudID] = true
			default:
				known[e.Kind+"/"+e.Name] = true // looked up by name
			}
		}
		prefix := journal.JobPrefix(job)
		for _, v := range vols {
			if strings.HasPrefix(v.Name, prefix) && !known[v.ID] && !known[journal.KindVolume+"/"+v.Name] {
				rs = append(rs, &resource{kind: journal.KindVolume, name: v.Name, id: v.ID})
			}
		}
		for _, s := range snaps {
			if strings.HasPrefix(s.Name, prefix) && !known[s.ID] && !known[journal.KindSnapshot+"/"+s.Name] {
				rs = append(rs, &resource{kind: journal.KindSnapshot, name: s.Name, id: s.ID})
			}
		}
		err := cl.run(ctx, rs)
		removed = append(removed, cl.removed...)
		if err != nil {
			errs = append(errs, fmt.Errorf("job %s: %w", job, err))
			jr.Close()
			continue
		}
		if err := jr.Done(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("sweep: %w (the journals stay; run \"rb_module_rustack cleanup\" again)", errors.Join(errs...))
	}
	return removed, nil
}
