package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/backup"
	"rb_module_rustack/internal/config"
	"rb_module_rustack/internal/guest"
	"rb_module_rustack/internal/journal"
	"rb_module_rustack/internal/logging"
	"rb_module_rustack/internal/repoopen"
	"rb_module_rustack/internal/snapshot"
	"rb_module_rustack/internal/units"
)

type backupOpts struct {
	vm     string
	typ    string
	asJSON bool
}

func newBackupCmd(a *app) *cobra.Command {
	var o backupOpts
	cmd := &cobra.Command{
		Use:   "backup --vm ID|NAME --type full|incremental|differential [--param k=v]...",
		Short: "back up a VM: snapshots, temporary volumes on the proxy, into the archive pool or dedup store",
		Long: `Backs up one VM of the project (docs/backup.md):

  1. sweeps what killed runs left behind (as the cleanup command does);
  2. describes the VM (volumes in boot order, flavor, networks, metadata);
  3. runs the guest's before script (admin account needed), snapshots every
     volume, runs the after script;
  4. reads each snapshot through a temporary volume attached to this proxy
     VM (rubackup-vm-id), disk_parallelism disks at a time;
  5. removes the temporary volumes and the snapshots, and commits the archive.

An incremental or differential with no usable base becomes a full one and
says so. Rule parameters (--param script_before_snapshot=..., and any
configuration key) override the configuration file.

Exit codes: 0 done; 1 failed (cloud, guest script, data, I/O; nothing of the
backup is kept, cloud resources are removed); 2 bad command line or
configuration; 5 interrupted by SIGINT/SIGTERM (after the cleanup).`,
		Example: `  rb_module_rustack backup --vm web01 --type full
  rb_module_rustack backup --vm 3f0c...e1 --type incremental --param script_before_snapshot=/usr/local/bin/freeze.sh`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runBackup(cmd, a, &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.vm, "vm", "", "VM id or name (required)")
	f.StringVar(&o.typ, "type", "full", "full | incremental | differential")
	f.BoolVar(&o.asJSON, "json", false, "print the summary as JSON")
	addRepoFlags(cmd, true)
	return cmd
}

// snapshotTimeouts are the configuration's cloud timeouts.
func snapshotTimeouts(cfg *config.Config) snapshot.Timeouts {
	return snapshot.Timeouts{Snapshot: cfg.SnapshotCreationTimeout, Volume: cfg.VolumeCreationTimeout, Attach: cfg.VolumeAttachmentTimeout}
}

// guestOptions maps the configuration onto the guest scripts' options.
func guestOptions(cfg *config.Config) backup.GuestOptions {
	return backup.GuestOptions{
		Transport: guest.TransportOptions{
			Kind: cfg.ScriptTransport, Protocol: cfg.Protocol, VirshPath: cfg.VirshPath, SSHUser: cfg.SSHUser,
			SSHKeyFile: cfg.SSHKeyFile, SSHConnectionTimeout: cfg.SSHConnectionTimeout,
		},
		Scripts: guest.ScriptOptions{
			Default: cfg.GuestScript, Before: cfg.ScriptBeforeSnapshot, After: cfg.ScriptAfterSnapshot,
			Timeout: cfg.ScriptTimeout, IgnoreErrors: cfg.IgnoreScriptErrors,
		},
	}
}

func runBackup(cmd *cobra.Command, a *app, o *backupOpts) error {
	ctx := cmd.Context()
	if o.vm == "" {
		return withCode(exitUsage, errors.New("--vm ID|NAME is required"))
	}
	typ, err := parseBackupType(o.typ)
	if err != nil {
		return err
	}
	cfg, log, err := a.configAndLog("backup")
	if err != nil {
		return err
	}
	defer log.Close()
	a.job.vm("", o.vm)
	rs := repoopen.FromConfig(cfg, toolVersion())
	rs.Write = true
	if err := applyRepoFlags(cmd, &rs); err != nil {
		return err
	}
	a.warnKeyFile(cfg, rs.KeyFile, log)
	repo, err := repoopen.Open(rs)
	if err != nil {
		return repoOpenExit(err)
	}
	defer repo.Close()
	cloud, err := connect(ctx, cfg, &logging.OnceWarnings{Log: log}, cfg.AdminName != "")
	if err != nil {
		return canceledOr(ctx, err)
	}
	jdir := journal.Dir(cfg.StateDir)
	if n, err := backup.Sweep(ctx, cloud, jdir, snapshotTimeouts(cfg), log); err != nil {
		log.Warnf("leftovers of earlier runs: %v", err)
	} else if len(n) > 0 {
		fmt.Fprintf(a.stderr, "removed %d leftover resource(s) of killed runs (details in the log)\n", len(n))
	}

	bars := a.bars("reading", o.asJSON)
	res, err := backup.VM(ctx, repo, backup.VMOptions{
		Type: typ, DiskProgress: diskBars(bars),
		Snapshot: snapshot.Options{
			Cloud: cloud, VM: o.vm, ProxyID: cfg.ProxyVMID, JournalDir: jdir, JobID: a.jobID,
			Timeouts: snapshotTimeouts(cfg), DeviceDir: cfg.DeviceDir, DiskParallelism: cfg.DiskParallelism,
			Scripts: backup.GuestScripts(guestOptions(cfg), log), Log: log,
		},
		Note: func(note string) {
			if !o.asJSON {
				fmt.Fprintln(a.stderr, "note:", note)
			}
		},
	})
	bars.Finish()
	if res != nil && res.Warning != "" {
		fmt.Fprintln(a.stderr, "warning:", res.Warning)
	}
	if res != nil && res.Run != nil && res.Run.VM != nil {
		a.job.vm(res.Run.VM.ID, res.Run.VM.Name)
	}
	if err != nil {
		if res != nil && res.Read {
			err = fmt.Errorf("backup of VM %s: commit archive: %w", o.vm, err)
		} else {
			err = fmt.Errorf("backup of VM %s failed: %w", o.vm, err)
		}
		// Exit 5 when interrupted, else 1; main prints it and
		// logFailure logs it as ERROR.
		return canceledOr(ctx, err)
	}
	out := res.Summary(o.typ)
	a.job.archive(out.Archive)
	out.Anomaly = a.job.backupDone(a, out.JobID, o.typ, out.Type, out.Counts, out.Seconds, out.ReadSeconds, diskRecords(res))
	applyRetention(ctx, a, repo, cfg, out.VMID, o.asJSON, log)
	if o.asJSON {
		return a.printJSON(out)
	}
	printSummary(a.stdout, out)
	return nil
}

func secs(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond)
}

// canceledOr gives exit 5 when the context was canceled (SIGINT/SIGTERM),
// else exit 1 (or the code err already carries).
func canceledOr(ctx context.Context, err error) error {
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return err
	case ctx.Err() != nil:
		var ce *snapshot.CleanupError
		if errors.As(err, &ce) {
			return withCode(exitCanceled, fmt.Errorf("interrupted (SIGINT/SIGTERM): %w", err))
		}
		return withCode(exitCanceled, fmt.Errorf("interrupted (SIGINT/SIGTERM); what the run created in the cloud was removed: %w", err))
	}
	return engineExit(err)
}

func printSummary(w io.Writer, s backup.VMSummary) {
	fmt.Fprintf(w, "archive   %s\n", s.Archive)
	fmt.Fprintf(w, "vm        %s (%s)\n", s.VMName, s.VMID)
	t := s.Type
	if s.Type != s.Requested {
		t += " (requested " + s.Requested + ")"
	}
	fmt.Fprintf(w, "type      %s, parent %s\n", t, orDash(s.Parent))
	if s.Note != "" {
		fmt.Fprintf(w, "note      %s\n", s.Note)
	}
	for _, d := range s.Disks {
		fmt.Fprintf(w, "disk      %s  %s\n", d.Label, units.FormatBytes(d.Size))
	}
	printDataLines(w, s.Counts)
	fmt.Fprintf(w, "duration  %s (%.0f MB/s over the whole job; reading %s, %.0f MB/s)\n",
		secs(s.Seconds), s.MBps, secs(s.ReadSeconds), s.ReadMBps)
	if s.Warning != "" {
		fmt.Fprintf(w, "warning   %s\n", s.Warning)
	}
	if s.Anomaly != nil {
		fmt.Fprintln(w, anomalyLine(s.Anomaly))
	}
}
