package exporter

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"rb_module_rustack/internal/archive"
)

// Source gives what a scrape reports.
type Source interface {
	// List returns every archive (archive.Repo.List).
	List(ctx context.Context) ([]archive.Info, error)
	// StoredBytes is the bytes on disk of the repository (archive files,
	// and the dedup store's packs when it is local); ok false when it is
	// not known (an object store).
	StoredBytes(ctx context.Context) (n int64, ok bool, err error)
}

// Collector is a prometheus.Collector over a Source.
type Collector struct {
	src     Source
	ttl     time.Duration
	timeout time.Duration
	now     func() time.Time

	mu      sync.Mutex
	at      time.Time // when snap was taken
	snap    []prometheus.Metric
	errs    prometheus.Counter
	scrapes prometheus.Counter
	dur     prometheus.Gauge

	archives, age, newestTS, chain, logical, stored, ratio, up *prometheus.Desc
}

// New makes a Collector that rereads src at most once per ttl, each
// reading bounded by timeout.
func New(src Source, ttl, timeout time.Duration) *Collector {
	vm := []string{"vm_id", "vm_name"}
	return &Collector{src: src, ttl: ttl, timeout: timeout, now: time.Now,
		errs:     prometheus.NewCounter(prometheus.CounterOpts{Name: "rb_exporter_read_errors_total", Help: "Readings of the repository that failed."}),
		scrapes:  prometheus.NewCounter(prometheus.CounterOpts{Name: "rb_exporter_reads_total", Help: "Readings of the repository (scrapes within the cache time reuse the last one)."}),
		dur:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "rb_exporter_read_duration_seconds", Help: "Duration of the last reading of the repository."}),
		archives: prometheus.NewDesc("rb_archives", "Archives of the VM in the pool, by type.", append(vm, "type"), nil),
		age:      prometheus.NewDesc("rb_newest_backup_age_seconds", "Age of the VM's newest archive.", vm, nil),
		newestTS: prometheus.NewDesc("rb_newest_backup_timestamp_seconds", "Creation time of the VM's newest archive, Unix time.", vm, nil),
		chain:    prometheus.NewDesc("rb_chain_length", "Archives a restore of the VM's newest archive reads: it and its parents back to the full.", vm, nil),
		logical:  prometheus.NewDesc("rb_logical_bytes", "Sum of the disk sizes of every archive (what restoring them all would write).", nil, nil),
		stored:   prometheus.NewDesc("rb_stored_bytes", "Bytes the repository takes on disk: archive files, and the local dedup store's files.", nil, nil),
		ratio:    prometheus.NewDesc("rb_dedup_ratio", "rb_logical_bytes over rb_stored_bytes: how many times the stored bytes serve.", nil, nil),
		up:       prometheus.NewDesc("rb_repository_up", "1 when the last reading of the repository succeeded.", nil, nil),
	}
}

// Describe sends the descriptors.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.archives, c.age, c.newestTS, c.chain, c.logical, c.stored, c.ratio, c.up} {
		ch <- d
	}
	c.errs.Describe(ch)
	c.scrapes.Describe(ch)
	c.dur.Describe(ch)
}

// Collect sends the metrics, rereading the source when the cache is older
// than ttl.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if c.snap == nil || c.now().Sub(c.at) >= c.ttl {
		c.snap = c.read()
		c.at = c.now()
	}
	snap := c.snap
	c.mu.Unlock()
	for _, m := range snap {
		ch <- m
	}
	ch <- c.errs
	ch <- c.scrapes
	ch <- c.dur
}

// read lists the source and builds the metrics.
func (c *Collector) read() []prometheus.Metric {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	t0 := c.now()
	c.scrapes.Inc()
	defer func() { c.dur.Set(c.now().Sub(t0).Seconds()) }()
	list, err := c.src.List(ctx)
	if err != nil {
		c.errs.Inc()
		return []prometheus.Metric{prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)}
	}
	out := []prometheus.Metric{prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)}
	type key struct{ id, name, typ string }
	counts := map[key]int{}
	newest := map[string]archive.Info{}
	byID := map[string]archive.Info{}
	var logical int64
	for _, in := range list {
		if in.VMID == "" || in.Type == "damaged" {
			continue
		}
		counts[key{in.VMID, in.VMName, string(in.Type)}]++
		byID[in.ID] = in
		logical += in.Logical
		if n, ok := newest[in.VMID]; !ok || in.Created.After(n.Created) {
			newest[in.VMID] = in
		}
	}
	for k, n := range counts {
		out = append(out, prometheus.MustNewConstMetric(c.archives, prometheus.GaugeValue, float64(n), k.id, k.name, k.typ))
	}
	for id, in := range newest {
		out = append(out,
			prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, t0.Sub(in.Created).Seconds(), id, in.VMName),
			prometheus.MustNewConstMetric(c.newestTS, prometheus.GaugeValue, float64(in.Created.UnixMilli())/1000, id, in.VMName),
			prometheus.MustNewConstMetric(c.chain, prometheus.GaugeValue, float64(chainLength(in, byID)), id, in.VMName))
	}
	out = append(out, prometheus.MustNewConstMetric(c.logical, prometheus.GaugeValue, float64(logical)))
	if n, ok, err := c.src.StoredBytes(ctx); err != nil {
		c.errs.Inc()
	} else if ok {
		out = append(out, prometheus.MustNewConstMetric(c.stored, prometheus.GaugeValue, float64(n)))
		if n > 0 {
			out = append(out, prometheus.MustNewConstMetric(c.ratio, prometheus.GaugeValue, float64(logical)/float64(n)))
		}
	}
	return out
}

// chainLength counts in and its parents present in byID (a cycle or a
// missing parent ends the count).
func chainLength(in archive.Info, byID map[string]archive.Info) int {
	n := 1
	seen := map[string]bool{in.ID: true}
	for in.Parent != "" && !seen[in.Parent] {
		p, ok := byID[in.Parent]
		if !ok {
			break
		}
		seen[p.ID] = true
		in = p
		n++
	}
	return n
}

// DirSize is the sum of the sizes of the regular files under each dir (a
// missing dir counts 0).
func DirSize(ctx context.Context, dirs ...string) (int64, error) {
	var n int64
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if e.Type().IsRegular() {
				fi, err := e.Info()
				if err == nil {
					n += fi.Size()
				}
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("size of %s: %w", d, err)
		}
	}
	return n, nil
}
