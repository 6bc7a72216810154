package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/config"
	"rb_module_rustack/internal/logging"
	"rb_module_rustack/internal/retention"
	"rb_module_rustack/internal/units"
)

// policyRules are the retention flags: --keep-<rule>, in the order of the
// configuration's keep_* keys.
var policyRules = []struct{ rule, help string }{
	{"last", "keep the N newest archives of each VM"},
	{"hourly", "keep the newest archive of each of the last N hours"},
	{"daily", "keep the newest archive of each of the last N days"},
	{"weekly", "keep the newest archive of each of the last N ISO weeks"},
	{"monthly", "keep the newest archive of each of the last N months"},
	{"yearly", "keep the newest archive of each of the last N years"},
	{"within", "keep every archive within DURATION (e.g. 14d, 2w, 6m, 1y) of the VM's newest"},
}

// addPolicyFlags registers --keep-* and --keep-none.
func addPolicyFlags(cmd *cobra.Command) {
	for _, r := range policyRules {
		cmd.Flags().String("keep-"+r.rule, "", r.help)
	}
	cmd.Flags().Bool("keep-none", false, "a policy without keep rules: remove every archive no other kept archive needs (explicit, for a VM that is gone)")
}

// policyFrom is the policy of the --keep-* flags when any is given, else
// the configuration's keep_* keys.
func policyFrom(cmd *cobra.Command, cfg *config.Config) (retention.Policy, error) {
	var p retention.Policy
	given := false
	for _, r := range policyRules {
		if f := cmd.Flags().Lookup("keep-" + r.rule); f.Changed {
			given = true
			if err := p.Set(r.rule, f.Value.String()); err != nil {
				return p, withCode(exitUsage, fmt.Errorf("--keep-%s: %w", r.rule, err))
			}
		}
	}
	if f := cmd.Flags().Lookup("keep-none"); f.Changed {
		given = true
		if err := p.Set("none", f.Value.String()); err != nil {
			return p, withCode(exitUsage, fmt.Errorf("--keep-none: %w", err))
		}
	}
	if !given {
		cp, err := cfg.Retention()
		if err != nil {
			return p, withCode(exitUsage, err)
		}
		p = cp
	}
	if err := p.Validate(); err != nil {
		return p, withCode(exitUsage, err)
	}
	return p, nil
}

func newForgetCmd(a *app) *cobra.Command {
	var vms []string
	var dryRun, asJSON, prune bool
	var maxUnused string
	cmd := &cobra.Command{
		Use:   "forget [--keep-daily N ...] [--vm VM]... [--dry-run] [--prune]",
		Short: "remove the archives a retention policy does not keep, per VM, never breaking a chain",
		Long: `Applies a retention policy to the archives of each VM (grouped by VM id), as
restic and Proxmox Backup Server do: each --keep-<period> N rule keeps the
newest archive of each of the last N periods that have one; --keep-last N the
N newest; --keep-within D every archive within D of the VM's newest. An
archive kept by any rule stays, and so does every archive a kept one needs
(in pool mode an incremental needs its whole chain, a differential its full):
the plan says "base of <id>". Without --keep-* flags the configuration's
keep_* keys are the policy. A policy that keeps nothing is refused unless
--keep-none says so.

In pool mode the removed archive files free their space at once; in store
mode the chunks they referenced are freed by prune (--prune runs it after).
Forget takes each VM's exclusive lock (backups of that VM hold it shared).

Exit codes: 0 done; 1 failed (I/O; what was removed is listed); 2 bad
policy, unknown VM, or a lock another process holds (named); 5 interrupted.`,
		Example: `  rb_module_rustack forget --keep-daily 7 --keep-weekly 4 --keep-monthly 6 --dry-run
  rb_module_rustack forget --vm web01 --keep-last 3 --prune`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			repo, cfg, err := a.openRepo(cmd, false)
			if err != nil {
				return err
			}
			defer repo.Close()
			p, err := policyFrom(cmd, cfg)
			if err != nil {
				return err
			}
			mu, err := maxUnusedFrom(cmd, maxUnused, cfg)
			if err != nil {
				return err
			}
			log := a.engineLog(cfg, "forget")
			defer log.Close()
			res, err := repo.Forget(cmd.Context(), archive.ForgetOptions{Policy: p, VMs: vms, DryRun: dryRun})
			if err != nil {
				return retentionExit(err) // logged as ERROR by logFailure
			}
			log.Infof("forget (%s)%s: %d archive(s) kept, %d removed", res.Policy, dryNote(dryRun), res.Kept, len(res.Removed))
			var pr *archive.PruneReport
			if prune {
				bars := a.bars("pruning", asJSON)
				pr, err = repo.Prune(cmd.Context(), archive.PruneOptions{MaxUnused: mu, DryRun: dryRun, Progress: packBars(bars)})
				bars.Finish()
				if err != nil {
					return retentionExit(fmt.Errorf("prune: %w", err)) // logged as ERROR by logFailure
				}
				logPrune(log, pr)
			}
			if asJSON {
				return a.printJSON(struct {
					*archive.ForgetResult
					Prune *archive.PruneReport `json:"prune,omitempty"`
				}{res, pr})
			}
			printPlan(a.stdout, res)
			if pr != nil {
				printPrune(a.stdout, pr)
			}
			return nil
		},
	}
	addPolicyFlags(cmd)
	cmd.Flags().StringArrayVar(&vms, "vm", nil, "only the archives of this VM, by name or id (repeatable)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan, change nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan (and the prune report) as JSON")
	cmd.Flags().BoolVar(&prune, "prune", false, "prune afterwards (as the prune command)")
	cmd.Flags().StringVar(&maxUnused, "max-unused", "", "with --prune: as prune's --max-unused")
	addRepoFlags(cmd, false)
	return cmd
}

func dryNote(dry bool) string {
	if dry {
		return " (dry run)"
	}
	return ""
}

// printPlan prints a forget plan, one table per VM, newest first.
func printPlan(w io.Writer, res *archive.ForgetResult) {
	verb := "removed"
	if res.DryRun {
		verb = "would remove"
	}
	for _, vm := range res.VMs {
		fmt.Fprintf(w, "VM %s (%s), policy: %s\n", vm.VMName, vm.VMID, res.Policy)
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		for _, e := range vm.Archives {
			why := e.Decision
			if len(e.Reasons) > 0 {
				why += ": " + strings.Join(e.Reasons, ", ")
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.ID, e.Type, e.Created.Local().Format("2006-01-02 15:04:05"), why)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "%d archive(s) kept, %s %d (%s of archive files)\n", res.Kept, verb, len(res.Removed), units.FormatBytes(res.BytesFreed))
}

// retentionExit maps forget/delete/prune errors to exit codes: a request
// that cannot be carried out as given and a lock held by another process
// are 2 (nothing changed), the rest as engineExit.
func retentionExit(err error) error {
	switch {
	case errors.Is(err, archive.ErrBadRequest), errors.Is(err, retention.ErrKeepsNothing), errors.Is(err, archive.ErrLocked):
		return withCode(exitUsage, err)
	}
	return engineExit(err)
}

// applyRetention applies the configuration's policy to one VM after a
// successful backup. It never fails the backup: a failure is logged as an
// ERROR and printed as a warning.
func applyRetention(ctx context.Context, a *app, repo *archive.Repo, cfg *config.Config, vmID string, quiet bool, log logging.Log) {
	p, err := cfg.Retention()
	if err != nil {
		log.Errorf("retention after the backup of VM %s: %v", vmID, err)
		fmt.Fprintf(a.stderr, "warning: the backup is done, but the retention policy of the configuration is not valid: %v\n", err)
		return
	}
	if p.Empty() {
		return
	}
	res, err := repo.Forget(ctx, archive.ForgetOptions{Policy: p, VMs: []string{vmID}})
	if err != nil {
		log.Errorf("retention after the backup of VM %s (%s): %v", vmID, p, err)
		fmt.Fprintf(a.stderr, "warning: the backup is done, but applying the retention policy failed: %v\n", err)
		return
	}
	log.Infof("retention after the backup of VM %s (%s): %d archive(s) kept, %d removed: %s", vmID, res.Policy, res.Kept, len(res.Removed), strings.Join(res.Removed, " "))
	if !quiet && len(res.Removed) > 0 {
		fmt.Fprintf(a.stderr, "retention (%s): removed %d archive(s) of this VM\n", res.Policy, len(res.Removed))
	}
}

// engineLog opens the log file for an engine command (forget, delete,
// prune): records go to the file only (the command prints its own
// messages). When the log's directory does not exist (flags only, no
// installation) nothing is logged.
func (a *app) engineLog(cfg *config.Config, op string) *logging.Logger {
	if _, err := os.Stat(filepath.Dir(cfg.LogFile)); err != nil {
		return logging.Discard()
	}
	log, err := a.openLogTo(cfg, io.Discard)
	if err != nil {
		fmt.Fprintf(a.stderr, "warning: %s: cannot open the log: %v\n", op, err)
		return logging.Discard()
	}
	return log
}
