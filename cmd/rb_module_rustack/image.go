package main

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/backup"
	"rb_module_rustack/internal/jobrecord"
)

func newImageCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "back up local raw disk images or block devices with the same engine",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(monitored(a, "image_backup", newImageBackupCmd(a)))
	return cmd
}

type imageBackupOpts struct {
	name, vmID, typ string
	disks           []string
	asJSON          bool
}

func newImageBackupCmd(a *app) *cobra.Command {
	var o imageBackupOpts
	cmd := &cobra.Command{
		Use:   "backup --pool DIR --name VM --disk LABEL=PATH [--disk ...] --type full|incremental|differential",
		Short: "back up raw images or block devices (read only) into an archive",
		Long: `Backs up local raw disk images or block devices as the disks of one VM.
The sources are only read. Each disk's size is found by seeking to its end.

Incremental backups store what is new since the previous backup of the same
VM id (of any type), differential ones what is new since the last full; with
no usable base the backup becomes a full one and says why. Repository options
come from the configuration file when there is one and can all be given as
flags (--pool, --store, --key-file or --cipher none, --chunk-min/avg/max, ...).`,
		Example: `  rb_module_rustack keygen --key-file /tmp/k
  rb_module_rustack image backup --pool /backup --key-file /tmp/k --name web1 --disk vda=/images/web1.raw --type full
  rb_module_rustack image backup --pool /backup --cipher none --name web1 --disk vda=/dev/vg0/web1 --type incremental --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runImageBackup(cmd, a, &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.name, "name", "", "VM name (required)")
	f.StringVar(&o.vmID, "vm-id", "", "VM id: chains are per VM id (default: the name)")
	f.StringArrayVar(&o.disks, "disk", nil, "disk LABEL=PATH (repeatable, in boot order)")
	f.StringVar(&o.typ, "type", "full", "full | incremental | differential")
	f.BoolVar(&o.asJSON, "json", false, "print the summary as JSON")
	addRepoFlags(cmd, true)
	return cmd
}

func runImageBackup(cmd *cobra.Command, a *app, o *imageBackupOpts) error {
	if o.name == "" {
		return withCode(exitUsage, errors.New("--name is required"))
	}
	if len(o.disks) == 0 {
		return withCode(exitUsage, errors.New("give at least one --disk LABEL=PATH"))
	}
	typ, err := parseBackupType(o.typ)
	if err != nil {
		return err
	}
	if o.vmID == "" {
		o.vmID = o.name
	}
	var disks []*backup.Image
	defer func() {
		for _, d := range disks {
			d.Close()
		}
	}()
	seen := map[string]bool{}
	for _, spec := range o.disks {
		label, path, ok := strings.Cut(spec, "=")
		if !ok || label == "" || path == "" {
			return withCode(exitUsage, fmt.Errorf("--disk %q: want LABEL=PATH", spec))
		}
		if seen[label] {
			return withCode(exitUsage, fmt.Errorf("--disk: label %s given twice", label))
		}
		seen[label] = true
		d, err := backup.OpenImage(label, path)
		if err != nil {
			return withCode(exitUsage, err)
		}
		disks = append(disks, d)
	}
	a.job.vm(o.vmID, o.name)
	repo, cfg, err := a.openRepo(cmd, true)
	if err != nil {
		return err
	}
	defer repo.Close()
	var note string
	bars := a.bars("reading", o.asJSON)
	var diskMu sync.Mutex
	var diskTimes []jobrecord.Disk
	s, err := backup.Images(cmd.Context(), repo, backup.ImagesOptions{
		Name: o.name, VMID: o.vmID, Type: typ, Disks: disks, DiskParallelism: cfg.DiskParallelism, DiskProgress: diskBars(bars),
		Note: func(n string) {
			note = n
			if !o.asJSON {
				fmt.Fprintln(a.stderr, "note:", n)
			}
		},
		DiskRead: func(label string, size int64, took time.Duration) {
			diskMu.Lock()
			diskTimes = append(diskTimes, jobrecord.Disk{Label: label, Size: size, ReadSeconds: took.Seconds()})
			diskMu.Unlock()
		},
	})
	bars.Finish()
	if err != nil {
		return engineExit(err)
	}
	log := a.engineLog(cfg, "image backup")
	defer log.Close()
	applyRetention(cmd.Context(), a, repo, cfg, o.vmID, o.asJSON, log)
	sec := s.Duration.Seconds()
	out := backup.ImagesSummary{Archive: s.ArchiveID, Path: s.Path, Type: string(s.Type), Requested: o.typ, Note: note,
		Parent: s.Parent, Counts: backup.CountsOf(s), Seconds: sec, MBps: backup.Rate(s.BytesRead, sec)}
	a.job.archive(s.ArchiveID)
	readSec := 0.0
	for _, d := range diskTimes {
		readSec = max(readSec, d.ReadSeconds)
	}
	out.Anomaly = a.job.backupDone(a, "", o.typ, out.Type, out.Counts, sec, readSec, diskTimes)
	if o.asJSON {
		return a.printJSON(out)
	}
	fmt.Fprintf(a.stdout, "archive   %s\n", s.ArchiveID)
	fmt.Fprintf(a.stdout, "type      %s (parent %s)\n", s.Type, orDash(s.Parent))
	printDataLines(a.stdout, out.Counts)
	fmt.Fprintf(a.stdout, "duration  %s (%.0f MB/s)\n", s.Duration.Round(time.Millisecond), out.MBps)
	if out.Anomaly != nil {
		fmt.Fprintln(a.stdout, anomalyLine(out.Anomaly))
	}
	return nil
}
