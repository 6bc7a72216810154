package exporter

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"rb_module_rustack/internal/archive"
)

type fakeSource struct {
	list  []archive.Info
	err   error
	calls int
}

func (f *fakeSource) List(context.Context) ([]archive.Info, error) {
	f.calls++
	return f.list, f.err
}

func (f *fakeSource) StoredBytes(context.Context) (int64, bool, error) { return 1000, true, nil }

// gauges gathers reg and returns metric name -> the sum of its values.
func gauges(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if g := m.GetGauge(); g != nil {
				out[mf.GetName()] += g.GetValue()
			}
			if c := m.GetCounter(); c != nil {
				out[mf.GetName()] += c.GetValue()
			}
		}
	}
	return out
}

func TestCollector(t *testing.T) {
	now := time.Now()
	src := &fakeSource{list: []archive.Info{
		{ID: "f", VMID: "a", VMName: "web", Type: archive.Full, Created: now.Add(-3 * time.Hour), Logical: 100},
		{ID: "i1", VMID: "a", VMName: "web", Type: archive.Incremental, Parent: "f", Created: now.Add(-2 * time.Hour), Logical: 100},
		{ID: "i2", VMID: "a", VMName: "web", Type: archive.Incremental, Parent: "i1", Created: now.Add(-time.Hour), Logical: 100},
		{ID: "x", VMID: "b", VMName: "db", Type: archive.Incremental, Parent: "x", Created: now, Logical: 700}, // a cycle ends the count
		{ID: "d", Type: "damaged"},
	}}
	c := New(src, time.Hour, time.Second)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	g := gauges(t, reg)
	if g["rb_archives"] != 4 || g["rb_chain_length"] != 3+1 || g["rb_logical_bytes"] != 1000 || g["rb_stored_bytes"] != 1000 ||
		g["rb_dedup_ratio"] != 1 || g["rb_repository_up"] != 1 {
		t.Fatalf("%v", g)
	}
	if age := g["rb_newest_backup_age_seconds"]; age < 3600 || age > 3700 {
		t.Fatalf("ages %v", age)
	}
	gauges(t, reg)
	if src.calls != 1 {
		t.Fatalf("%d listings within the cache time", src.calls)
	}
	src.err = errors.New("pool gone")
	c2 := New(src, 0, time.Second)
	reg2 := prometheus.NewRegistry()
	reg2.MustRegister(c2)
	if g := gauges(t, reg2); g["rb_repository_up"] != 0 || g["rb_exporter_read_errors_total"] != 1 {
		t.Fatalf("%v", g)
	}
}
