package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// metricValue finds `name{labels...} value` in text (labels as given, in
// order, as a substring) and returns the value.
func metricValue(t *testing.T, text, name, labels string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? (\S+)$`)
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		if strings.Contains(m[1], labels) {
			v, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				t.Fatalf("%s: %v", m[0], err)
			}
			return v
		}
	}
	t.Fatalf("no %s{%s} in:\n%s", name, labels, text)
	return 0
}

// TestMetricsServe: metrics serve, scraped over HTTP, reports the pool's
// archives per VM, the chain length, the age of the newest backup, the
// repository's size and dedup ratio and its own process metrics; a second
// scrape within --cache reuses the listing; promtool accepts the output;
// SIGINT (the context) stops it cleanly.
func TestMetricsServe(t *testing.T) {
	m := newMonitoredRepo(t)
	for _, typ := range []string{"full", "incremental", "incremental"} {
		if _, errOut, code := m.backup(t, "web4", typ); code != 0 {
			t.Fatalf("backup: %d %s", code, errOut)
		}
	}
	if _, errOut, code := m.backup(t, "db4", "full"); code != 0 {
		t.Fatalf("backup: %d %s", code, errOut)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	a := newApp(&stdout, &stderr)
	root := newRootCmd(a)
	a.configPath = "/nonexistent/rb.conf"
	root.SetArgs([]string{"metrics", "serve", "--listen", addr, "--pool", m.pool, "--cache", "1h"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("HTTP %d: %s", resp.StatusCode, b)
			}
			body = string(b)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer on %s: %v; stderr %s", addr, err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v := metricValue(t, body, "rb_archives", `type="incremental",vm_id="id-web4",vm_name="web4"`); v != 2 {
		t.Errorf("incrementals of web4: %v", v)
	}
	if v := metricValue(t, body, "rb_archives", `type="full",vm_id="id-web4",vm_name="web4"`); v != 1 {
		t.Errorf("fulls of web4: %v", v)
	}
	if v := metricValue(t, body, "rb_chain_length", `vm_id="id-web4"`); v != 3 {
		t.Errorf("chain of web4: %v", v)
	}
	if v := metricValue(t, body, "rb_chain_length", `vm_id="id-db4"`); v != 1 {
		t.Errorf("chain of db4: %v", v)
	}
	if v := metricValue(t, body, "rb_newest_backup_age_seconds", `vm_id="id-db4"`); v < 0 || v > 120 {
		t.Errorf("age of db4: %v", v)
	}
	stored := metricValue(t, body, "rb_stored_bytes", "")
	logical := metricValue(t, body, "rb_logical_bytes", "")
	if stored <= 0 || logical != 4*(2<<20+77+1<<20) || metricValue(t, body, "rb_dedup_ratio", "") != logical/stored {
		t.Errorf("stored %v logical %v", stored, logical)
	}
	if metricValue(t, body, "rb_repository_up", "") != 1 || metricValue(t, body, "process_resident_memory_bytes", "") <= 0 {
		t.Error("up or process metrics")
	}
	// A new backup within the cache time is not seen; the reading count stays 1.
	if _, errOut, code := m.backup(t, "new4", "full"); code != 0 {
		t.Fatalf("backup: %d %s", code, errOut)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if metricValue(t, string(b), "rb_exporter_reads_total", "") != 1 || strings.Contains(string(b), "new4") {
		t.Errorf("the cached listing was not reused:\n%s", b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	promtoolCheck(t, []byte(body))
}
