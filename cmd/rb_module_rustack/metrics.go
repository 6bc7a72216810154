package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"rb_module_rustack/internal/archive"
	"rb_module_rustack/internal/exporter"
	"rb_module_rustack/internal/objstore"
)

func newMetricsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "metrics",
		Short: "Prometheus exporter of the pool and store (metrics serve)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newMetricsServeCmd(a))
	return cmd
}

// repoSource is the exporter's view of an open repository.
type repoSource struct {
	repo        *archive.Repo
	pool, store string
}

func (s repoSource) List(ctx context.Context) ([]archive.Info, error) { return s.repo.List(ctx) }

func (s repoSource) StoredBytes(ctx context.Context) (int64, bool, error) {
	if s.store != "" && objstore.IsObjectStore(s.store) {
		return 0, false, nil // an object store's size is its provider's to report
	}
	dirs := []string{s.pool}
	if s.store != "" && !strings.EqualFold(s.store, "none") {
		dirs = append(dirs, s.store)
	}
	n, err := exporter.DirSize(ctx, dirs...)
	return n, err == nil, err
}

func newMetricsServeCmd(a *app) *cobra.Command {
	var (
		listen string
		cache  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve --listen ADDR [--pool DIR | --store LOCATION] [--cache 60s]",
		Short: "serve /metrics for Prometheus: archives per VM, newest backup age, chain length, repository size, dedup ratio",
		Long: `Runs until SIGINT or SIGTERM, serving /metrics in the Prometheus text format
(docs/monitoring.md lists every metric). Each scrape lists the archives of
the pool (or store) again unless the last listing is younger than --cache,
so frequent scrapes cost nothing. The process's own metrics (CPU, memory,
file descriptors, Go runtime) are served too. No key is needed: only the
archives' cleartext headers are read.`,
		Example: `  rb_module_rustack metrics serve --listen 127.0.0.1:9477
  rb_module_rustack metrics serve --listen :9477 --pool /backup --cache 5m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if listen == "" {
				return withCode(exitUsage, errors.New("--listen ADDR is required, e.g. 127.0.0.1:9477"))
			}
			if cache < 0 {
				return withCode(exitUsage, fmt.Errorf("--cache %s: want 0 or more", cache))
			}
			repo, cfg, err := a.openRepo(cmd, false)
			if err != nil {
				return err
			}
			defer repo.Close()
			pool, store := cfg.Pool, cfg.Store
			if f := cmd.Flags().Lookup(flagPool); f.Changed {
				pool = f.Value.String()
			}
			if f := cmd.Flags().Lookup(flagStore); f.Changed {
				store = f.Value.String()
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(
				exporter.New(repoSource{repo: repo, pool: pool, store: store}, cache, 2*time.Minute),
				collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
				collectors.NewGoCollector(),
			)
			mux := http.NewServeMux()
			mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/" {
					http.NotFound(w, r)
					return
				}
				fmt.Fprintln(w, "rb_module_rustack exporter: see /metrics")
			})
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return withCode(exitFailure, fmt.Errorf("metrics serve: %w", err))
			}
			srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
			fmt.Fprintf(a.stderr, "serving http://%s/metrics\n", ln.Addr())
			ctx := cmd.Context()
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			select {
			case err := <-done:
				return withCode(exitFailure, fmt.Errorf("metrics serve: %w", err))
			case <-ctx.Done():
			}
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "", "address to serve on, HOST:PORT (required)")
	f.DurationVar(&cache, "cache", time.Minute, "reuse a listing of the repository for this long")
	addRepoFlags(cmd, false)
	return cmd
}
