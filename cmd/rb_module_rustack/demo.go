package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"rb_module_rustack/internal/crypt"
	"rb_module_rustack/internal/demo"
)

type demoOpts struct {
	dir      string
	keep     bool
	bootMiB  int
	dataMiB  int
	cipher   string
	changes  int
	parallel int
	faults   []string
}

func newDemoCmd(a *app) *cobra.Command {
	var o demoOpts
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "run the whole backup flow against an in-process fake cloud: full, changes, incremental, restore, verify",
		Long: `Runs the real backup code (the same snapshot flow and archive engine as
"backup") against an in-process fake cloud whose volumes are sparse files in
a temporary directory: no service, no configuration file, no root. It makes a
VM with a boot disk (text, then zeros) and a data disk (random bytes), takes a
full backup, changes scattered blocks, takes an incremental, restores the
chain to a local directory, compares every byte with the VM's disks, verifies
the archives, and checks that no snapshot, temporary volume, attachment or
journal is left. Each step prints what it did and how fast.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runDemo(cmd.Context(), a, &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "", "work directory (default: a new temporary directory, removed at the end)")
	f.BoolVar(&o.keep, "keep", false, "keep the work directory (cloud files, pool, key, restored images)")
	f.IntVar(&o.bootMiB, "boot-mib", 64, "size of the boot disk in MiB")
	f.IntVar(&o.dataMiB, "data-mib", 32, "size of the data disk in MiB")
	f.IntVar(&o.changes, "changes", 256, "4 KiB blocks changed before the incremental")
	f.StringVar(&o.cipher, "cipher", crypt.AES256GCM, strings.Join(crypt.Names(), " | "))
	f.IntVar(&o.parallel, "disk-parallelism", 2, "disks read at once")
	f.StringArrayVar(&o.faults, "fail", nil, "inject a fault into the full backup: OP:N fails the N-th call of a cloud operation (e.g. CreateVolume:2, DetachVolume:1), \"device\" hides the attached devices (repeatable)")
	return cmd
}

func runDemo(ctx context.Context, a *app, o *demoOpts) error {
	if o.bootMiB < 1 || o.dataMiB < 1 || o.bootMiB > 4096 || o.dataMiB > 4096 {
		return withCode(exitUsage, errors.New("--boot-mib and --data-mib: 1..4096"))
	}
	if err := checkCipher("cipher", o.cipher); err != nil {
		return err
	}
	var faults []demo.Fault
	for _, f := range o.faults {
		if f == "device" {
			faults = append(faults, demo.Fault{Op: f})
			continue
		}
		op, ns, ok := strings.Cut(f, ":")
		n, err := strconv.Atoi(ns)
		if !ok || err != nil || n < 1 || op == "" {
			return withCode(exitUsage, fmt.Errorf("--fail %q: want OP:N (N >= 1) or device", f))
		}
		if !slices.Contains(demo.FaultOperations(), op) {
			return withCode(exitUsage, fmt.Errorf("--fail %q: unknown operation %q; the fake cloud's operations are %s, and \"device\" hides the attached devices",
				f, op, strings.Join(demo.FaultOperations(), ", ")))
		}
		faults = append(faults, demo.Fault{Op: op, N: n})
	}
	err := demo.Run(ctx, demo.Options{
		Dir: o.dir, Keep: o.keep, BootMiB: o.bootMiB, DataMiB: o.dataMiB, Changes: o.changes, Cipher: o.cipher,
		DiskParallelism: o.parallel, Faults: faults, ToolVersion: toolVersion(), Out: a.stdout,
	})
	var de *demo.DamageError
	if errors.As(err, &de) {
		return withCode(exitIntegrity, err)
	}
	return canceledOr(ctx, err)
}
