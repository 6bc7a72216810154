package objtest

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"rb_module_rustack/internal/objstore"
)

// Mem is an in-memory object store. Fault, when set, is asked before
// every request and fails it with the error it returns.
type Mem struct {
	mu                sync.Mutex
	objs              map[string]memObj
	Fault             func(op, name string) error
	Now               func() time.Time // the objects' times (default time.Now)
	Puts              int              // PUT requests that succeeded
	Gets              int              // GET requests
	IgnoreIfNoneMatch bool             // behave like a server that ignores If-None-Match
	RefuseIfNoneMatch bool             // behave like one that refuses it (501, as Swift's s3api)
}

type memObj struct {
	data []byte
	mod  time.Time
}

// NewMem returns an empty store.
func NewMem() *Mem { return &Mem{objs: map[string]memObj{}} }

var _ objstore.Client = (*Mem)(nil)

func (m *Mem) String() string { return "mem://test" }

func (m *Mem) fault(op, name string) error {
	if m.Fault != nil {
		return m.Fault(op, name)
	}
	return nil
}

func (m *Mem) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Put implements objstore.Client.
func (m *Mem) Put(_ context.Context, name string, body io.ReaderAt, size int64, ifAbsent bool) error {
	if err := m.fault("PUT", name); err != nil {
		return err
	}
	if ifAbsent && m.RefuseIfNoneMatch {
		return &objstore.StatusError{Op: "PUT", Name: name, Code: 501, Msg: "NotImplemented"}
	}
	b := make([]byte, size)
	if _, err := body.ReadAt(b, 0); err != nil && !(err == io.EOF && size == 0) {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objs[name]; ok && ifAbsent && !m.IgnoreIfNoneMatch {
		return &objstore.StatusError{Op: "PUT", Name: name, Code: 412}
	}
	m.objs[name] = memObj{data: b, mod: m.now()}
	m.Puts++
	return nil
}

// Get implements objstore.Client.
func (m *Mem) Get(_ context.Context, name string, off int64, dst []byte) error {
	if err := m.fault("GET", name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Gets++
	o, ok := m.objs[name]
	if !ok {
		return &objstore.StatusError{Op: "GET", Name: name, Code: 404}
	}
	if off < 0 || off+int64(len(dst)) > int64(len(o.data)) {
		return &objstore.StatusError{Op: "GET", Name: name, Code: 416}
	}
	copy(dst, o.data[off:])
	return nil
}

// Stat implements objstore.Client.
func (m *Mem) Stat(_ context.Context, name string) (objstore.Info, error) {
	if err := m.fault("HEAD", name); err != nil {
		return objstore.Info{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objs[name]
	if !ok {
		return objstore.Info{}, fmt.Errorf("HEAD %s: %w", name, fs.ErrNotExist)
	}
	return objstore.Info{Name: name, Size: int64(len(o.data)), Modified: o.mod}, nil
}

// List implements objstore.Client.
func (m *Mem) List(_ context.Context, prefix string) ([]objstore.Info, error) {
	if err := m.fault("LIST", prefix); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []objstore.Info
	for n, o := range m.objs {
		if strings.HasPrefix(n, prefix) {
			out = append(out, objstore.Info{Name: n, Size: int64(len(o.data)), Modified: o.mod})
		}
	}
	slices.SortFunc(out, func(a, b objstore.Info) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Delete implements objstore.Client.
func (m *Mem) Delete(_ context.Context, name string) error {
	if err := m.fault("DELETE", name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objs, name)
	return nil
}

// Names returns every object name, sorted.
func (m *Mem) Names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for n := range m.objs {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Corrupt flips a byte of object name at off.
func (m *Mem) Corrupt(name string, off int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.objs[name]
	o.data[off] ^= 0xff
}

// SetModified sets the time of an object (to make a lock record stale).
func (m *Mem) SetModified(name string, t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.objs[name]
	o.mod = t
	m.objs[name] = o
}
