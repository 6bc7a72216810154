package main

// Progress on stderr: --progress auto|always|never and --quiet, shared by
// every command (docs/progress in README.md, "Progress").

import (
	"fmt"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/progress"
)

// addProgressFlags registers the global --progress and --quiet flags.
func addProgressFlags(root *cobra.Command, a *app) {
	f := root.PersistentFlags()
	f.StringVar(&a.progress, "progress", "auto", "progress bars on stderr: auto (when stderr is a terminal) | always | never")
	f.BoolVarP(&a.quiet, "quiet", "q", false, "no progress bars")
}

// checkProgressFlag refuses a --progress value that is not a mode.
func (a *app) checkProgressFlag() error {
	if _, ok := progress.ParseMode(a.progress); !ok {
		return withCode(exitUsage, fmt.Errorf("--progress %q: want auto, always or never", a.progress))
	}
	return nil
}

// progressMode is the mode of --progress; --quiet and --json (asJSON) mean
// never.
func (a *app) progressMode(asJSON bool) progress.Mode {
	if asJSON || a.quiet {
		return progress.Never
	}
	m, _ := progress.ParseMode(a.progress)
	return m
}

// bars returns the progress bars of a job on stderr; verb says what is
// done to the bytes ("reading", "writing", "verifying", "pruning").
func (a *app) bars(verb string, asJSON bool) *progress.Bars {
	return progress.New(a.stderr, verb, a.progressMode(asJSON))
}

// packBars is a progress callback over the packs prune or verify --all
// reads and writes (nil when the bars are off); call Finish on the bars.
func packBars(b *progress.Bars) func(done, total int64) {
	if !b.On() {
		return nil
	}
	return func(done, total int64) { b.Update("packs", done, total) }
}

// diskBars is a per-disk progress callback that draws on b (nil when the
// bars are off, so that nothing counts for nothing).
func diskBars(b *progress.Bars) func(label string, done, size int64) {
	if !b.On() {
		return nil
	}
	return b.Update
}
