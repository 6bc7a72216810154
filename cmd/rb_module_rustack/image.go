package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/archive"
)

func newImageCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "back up local raw disk images or block devices with the same engine",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newImageBackupCmd(a))
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

type imageDisk struct {
	label, path string
	f           *os.File
	size        int64
}

// imageSummary is the --json output of image backup.
type imageSummary struct {
	Archive   string `json:"archive"`
	Path      string `json:"path"`
	Type      string `json:"type"`
	Requested string `json:"requested_type"`
	Note      string `json:"note,omitempty"`
	Parent    string `json:"parent,omitempty"`
	dataCounts
	Seconds float64 `json:"seconds"`
	MBps    float64 `json:"read_mb_per_s"`
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
	var disks []*imageDisk
	defer func() {
		for _, d := range disks {
			d.f.Close()
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
		d, err := openImage(label, path)
		if err != nil {
			return withCode(exitUsage, err)
		}
		disks = append(disks, d)
	}
	repo, rs, err := a.openRepo(cmd, true)
	if err != nil {
		return err
	}
	defer repo.Close()
	type vmDisk struct {
		Label string `json:"label"`
		Path  string `json:"path"`
		Size  int64  `json:"size"`
	}
	desc := struct {
		Source string   `json:"source"`
		Name   string   `json:"name"`
		ID     string   `json:"id"`
		Disks  []vmDisk `json:"disks"`
	}{Source: "image", Name: o.name, ID: o.vmID}
	for _, d := range disks {
		desc.Disks = append(desc.Disks, vmDisk{d.label, d.path, d.size})
	}
	vm, err := json.Marshal(desc)
	if err != nil {
		return withCode(exitFailure, err)
	}
	ctx := cmd.Context()
	b, err := repo.Begin(ctx, archive.BackupSpec{VMID: o.vmID, VMName: o.name, Type: typ, VM: vm})
	if err != nil {
		return engineExit(err)
	}
	defer b.Abort()
	if b.Note() != "" && !o.asJSON {
		fmt.Fprintln(a.stderr, "note:", b.Note())
	}
	var labels []string
	for _, d := range disks {
		labels = append(labels, d.label)
	}
	b.SetDiskOrder(labels)
	par := max(1, rs.cfg.DiskParallelism)
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	errs := make([]error, len(disks))
	for i, d := range disks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = b.AddDisk(ctx, d.label, d.f, d.size, nil)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return engineExit(err)
	}
	s, err := b.Commit(ctx)
	if err != nil {
		return engineExit(err)
	}
	sec := s.Duration.Seconds()
	out := imageSummary{Archive: s.ArchiveID, Path: s.Path, Type: string(s.Type), Requested: o.typ, Note: b.Note(),
		Parent: s.Parent, dataCounts: countsOf(s), Seconds: sec, MBps: rate(s.BytesRead, sec)}
	if o.asJSON {
		return a.printJSON(out)
	}
	fmt.Fprintf(a.stdout, "archive   %s\n", s.ArchiveID)
	fmt.Fprintf(a.stdout, "type      %s (parent %s)\n", s.Type, orDash(s.Parent))
	printDataLines(a.stdout, out.dataCounts)
	fmt.Fprintf(a.stdout, "duration  %s (%.0f MB/s)\n", s.Duration.Round(time.Millisecond), out.MBps)
	return nil
}

// openImage opens a regular file or block device read-only and finds its
// size by seeking to the end.
func openImage(label, path string) (*imageDisk, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("disk %s: %w", label, err)
	}
	m := st.Mode()
	if !m.IsRegular() && (m&os.ModeDevice == 0 || m&os.ModeCharDevice != 0) {
		return nil, fmt.Errorf("disk %s: %s is neither a regular file nor a block device", label, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("disk %s: %w", label, err)
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("disk %s: size of %s: %w", label, path, err)
	}
	return &imageDisk{label: label, path: path, f: f, size: size}, nil
}
