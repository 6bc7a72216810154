package fakecloud

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"rb_module_rustack/internal/api"
)

// Options configure a fake cloud.
type Options struct {
	Dir       string        // required: volumes/, snapshots/ and servers/ are made here
	Delay     time.Duration // each asynchronous status step; default 5 ms
	Poll      time.Duration // poll interval of the Wait* calls; default 5 ms
	Unit      int64         // bytes per size unit (Cinder's GiB); default 1 GiB. Tests use 1 MiB.
	ProjectID string        // default "fake-project"
	Host      string        // OS-EXT-SRV-ATTR:host of every server; default "fake-host"
	NoAdmin   bool          // GetServerAdmin answers api.ErrNoAdmin

	MaxVolumes   int // quota; 0 = unlimited
	MaxSnapshots int // quota; 0 = unlimited
}

// HTTPError is an error answer of the fake API, shaped like OpenStack's.
type HTTPError struct {
	Code    int
	Message string
}

func (e *HTTPError) Error() string { return fmt.Sprintf("fakecloud: %d: %s", e.Code, e.Message) }

// GetStatusCode is the HTTP status (as gophercloud's errors report it).
func (e *HTTPError) GetStatusCode() int { return e.Code }

// Is makes 404 answers match api.ErrNotFound.
func (e *HTTPError) Is(target error) bool { return e.Code == 404 && target == api.ErrNotFound }

func badRequest(format string, a ...any) error {
	return &HTTPError{Code: 400, Message: fmt.Sprintf(format, a...)}
}
func notFound(kind, id string) error {
	return &HTTPError{Code: 404, Message: fmt.Sprintf("%s %s could not be found", kind, id)}
}

type volume struct {
	v      api.Volume
	server string // attached to ("" when not)
	device string
	root   bool // boot disk of its server: cannot be detached
}

type snapshot struct {
	s api.Snapshot
}

type server struct {
	s        api.Server
	deleting bool
	reserved []*volume // volumes reserved by CreateServer until the server is ACTIVE
}

type fault struct {
	n     int // call ordinal (1-based); 0 = every call
	err   error
	after bool // perform the call, then fail
}

// Cloud is an in-process cloud satisfying api.Cloud, with file-backed
// volumes. The zero value is not usable; call New.
type Cloud struct {
	o Options

	lmu    sync.Mutex // guards closed and wg.Add; never held while taking mu
	closed bool
	wg     sync.WaitGroup

	mu        sync.Mutex
	seq       int
	servers   map[string]*server
	volumes   map[string]*volume
	snapshots map[string]*snapshot
	flavors   map[string]api.Flavor
	calls     map[string]int
	faults    map[string][]fault
	stuck     map[string]bool     // kind+"/"+status
	broken    map[string]bool     // kind+"/"+status: the step goes to "error"
	pending   map[string][]func() // kind+"/"+status: steps held by Stick
	hideDev   bool                //
	history   []string            // every call, in order (for tests)
	hooks     map[string]func(ctx context.Context) error
}

var _ api.Cloud = (*Cloud)(nil)

// New makes an empty fake cloud in o.Dir with flavors "1" (m1.tiny) and
// "2" (m1.small).
func New(o Options) (*Cloud, error) {
	if o.Dir == "" {
		return nil, errors.New("fakecloud: Options.Dir is required")
	}
	if o.Delay <= 0 {
		o.Delay = 5 * time.Millisecond
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Millisecond
	}
	if o.Unit <= 0 {
		o.Unit = 1 << 30
	}
	if o.ProjectID == "" {
		o.ProjectID = "fake-project"
	}
	if o.Host == "" {
		o.Host = "fake-host"
	}
	for _, d := range []string{"volumes", "snapshots", "servers"} {
		if err := os.MkdirAll(filepath.Join(o.Dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("fakecloud: %w", err)
		}
	}
	return &Cloud{
		o:         o,
		servers:   map[string]*server{},
		volumes:   map[string]*volume{},
		snapshots: map[string]*snapshot{},
		flavors: map[string]api.Flavor{
			"1": {ID: "1", Name: "m1.tiny", VCPUs: 1, RAM: 512},
			"2": {ID: "2", Name: "m1.small", VCPUs: 1, RAM: 2048, Disk: 1},
		},
		calls:   map[string]int{},
		faults:  map[string][]fault{},
		stuck:   map[string]bool{},
		broken:  map[string]bool{},
		pending: map[string][]func(){},
		hooks:   map[string]func(context.Context) error{},
	}, nil
}

// Close stops the asynchronous status steps and waits for those running.
func (c *Cloud) Close() {
	c.lmu.Lock()
	c.closed = true
	c.lmu.Unlock()
	c.mu.Lock()
	c.pending = map[string][]func(){}
	c.mu.Unlock()
	c.wg.Wait()
}

// Unit is the size of one size unit in bytes.
func (c *Cloud) Unit() int64 { return c.o.Unit }

// VolumePath is the backing file of a volume.
func (c *Cloud) VolumePath(id string) string {
	return filepath.Join(c.o.Dir, "volumes", "volume-"+id+".img")
}

// SnapshotPath is the backing file of a snapshot.
func (c *Cloud) SnapshotPath(id string) string {
	return filepath.Join(c.o.Dir, "snapshots", "snapshot-"+id+".img")
}

// DeviceDir is the emulated /dev/disk/by-id of a server.
func (c *Cloud) DeviceDir(serverID string) string {
	return filepath.Join(c.o.Dir, "servers", serverID, "dev", "disk", "by-id")
}

// DeviceName is the by-id link name of a volume: virtio-<id[:20]>.
func DeviceName(volumeID string) string {
	if len(volumeID) > 20 {
		volumeID = volumeID[:20]
	}
	return "virtio-" + volumeID
}

// ---- fault injection ----------------------------------------------------

// Fail makes call number n (1-based, counted from the cloud's creation) of
// op fail with err before it has any effect; n = 0 makes every call fail.
// op is a Cloud method name, e.g. "CreateSnapshot" or "WaitVolume".
func (c *Cloud) Fail(op string, n int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults[op] = append(c.faults[op], fault{n: n, err: err})
}

// FailAfter makes call number n of op take effect and then return err, as
// when the answer is lost on the way back (the resource exists, the caller
// never learns its id).
func (c *Cloud) FailAfter(op string, n int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults[op] = append(c.faults[op], fault{n: n, err: err, after: true})
}

// Hook runs fn at the start of every call of op (before fault checks, with
// no lock held); a non-nil error fails the call. Tests use it to cancel a
// context or to block at a precise step.
func (c *Cloud) Hook(op string, fn func(ctx context.Context) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fn == nil {
		delete(c.hooks, op)
		return
	}
	c.hooks[op] = fn
}

// ClearFaults removes every Fail, FailAfter, Hook, Stick, Break and HideDevices.
// Steps held by Stick resume.
func (c *Cloud) ClearFaults() {
	c.mu.Lock()
	c.faults = map[string][]fault{}
	c.hooks = map[string]func(context.Context) error{}
	c.broken = map[string]bool{}
	c.hideDev = false
	keys := make([]string, 0, len(c.stuck))
	for k := range c.stuck {
		keys = append(keys, k)
	}
	c.mu.Unlock()
	for _, k := range keys {
		kind, status, _ := strings.Cut(k, "/")
		c.Unstick(kind, status)
	}
}

// Calls is how many times op was called.
func (c *Cloud) Calls(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

// History is every call made so far, in order ("CreateSnapshot", ...).
func (c *Cloud) History() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.history)
}

// Stick holds every resource of kind ("volume", "snapshot", "server") that
// is, or comes to be, in status (e.g. "creating", "attaching", "detaching",
// "deleting", "BUILD") there until Unstick.
func (c *Cloud) Stick(kind, status string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stuck[kind+"/"+status] = true
}

// Unstick releases Stick(kind, status); held resources move on.
func (c *Cloud) Unstick(kind, status string) {
	c.mu.Lock()
	k := kind + "/" + status
	delete(c.stuck, k)
	held := c.pending[k]
	delete(c.pending, k)
	c.mu.Unlock()
	for _, fn := range held {
		c.later(fn)
	}
}

// Break makes the step out of status of every resource of kind go to
// "error" instead (e.g. Break("volume", "creating")).
func (c *Cloud) Break(kind, status string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.broken[kind+"/"+status] = true
}

// HideDevices makes attachments complete without their by-id link (the
// device never appears in the server's device dir).
func (c *Cloud) HideDevices(hide bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hideDev = hide
}

// call counts op and applies the faults; the returned function must be
// called with the call's result to apply a FailAfter.
func (c *Cloud) call(ctx context.Context, op string) (after func(error) error, err error) {
	c.mu.Lock()
	hook := c.hooks[op]
	c.mu.Unlock()
	if hook != nil {
		if err := hook(ctx); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[op]++
	n := c.calls[op]
	c.history = append(c.history, op)
	var late error
	for _, f := range c.faults[op] {
		if f.n != 0 && f.n != n {
			continue
		}
		if !f.after {
			return nil, fmt.Errorf("%s (injected, call %d): %w", op, n, f.err)
		}
		late = fmt.Errorf("%s (injected after effect, call %d): %w", op, n, f.err)
	}
	return func(res error) error {
		if res == nil && late != nil {
			return late
		}
		return res
	}, nil
}

// ---- asynchronous steps ---------------------------------------------------

// later runs fn after the configured delay, unless the cloud is closed.
// It may be called with c.mu held.
func (c *Cloud) later(fn func()) {
	c.lmu.Lock()
	if c.closed {
		c.lmu.Unlock()
		return
	}
	c.wg.Add(1)
	c.lmu.Unlock()
	time.AfterFunc(c.o.Delay, func() {
		defer c.wg.Done()
		fn()
	})
}

// step schedules the move of resource kind/id out of status from: after
// the delay, if it is still in from (and not held by Stick), apply runs
// with the lock held and returns the new status' side effects done.
// status reads the resource's current status ("" when gone).
func (c *Cloud) step(kind, from string, status func() string, apply func(broken bool)) {
	var fn func()
	fn = func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.isClosed() || status() != from {
			return
		}
		k := kind + "/" + from
		if c.stuck[k] {
			c.pending[k] = append(c.pending[k], fn)
			return
		}
		apply(c.broken[k])
	}
	c.later(fn)
}

func (c *Cloud) isClosed() bool {
	c.lmu.Lock()
	defer c.lmu.Unlock()
	return c.closed
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ---- test helpers ---------------------------------------------------------

// Disk describes a volume of a server made by AddServer.
type Disk struct {
	Name     string // default "<server>-disk<i>"
	Size     int    // in units (Options.Unit); default 1
	Type     string // volume type; default "fake"
	Content  []byte // written at offset 0
	Bootable bool   // the first disk is always bootable
}

// AddServer creates an ACTIVE server with its volumes already attached
// (the first one is the boot disk), synchronously, with by-id links. It
// returns the admin view of the server.
func (c *Cloud) AddServer(name string, disks ...Disk) (*api.Server, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	srv := &server{s: api.Server{
		ID: newID(), Name: name, Status: "ACTIVE", ProjectID: c.o.ProjectID,
		FlavorID: "2", FlavorName: "m1.small", AvailabilityZone: "nova",
		SecurityGroups: []string{"default"}, Metadata: map[string]string{},
		Host: c.o.Host, InstanceName: fmt.Sprintf("instance-%08x", c.seq), Created: time.Now().UTC(),
	}}
	if err := os.MkdirAll(c.DeviceDir(srv.s.ID), 0o700); err != nil {
		return nil, err
	}
	c.servers[srv.s.ID] = srv
	for i, d := range disks {
		if d.Size <= 0 {
			d.Size = 1
		}
		if d.Name == "" {
			d.Name = fmt.Sprintf("%s-disk%d", name, i)
		}
		if d.Type == "" {
			d.Type = "fake"
		}
		if int64(len(d.Content)) > int64(d.Size)*c.o.Unit {
			return nil, fmt.Errorf("fakecloud: disk %s: content larger than %d units", d.Name, d.Size)
		}
		v := &volume{v: api.Volume{
			ID: newID(), Name: d.Name, Status: "available", Size: d.Size, VolumeType: d.Type,
			AvailabilityZone: "nova", Bootable: d.Bootable || i == 0, Metadata: map[string]string{},
			Created: time.Now().UTC(),
		}}
		if err := c.writeVolumeFile(v.v.ID, int64(d.Size)*c.o.Unit, d.Content); err != nil {
			return nil, err
		}
		c.volumes[v.v.ID] = v
		c.attachLocked(srv, v, i == 0)
		v.v.Status = "in-use"
	}
	return c.adminView(srv), nil
}

func (c *Cloud) writeVolumeFile(id string, size int64, content []byte) error {
	f, err := os.OpenFile(c.VolumePath(id), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	if len(content) > 0 {
		if _, err := f.WriteAt(content, 0); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// UpdateServer changes a server in place (metadata, networks, key name...).
func (c *Cloud) UpdateServer(id string, fn func(*api.Server)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.servers[id]
	if !ok {
		return notFound("server", id)
	}
	fn(&s.s)
	return nil
}

// AddFlavor adds or replaces a flavor.
func (c *Cloud) AddFlavor(f api.Flavor) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flavors[f.ID] = f
}

// Volumes lists every volume (no fault injection, not counted).
func (c *Cloud) Volumes() []api.Volume {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]api.Volume, 0, len(c.volumes))
	for _, v := range c.volumes {
		out = append(out, cloneVolume(v.v))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

// Snapshots lists every snapshot (no fault injection, not counted).
func (c *Cloud) Snapshots() []api.Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]api.Snapshot, 0, len(c.snapshots))
	for _, s := range c.snapshots {
		out = append(out, s.s)
	}
	return out
}

// Servers lists every server, admin view (no fault injection, not counted).
func (c *Cloud) Servers() []api.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]api.Server, 0, len(c.servers))
	for _, s := range c.servers {
		out = append(out, *c.adminView(s))
	}
	return out
}

// AttachedTo lists the volume ids attached (or attaching) to a server.
func (c *Cloud) AttachedTo(serverID string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, v := range c.volumes {
		if v.server == serverID {
			out = append(out, v.v.ID)
		}
	}
	sort.Strings(out)
	return out
}

// Operations is the name of every operation of the fake cloud that Fail and
// FailAfter can make fail, sorted. A test keeps it equal to the calls of
// c.call in this package.
func Operations() []string {
	return []string{
		"AttachVolume", "CreateServer", "CreateSnapshot", "CreateVolume", "DeleteServer",
		"DeleteSnapshot", "DeleteVolume", "DetachVolume", "GetFlavor", "GetServer",
		"GetServerAdmin", "GetSnapshot", "GetVolume", "ListAttachments", "ListFlavors",
		"ListServers", "ListSnapshots", "ListVolumes", "SetBootable", "WaitServer",
		"WaitServerDeleted", "WaitSnapshot", "WaitSnapshotDeleted", "WaitVolume", "WaitVolumeDeleted",
	}
}
