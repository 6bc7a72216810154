package restore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"rb_module_rustack/internal/api"
)

// Plan is what a restore into the cloud will create, decided before
// anything is: the recorded values and the user's overrides checked
// against what the cloud still has, with a note for each change.
type Plan struct {
	Name           string // server name
	Flavor         api.Flavor
	Networks       []string // ids; empty = none
	KeyName        string
	SecurityGroups []string
	Metadata       map[string]string
	Zone           string // server availability zone
	Disks          []DiskPlan
	Notes          []string
}

// DiskPlan is the new volume of one disk.
type DiskPlan struct {
	Disk
	Size int    // in units of PlanOptions.Unit (GiB)
	Type string // volume type; "" = the default
	Zone string // volume availability zone; "" = the default
	Name string // volume name
	// TypeChecked/ZoneChecked: the value was confirmed to exist (or given
	// by the user), so a failing create is not retried without it.
	TypeChecked, ZoneChecked bool
}

// Note adds a note to the plan.
func (p *Plan) Note(format string, args ...any) {
	p.Notes = append(p.Notes, fmt.Sprintf(format, args...))
}

// PlanOptions are what a plan starts from besides the VM.
type PlanOptions struct {
	Overrides
	Unit          int64  // bytes per volume size unit: 0 = GiB (Cinder)
	ArchiveVMName string // the manifest's VM name (the server name when the description has none)
}

// PlanServer plans a new server and one new volume per disk of vm (named
// after the server): the flavor, networks, key pair, security groups,
// metadata, zone, a free name (<name>, <name>-1, ...) and each volume's size,
// type and zone.
func PlanServer(ctx context.Context, c Catalog, vm *VM, o PlanOptions) (*Plan, error) {
	pl := newPlanner(c, vm, &o)
	for _, step := range []func(context.Context) error{pl.resolveFlavor, pl.resolveNetworks, pl.resolveKeyAndGroups,
		func(context.Context) error { pl.resolveMetadata(); return nil }, pl.resolveServerZone, pl.resolveName} {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	p := pl.p
	if err := pl.resolveDisks(ctx, vm.Disks, func(d Disk) string { return VolumeName(p.Name, d.Label) }); err != nil {
		return nil, err
	}
	return p, nil
}

// PlanVolume plans one new volume, named name, for disk d of vm.
func PlanVolume(ctx context.Context, c Catalog, vm *VM, d Disk, name string, o PlanOptions) (*Plan, error) {
	pl := newPlanner(c, vm, &o)
	if err := pl.resolveDisks(ctx, []Disk{d}, func(Disk) string { return name }); err != nil {
		return nil, err
	}
	return pl.p, nil
}

// planner resolves the recorded values and the overrides against what the
// cloud still has.
type planner struct {
	c  Catalog
	o  *PlanOptions
	vm *VM
	p  *Plan
}

func newPlanner(c Catalog, vm *VM, o *PlanOptions) *planner {
	if o.Unit <= 0 {
		o.Unit = GiB
	}
	return &planner{c: c, o: o, vm: vm, p: &Plan{}}
}

// resolveFlavor finds the flavor to boot with. A recorded flavor that no
// longer exists is an error naming it and the override, unless --flavor is
// given.
func (pl *planner) resolveFlavor(ctx context.Context) error {
	want, recorded := pl.o.Flavor, false
	if want == "" {
		recorded = true
		want = cmpOr(pl.vm.FlavorID, pl.vm.FlavorName)
	}
	if want == "" {
		return fmt.Errorf("the archive records no flavor for VM %q: give one with --flavor ID|NAME", pl.vm.Name)
	}
	f, err := pl.c.GetFlavor(ctx, want)
	if err == nil {
		pl.p.Flavor = *f
		return nil
	}
	if !api.IsNotFound(err) {
		return fmt.Errorf("look up flavor %s: %w", want, err)
	}
	all, lerr := pl.c.ListFlavors(ctx)
	if lerr != nil {
		return fmt.Errorf("look up flavor %s: %w", want, lerr)
	}
	names := []string{want}
	if recorded && pl.vm.FlavorName != "" {
		names = append(names, pl.vm.FlavorName)
	}
	for _, n := range names {
		for _, f := range all {
			if f.Name == n || f.ID == n {
				pl.p.Flavor = f
				if recorded && f.ID != pl.vm.FlavorID {
					pl.p.Note("flavor id %s no longer exists; using flavor %s (id %s), which has the recorded name",
						pl.vm.FlavorID, f.Name, f.ID)
				}
				return nil
			}
		}
	}
	avail := make([]string, 0, len(all))
	for _, f := range all {
		avail = append(avail, fmt.Sprintf("%s (id %s)", f.Name, f.ID))
	}
	slices.Sort(avail)
	if recorded {
		return fmt.Errorf("the VM's flavor %s no longer exists: choose another with --flavor ID|NAME (available: %s)",
			flavorLabel(pl.vm.FlavorID, pl.vm.FlavorName), strings.Join(avail, ", "))
	}
	return fmt.Errorf("flavor %q given with --flavor does not exist (available: %s)", want, strings.Join(avail, ", "))
}

// cannotCheck notes that what could not be listed is used as recorded (or
// as given); the cloud then refuses it if it is really gone. It returns false
// (the value for "can list").
func (pl *planner) cannotCheck(what string, err error) bool {
	pl.p.Note("could not check the %s (%v): the recorded or given values are used unchecked", what, err)
	return false
}

func flavorLabel(id, name string) string {
	switch {
	case id != "" && name != "" && id != name:
		return fmt.Sprintf("%s (id %s)", name, id)
	case name != "":
		return name
	}
	return id
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// resolveNetworks picks the networks: the overrides (checked when the cloud
// can list networks), else the recorded ones that still exist.
func (pl *planner) resolveNetworks(ctx context.Context) error {
	lister, canList := pl.c.(NetworkLister)
	var known []api.Network
	if canList {
		var err error
		if known, err = lister.ListNetworks(ctx); err != nil {
			canList = pl.cannotCheck("networks", err)
		}
	}
	find := func(idOrName string) (string, bool) {
		for _, n := range known {
			if n.ID == idOrName {
				return n.ID, true
			}
		}
		for _, n := range known {
			if n.Name == idOrName && n.Name != "" {
				return n.ID, true
			}
		}
		return "", false
	}
	if pl.o.Networks != nil {
		if len(pl.o.Networks) == 1 && strings.EqualFold(pl.o.Networks[0], None) {
			pl.p.Networks = nil
			return nil
		}
		for _, n := range pl.o.Networks {
			if !canList {
				pl.p.Networks = append(pl.p.Networks, n)
				continue
			}
			id, ok := find(n)
			if !ok {
				return fmt.Errorf("network %q given with --network does not exist", n)
			}
			pl.p.Networks = append(pl.p.Networks, id)
		}
		return nil
	}
	for _, n := range pl.vm.Networks {
		switch {
		case !canList && n.ID != "":
			pl.p.Networks = append(pl.p.Networks, n.ID)
		case !canList:
			pl.p.Note("network %q is recorded without an id and cannot be looked up: dropped (give --network ID)", n.Name)
		default:
			id, ok := find(cmpOr(n.ID, n.Name))
			if !ok && n.ID != "" && n.Name != "" {
				id, ok = find(n.Name)
			}
			if !ok {
				pl.p.Note("network %s no longer exists: dropped (give --network ID to choose one)", netLabel(n))
				continue
			}
			if id != n.ID && n.ID != "" {
				pl.p.Note("network id %s no longer exists; using network %s (id %s), which has the recorded name", n.ID, n.Name, id)
			}
			pl.p.Networks = append(pl.p.Networks, id)
		}
	}
	pl.p.Networks = slices.Compact(pl.p.Networks)
	if len(pl.vm.Networks) > 0 && len(pl.p.Networks) == 0 {
		pl.p.Note("none of the recorded networks exists any more: the server has no network (give --network ID)")
	}
	return nil
}

func netLabel(n api.Network) string {
	switch {
	case n.Name != "" && n.ID != "":
		return fmt.Sprintf("%s (id %s)", n.Name, n.ID)
	case n.Name != "":
		return n.Name
	}
	return n.ID
}

// resolveKeyAndGroups picks the key pair and the security groups.
func (pl *planner) resolveKeyAndGroups(ctx context.Context) error {
	switch key := pl.o.KeyName; {
	case strings.EqualFold(key, None):
	case key != "":
		if l, ok := pl.c.(KeyPairLister); ok {
			names, err := l.ListKeyPairs(ctx)
			if err != nil {
				pl.cannotCheck("key pairs", err)
			} else if !slices.Contains(names, key) {
				return fmt.Errorf("key pair %q given with --key-name does not exist", key)
			}
		}
		pl.p.KeyName = key
	case pl.vm.KeyName != "":
		pl.p.KeyName = pl.vm.KeyName
		if l, ok := pl.c.(KeyPairLister); ok {
			names, err := l.ListKeyPairs(ctx)
			if err != nil {
				pl.cannotCheck("key pairs", err)
			} else if !slices.Contains(names, pl.vm.KeyName) {
				pl.p.KeyName = ""
				pl.p.Note("key pair %q no longer exists: the server has no key pair (give --key-name NAME)", pl.vm.KeyName)
			}
		}
	}

	groups, recorded := pl.o.SecurityGroups, false
	if groups == nil {
		groups, recorded = pl.vm.SecurityGroups, true
	}
	if len(groups) == 1 && strings.EqualFold(groups[0], None) {
		return nil
	}
	l, canList := pl.c.(SecurityGroupLister)
	var known []string
	if canList && len(groups) > 0 {
		var err error
		if known, err = l.ListSecurityGroups(ctx); err != nil {
			canList = pl.cannotCheck("security groups", err)
		}
	}
	for _, g := range groups {
		if canList && !slices.Contains(known, g) {
			if !recorded {
				return fmt.Errorf("security group %q given with --security-group does not exist", g)
			}
			pl.p.Note("security group %q no longer exists: dropped (give --security-group NAME)", g)
			continue
		}
		pl.p.SecurityGroups = append(pl.p.SecurityGroups, g)
	}
	pl.p.SecurityGroups = slices.Compact(pl.p.SecurityGroups)
	return nil
}

// resolveMetadata copies the recorded metadata (unless NoMetadata) and
// applies the overrides.
func (pl *planner) resolveMetadata() {
	md := map[string]string{}
	if !pl.o.NoMetadata {
		maps.Copy(md, pl.vm.Metadata)
	}
	maps.Copy(md, pl.o.Metadata)
	if len(md) > 0 {
		pl.p.Metadata = md
	}
}

// resolveZones picks the server's availability zone.
func (pl *planner) resolveServerZone(ctx context.Context) error {
	if z := pl.o.AvailabilityZone; z != "" {
		pl.p.Zone = z
		return nil
	}
	z := pl.vm.AvailabilityZone
	if z == "" {
		return nil
	}
	if l, ok := pl.c.(ServerZoneLister); ok {
		zones, err := l.ListServerAvailabilityZones(ctx)
		if err != nil {
			pl.cannotCheck("availability zones", err)
		} else if !slices.Contains(zones, z) {
			pl.p.Note("availability zone %q no longer exists: the scheduler picks one (give --availability-zone)", z)
			return nil
		}
	}
	pl.p.Zone = z
	return nil
}

// resolveDisks sizes each new volume and picks its type and zone.
func (pl *planner) resolveDisks(ctx context.Context, disks []Disk, name func(Disk) string) error {
	var types, zones []string
	typeL, canTypes := pl.c.(VolumeTypeLister)
	zoneL, canZones := pl.c.(VolumeZoneLister)
	needTypes, needZones := false, false
	for _, d := range disks {
		needTypes = needTypes || d.VolumeType != ""
		needZones = needZones || d.AvailabilityZone != ""
	}
	if canTypes && needTypes && pl.o.VolumeType == "" {
		var err error
		if types, err = typeL.ListVolumeTypes(ctx); err != nil {
			canTypes = pl.cannotCheck("volume types", err)
		}
	}
	if canZones && needZones && pl.o.VolumeAvailabilityZone == "" {
		var err error
		if zones, err = zoneL.ListVolumeAvailabilityZones(ctx); err != nil {
			canZones = pl.cannotCheck("volume availability zones", err)
		}
	}
	for _, d := range disks {
		dp := DiskPlan{Disk: d, Size: d.SizeUnits(pl.o.Unit), Name: name(d)}
		if d.SizeGiB > 0 && dp.Size > d.SizeGiB {
			pl.p.Note("disk %s: the recorded volume size %d GiB is smaller than its %d bytes: the new volume has %d GiB",
				d.Label, d.SizeGiB, d.Bytes, dp.Size)
		}
		switch {
		case pl.o.VolumeType != "":
			dp.Type, dp.TypeChecked = pl.o.VolumeType, true
		case d.VolumeType == "":
		case canTypes && !slices.Contains(types, d.VolumeType):
			pl.p.Note("disk %s: volume type %q no longer exists: the default type is used (give --volume-type)", d.Label, d.VolumeType)
		default:
			dp.Type, dp.TypeChecked = d.VolumeType, canTypes
		}
		switch {
		case pl.o.VolumeAvailabilityZone != "":
			dp.Zone, dp.ZoneChecked = pl.o.VolumeAvailabilityZone, true
		case d.AvailabilityZone == "":
		case canZones && !slices.Contains(zones, d.AvailabilityZone):
			pl.p.Note("disk %s: volume availability zone %q no longer exists: the default zone is used (give --volume-availability-zone)",
				d.Label, d.AvailabilityZone)
		default:
			dp.Zone, dp.ZoneChecked = d.AvailabilityZone, canZones
		}
		pl.p.Disks = append(pl.p.Disks, dp)
	}
	return nil
}

// resolveName picks the server name: the override as given, else the
// recorded name if free, else <name>-1, <name>-2, ...
func (pl *planner) resolveName(ctx context.Context) error {
	servers, err := pl.c.ListServers(ctx)
	if err != nil {
		return fmt.Errorf("list servers to choose a free name: %w", err)
	}
	taken := make([]string, 0, len(servers))
	for _, s := range servers {
		taken = append(taken, s.Name)
	}
	if n := pl.o.Name; n != "" {
		pl.p.Name = n
		if slices.Contains(taken, n) {
			pl.p.Note("another server is already named %q (--name is used as given)", n)
		}
		return nil
	}
	base := pl.vm.Name
	if base == "" {
		base = cmpOr(pl.o.ArchiveVMName, "restored-vm")
	}
	pl.p.Name = freeName(base, taken)
	return nil
}
