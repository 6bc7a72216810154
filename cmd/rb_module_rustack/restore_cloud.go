package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"rb_module_rustack/internal/deploy"
	"rb_module_rustack/internal/logging"
	"rb_module_rustack/internal/progress"
	"rb_module_rustack/internal/restore"
	"rb_module_rustack/internal/units"
)

// restoreCloudOpts are the flags of a restore into the cloud
// (--deploy, --volume-only and their overrides).
type restoreCloudOpts struct {
	deploy     bool
	volumeOnly bool

	name, flavor, keyName    string
	networks, securityGroups []string
	metadata                 []string
	noMetadata               bool
	zone, volumeType         string
	volumeZone, volumeName   string
	skipZeroWrites           bool
	keepPartial              bool
	bootTimeout              time.Duration

	// --disk and --json are shared with the local restore: whichever side
	// registers them first owns the variable, so they are read from the
	// command's flag set at run time (see flagList, flagBool).
}

// addRestoreCloudFlags registers the cloud-restore flags on the restore command.
func addRestoreCloudFlags(cmd *cobra.Command, o *restoreCloudOpts) {
	f := cmd.Flags()
	f.BoolVarP(&o.deploy, "deploy", "x", false, "recreate the VM in the cloud: new volumes and a server booted from them (-x: the platform's spelling)")
	f.BoolVar(&o.volumeOnly, "volume-only", false, "restore one disk (--disk LABEL) into a new available volume")
	f.StringVar(&o.name, "name", "", "server name (default: the original, or <name>-1, -2, ... if taken)")
	f.StringVar(&o.flavor, "flavor", "", "flavor id or name (default: the recorded flavor)")
	f.StringArrayVar(&o.networks, "network", nil, "network id or name, repeatable; \"none\" for no network (default: the recorded networks)")
	f.StringVar(&o.keyName, "key-name", "", "key pair; \"none\" for no key pair (default: the recorded key pair)")
	f.StringArrayVar(&o.securityGroups, "security-group", nil, "security group, repeatable; \"none\" for none (default: the recorded groups)")
	f.StringArrayVar(&o.metadata, "metadata", nil, "server metadata key=value, repeatable (added to the recorded metadata)")
	f.BoolVar(&o.noMetadata, "no-metadata", false, "do not copy the recorded server metadata")
	f.StringVar(&o.zone, "availability-zone", "", "server availability zone (default: the recorded zone)")
	f.StringVar(&o.volumeType, "volume-type", "", "volume type of every new volume (default: the recorded types)")
	f.StringVar(&o.volumeZone, "volume-availability-zone", "", "availability zone of every new volume (default: the recorded zones)")
	f.StringVar(&o.volumeName, "volume-name", "", "--volume-only: name of the new volume (default <vm>-<disk>-restored-<date>)")
	f.BoolVar(&o.skipZeroWrites, "skip-zero-writes", false,
		"do not write the archive's all-zero ranges (only for storage whose new volumes read as zeros)")
	f.BoolVar(&o.keepPartial, "keep-partial", false, "after a failure, keep what was created (detached) instead of removing it")
	f.DurationVar(&o.bootTimeout, "boot-timeout", 5*time.Minute, "how long to wait for the new server to become ACTIVE")
	if f.Lookup("disk") == nil {
		f.String("disk", "", "label of the disk to restore")
	}
	if f.Lookup("json") == nil {
		f.Bool("json", false, "print a machine-readable result on stdout")
	}
}

// wanted reports whether the user asked for a cloud restore.
func (o *restoreCloudOpts) wanted() bool { return o.deploy || o.volumeOnly }

// flagList reads a string or string-list flag by name.
func flagList(fs *pflag.FlagSet, name string) []string {
	f := fs.Lookup(name)
	if f == nil {
		return nil
	}
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return sv.GetSlice()
	}
	if s := f.Value.String(); s != "" {
		return []string{s}
	}
	return nil
}

// flagBool reads a bool flag by name.
func flagBool(fs *pflag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	return f != nil && f.Value.String() == "true"
}

// cloudRequest is a parsed cloud-restore command line.
type cloudRequest struct {
	archive    string
	volumeOnly bool
	opts       deploy.Options // without Cloud, Source, Manifest, Journal, Progress
	asJSON     bool
	journalDir string        // "" = no journal (tests)
	progress   progress.Mode // progress bars on stderr
}

// parse checks the flags and maps them onto deploy.Options.
func (o *restoreCloudOpts) parse(fs *pflag.FlagSet, archive string) (*cloudRequest, error) {
	if o.deploy && o.volumeOnly {
		return nil, errors.New("--deploy and --volume-only exclude each other")
	}
	disks := flagList(fs, "disk")
	switch {
	case o.volumeOnly && len(disks) > 1:
		return nil, errors.New("--volume-only restores one disk: give --disk LABEL once")
	case o.deploy && len(disks) > 0:
		return nil, errors.New("--deploy restores every disk of the VM; use --volume-only --disk LABEL for one disk")
	case o.deploy && o.volumeName != "":
		return nil, errors.New("--volume-name goes with --volume-only")
	}
	if o.volumeOnly {
		for _, f := range []string{"name", "flavor", "network", "key-name", "security-group", "metadata",
			"no-metadata", "availability-zone", "boot-timeout"} {
			if fs.Changed(f) {
				return nil, fmt.Errorf("--%s goes with --deploy (--volume-only creates no server)", f)
			}
		}
	}
	md := map[string]string{}
	for _, kv := range o.metadata {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--metadata %q: want key=value", kv)
		}
		md[k] = v
	}
	r := &cloudRequest{archive: archive, volumeOnly: o.volumeOnly, asJSON: flagBool(fs, "json")}
	r.opts.Overrides = restore.Overrides{
		Name: o.name, Flavor: o.flavor, Networks: o.networks, KeyName: o.keyName,
		SecurityGroups: o.securityGroups, NoMetadata: o.noMetadata, AvailabilityZone: o.zone,
		VolumeType: o.volumeType, VolumeAvailabilityZone: o.volumeZone, VolumeName: o.volumeName,
	}
	if len(md) > 0 {
		r.opts.Metadata = md
	}
	if len(disks) == 1 {
		r.opts.Disk = disks[0]
	}
	r.opts.SkipZeroWrites = o.skipZeroWrites
	r.opts.KeepPartial = o.keepPartial
	r.opts.ServerTimeout = o.bootTimeout
	if o.bootTimeout <= 0 {
		return nil, errors.New("--boot-timeout must be positive")
	}
	return r, nil
}

// runRestoreCloud restores archive into the cloud.
func runRestoreCloud(cmd *cobra.Command, a *app, archive string, o *restoreCloudOpts) error {
	req, err := o.parse(cmd.Flags(), archive)
	if err != nil {
		return withCode(exitUsage, err)
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	env, err := openRestoreEnv(ctx, cmd, a, req)
	if err != nil {
		return err
	}
	defer env.close()
	req.opts.JobID = a.jobID
	req.progress = a.progressMode(req.asJSON)
	return restoreCloud(ctx, a.stdout, a.stderr, req, env.log)
}

// restoreCloud runs a parsed request whose Options are complete, draws
// progress bars on stderr (req.progress), and prints the result (text, or
// JSON with --json).
func restoreCloud(ctx context.Context, stdout, stderr io.Writer, req *cloudRequest, log logging.Log) error {
	p := progress.New(stderr, "writing", req.progress)
	req.opts.Progress = restoreProgress(p)
	res, err := deploy.Run(ctx, deploy.Job{Options: req.opts, VolumeOnly: req.volumeOnly, Archive: req.archive,
		JournalDir: req.journalDir, Log: log})
	p.Finish()
	var je *deploy.JournalError
	if errors.As(err, &je) {
		return withCode(exitFailure, err)
	}
	if req.asJSON {
		out := struct {
			OK    bool   `json:"ok"`
			Error string `json:"error,omitempty"`
			*deploy.Result
		}{OK: err == nil, Result: res}
		if err != nil {
			out.Error = err.Error()
		}
		if res == nil {
			out.Result = &deploy.Result{Archive: req.archive, Volumes: []deploy.RestoredVolume{}}
		}
		b, jerr := json.MarshalIndent(out, "", "  ")
		if jerr != nil {
			return withCode(exitFailure, jerr)
		}
		fmt.Fprintln(stdout, string(b))
	} else if res != nil && err == nil {
		printResult(stdout, res)
	}
	if err != nil {
		if res != nil && !req.asJSON {
			for _, n := range res.Notes {
				fmt.Fprintln(stderr, "note:", n)
			}
		}
		return engineExit(err) // canceled: 5; damaged archive or wrong key: 4; else 1
	}
	return nil
}

func printResult(w io.Writer, r *deploy.Result) {
	if r.ServerID != "" {
		fmt.Fprintf(w, "server %s %s (flavor %s)\n", r.ServerName, r.ServerID, r.Flavor)
	}
	for _, v := range r.Volumes {
		boot := ""
		if v.Bootable {
			boot = " bootable"
		}
		fmt.Fprintf(w, "volume %s %s %d GiB disk %s%s\n", v.Name, v.ID, v.SizeGiB, v.Label, boot)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	fmt.Fprintf(w, "restored %s in %.1f s (writing %.1f s, %.0f MB/s%s)\n", units.FormatBytes(r.Bytes), r.Seconds,
		r.WriteSeconds, r.MBps(), map[bool]string{true: ", zero ranges skipped", false: ""}[r.SkipZeroWrites])
}

// restoreProgress shows a restore's events on a terminal: stage messages,
// and a bar per disk (and a total) while disks are written.
func restoreProgress(p *progress.Bars) func(deploy.Event) {
	return func(e deploy.Event) {
		if e.Stage != "write" {
			p.Message(e.Msg)
			return
		}
		p.Update(e.Disk, e.Done, e.Total)
	}
}
