package archive

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"rb_module_rustack/internal/retention"
	"rb_module_rustack/internal/store"
)

// ErrBadRequest wraps the errors of a request that cannot be carried out
// as given (an unknown archive or VM, an archive other archives need):
// nothing was changed. The command line maps it to exit code 2.
var ErrBadRequest = errors.New("bad request")

// ForgetOptions say which archives forget removes.
type ForgetOptions struct {
	Policy   retention.Policy
	VMs      []string       // VM names or ids; empty = every VM
	DryRun   bool           // plan only
	Location *time.Location // time zone of the policy's periods (nil = local)
}

// PlanEntry is one archive of a forget plan.
type PlanEntry struct {
	ID       string    `json:"id"`
	Type     Type      `json:"type"`
	Created  time.Time `json:"created"`
	Size     int64     `json:"size"`
	Decision string    `json:"decision"` // "keep" | "remove"
	Reasons  []string  `json:"reasons"`
}

// VMPlan is the plan for one VM's archives, newest first.
type VMPlan struct {
	VMID     string      `json:"vm_id"`
	VMName   string      `json:"vm_name"`
	Archives []PlanEntry `json:"archives"`
}

// ForgetResult is what forget decided and did.
type ForgetResult struct {
	Policy  string   `json:"policy"`
	DryRun  bool     `json:"dry_run"`
	VMs     []VMPlan `json:"vms"`
	Kept    int      `json:"kept"`
	Removed []string `json:"removed"` // removed (dry run: would be removed)
	// BytesFreed is the size of the archive files removed; in store mode
	// the chunks they referenced are freed by prune.
	BytesFreed int64 `json:"bytes_freed"`
}

// Forget applies a retention policy per VM: for each VM it takes the VM's
// exclusive lock, plans from the archives it then finds, and removes the
// archives the plan does not keep, newest first (so that an interrupted
// forget never leaves a kept archive without its base).
func (r *Repo) Forget(ctx context.Context, o ForgetOptions) (*ForgetResult, error) {
	if err := o.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	all, err := r.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	vmIDs, err := selectVMs(all, o.VMs)
	if err != nil {
		return nil, err
	}
	res := &ForgetResult{Policy: o.Policy.String(), DryRun: o.DryRun, VMs: []VMPlan{}, Removed: []string{}}
	var st *store.Store
	if !o.DryRun {
		if st, err = r.openStoreIfAny(); err != nil {
			return nil, err
		}
	}
	for _, vmID := range vmIDs {
		if err := r.forgetVM(ctx, st, vmID, o, res); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (r *Repo) forgetVM(ctx context.Context, st *store.Store, vmID string, o ForgetOptions, res *ForgetResult) error {
	var locks *held
	if !o.DryRun {
		var err error
		if locks, err = r.lockVMs(ctx, []string{vmID}); err != nil {
			return err
		}
		defer locks.Release()
	}
	// List again under the lock: what the plan sees is what is removed.
	all, err := r.Catalog(ctx)
	if err != nil {
		return err
	}
	needs := Needs(all)
	var items []retention.Item
	byID := map[string]Info{}
	for _, in := range all {
		if in.VMID != vmID {
			continue
		}
		byID[in.ID] = in
		items = append(items, retention.Item{ID: in.ID, Group: in.VMID, Time: in.Created, Needs: needs[in.ID]})
	}
	plan := retention.Apply(o.Policy, items, o.Location)
	for _, g := range plan.Groups {
		vp := VMPlan{VMID: g.Group}
		for _, d := range g.Decisions {
			in := byID[d.ID]
			vp.VMName = in.VMName
			e := PlanEntry{ID: d.ID, Type: in.Type, Created: in.Created, Size: in.Size, Decision: "remove", Reasons: d.Reasons}
			if d.Keep {
				e.Decision = "keep"
				res.Kept++
			}
			if e.Reasons == nil {
				e.Reasons = []string{}
			}
			vp.Archives = append(vp.Archives, e)
		}
		res.VMs = append(res.VMs, vp)
	}
	// Newest first: dependants go before their bases.
	remove := slices.Clone(plan.Remove)
	slices.SortFunc(remove, func(a, b string) int { return byID[b].Created.Compare(byID[a].Created) })
	for _, id := range remove {
		in := byID[id]
		if !o.DryRun {
			if err := r.removeArchive(ctx, st, in); err != nil {
				return err
			}
		}
		res.Removed = append(res.Removed, id)
		res.BytesFreed += in.Size
	}
	return nil
}

// selectVMs returns the VM ids that names (names or ids) select, sorted;
// every VM of list when names is empty. A name that matches no archive is
// an error.
func selectVMs(list []Info, names []string) ([]string, error) {
	set := map[string]bool{}
	for _, in := range list {
		if in.VMID == "" {
			continue // damaged: no VM known
		}
		if len(names) == 0 {
			set[in.VMID] = true
		}
	}
	for _, n := range names {
		found := false
		for _, in := range list {
			if in.VMID != "" && (in.VMID == n || in.VMName == n) {
				set[in.VMID] = true
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: no archive of VM %q in this repository (the archives command lists them)", ErrBadRequest, n)
		}
	}
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// DeleteResult lists what delete removed.
type DeleteResult struct {
	DryRun     bool     `json:"dry_run"`
	Removed    []string `json:"removed"`
	BytesFreed int64    `json:"bytes_freed"`
}

// Delete removes the named archives (ids). It refuses, naming them, when
// other archives need one of them (their chain), unless withDependants:
// then those are removed too. The decision is made again under the VMs'
// exclusive locks, so a backup that committed meanwhile is seen.
func (r *Repo) Delete(ctx context.Context, ids []string, withDependants, dryRun bool) (*DeleteResult, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no archive given", ErrBadRequest)
	}
	all, err := r.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	want, byID, err := deleteSet(all, ids, withDependants)
	if err != nil {
		return nil, err
	}
	res := &DeleteResult{DryRun: dryRun, Removed: []string{}}
	var st *store.Store
	if !dryRun {
		vms := map[string]bool{}
		for _, id := range want {
			vms[byID[id].VMID] = true
		}
		var vmIDs []string
		for v := range vms {
			vmIDs = append(vmIDs, v)
		}
		slices.Sort(vmIDs)
		locks, err := r.lockVMs(ctx, vmIDs)
		if err != nil {
			return nil, err
		}
		defer locks.Release()
		if all, err = r.Catalog(ctx); err != nil {
			return nil, err
		}
		if want, byID, err = deleteSet(all, ids, withDependants); err != nil {
			return nil, err
		}
		if st, err = r.openStoreIfAny(); err != nil {
			return nil, err
		}
	}
	for _, id := range want {
		in := byID[id]
		if !dryRun {
			if err := r.removeArchive(ctx, st, in); err != nil {
				return res, err
			}
		}
		res.Removed = append(res.Removed, id)
		res.BytesFreed += in.Size
	}
	return res, nil
}

// deleteSet resolves the ids to delete, adding their dependants with
// withDependants and refusing without; newest first.
func deleteSet(all []Info, ids []string, withDependants bool) ([]string, map[string]Info, error) {
	byID := map[string]Info{}
	for _, in := range all {
		byID[in.ID] = in
	}
	var want []string
	for _, id := range ids {
		id = strings.TrimSuffix(id, archiveExt)
		if _, ok := byID[id]; !ok {
			return nil, nil, fmt.Errorf("%w: %w: %q is not an archive of this repository (the archives command lists them)", ErrBadRequest, ErrNotFound, id)
		}
		if !slices.Contains(want, id) {
			want = append(want, id)
		}
	}
	needs := Needs(all)
	items := make([]retention.Item, 0, len(all))
	for _, in := range all {
		items = append(items, retention.Item{ID: in.ID, Group: in.VMID, Time: in.Created, Needs: needs[in.ID]})
	}
	deps := retention.Dependants(items, want)
	var blocked []string
	for _, id := range slices.Clone(want) {
		d := deps[id]
		if len(d) == 0 {
			continue
		}
		if !withDependants {
			blocked = append(blocked, fmt.Sprintf("%s is needed by %s", id, strings.Join(d, ", ")))
			continue
		}
		for _, x := range d {
			if !slices.Contains(want, x) {
				want = append(want, x)
			}
		}
	}
	if len(blocked) > 0 {
		return nil, nil, fmt.Errorf("%w: %s: delete them too with --with-dependants, or keep it", ErrBadRequest, strings.Join(blocked, "; "))
	}
	slices.SortFunc(want, func(a, b string) int {
		if c := byID[b].Created.Compare(byID[a].Created); c != 0 {
			return c
		}
		return strings.Compare(b, a)
	})
	return want, byID, nil
}
