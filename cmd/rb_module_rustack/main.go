// Command rb_module_rustack backs up and restores RUSTACK virtual machines.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"rb_module_rustack/internal/progress"
)

func main() {
	spareProc()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Progress bars and everything else written to stderr share the
	// terminal: text goes above the bars.
	a := newApp(os.Stdout, progress.NewConsole(os.Stderr))
	err := execute(ctx, a, newRootCmd(a))
	stop()
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.err != nil {
				fmt.Fprintln(os.Stderr, "error:", ee.err)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(exitFailure)
	}
}

// spareProc runs Go code on one more thread than there are CPUs, unless
// GOMAXPROCS is set. A backup or restore blocks in disk syscalls (O_DIRECT
// writes of 4 MiB, cold reads) that take milliseconds each; the thread in
// such a call keeps its P until the runtime's monitor takes it back, which
// it does late when it polls slowly, and meanwhile a core sits idle with
// work queued. Measured on the 2-core bench machine: iowait during a first
// backup halves and the backup is 3-4 % faster; with no blocking calls the
// extra P costs nothing measurable.
func spareProc() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	}
}
