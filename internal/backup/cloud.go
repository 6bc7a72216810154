package backup

import (
	"context"

	"rb_module_rustack/internal/api"
	"rb_module_rustack/internal/guest"
	"rb_module_rustack/internal/logging"
	"rb_module_rustack/internal/snapshot"
)

// Sweep removes what killed runs left in the cloud (the journals in
// journalDir name it) and logs each resource removed. Its error never
// fails a backup by itself: the caller reports it.
func Sweep(ctx context.Context, c snapshot.Cloud, journalDir string, t snapshot.Timeouts, log logging.Log) ([]snapshot.Removed, error) {
	removed, err := snapshot.Sweep(ctx, c, journalDir, snapshot.SweepOptions{Timeouts: t, Log: log})
	for _, r := range removed {
		log.Infof("removed leftover %s %s (%s) of job %s", r.Kind, r.ID, r.Name, r.Job)
	}
	return removed, err
}

// GuestOptions say how the guest scripts of a VM are reached and which run.
// Scripts.Log is set by GuestScripts.
type GuestOptions struct {
	Transport guest.TransportOptions
	Scripts   guest.ScriptOptions
}

// GuestScripts makes the guest scripts of a VM (snapshot.Options.Scripts)
// through qemu-guest-agent on the VM's hypervisor. A transport that cannot
// be made is an error, unless the scripts' errors are ignored: then the
// backup goes on without scripts and says so in the log.
func GuestScripts(o GuestOptions, log logging.Log) func(ctx context.Context, admin *api.Server) (snapshot.Scripts, error) {
	return func(ctx context.Context, admin *api.Server) (snapshot.Scripts, error) {
		t, err := guest.NewTransport(o.Transport, admin.Host)
		if err != nil {
			if o.Scripts.IgnoreErrors {
				log.Warnf("guest scripts skipped (ignore_script_errors): %v", err)
				return nil, nil
			}
			return nil, err
		}
		so := o.Scripts
		so.Log = log
		return guest.NewScripts(guest.NewAgent(t, admin.InstanceName), so), nil
	}
}
