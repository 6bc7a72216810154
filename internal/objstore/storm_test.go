package objstore

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"rb_module_rustack/internal/api/httpx"
)

// storm is an HTTP server that answers the first fail requests with
// code (fail < 0: every request), then 201/200 with body; it counts the
// requests it got.
type storm struct {
	code  int
	fail  int64
	body  []byte
	putOK int // the answer to a PUT that is let through: 201 (Swift) or 200 (S3)
	calls atomic.Int64
}

func (s *storm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.calls.Add(1)
	io.Copy(io.Discard, r.Body)
	if s.fail < 0 || n <= s.fail {
		if s.code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(s.code)
		io.WriteString(w, "<html><h1>Service Unavailable</h1><p>The server is currently unavailable.</p></html>")
		return
	}
	switch r.Method {
	case http.MethodPut:
		w.WriteHeader(cmp.Or(s.putOK, http.StatusCreated))
	case http.MethodHead:
		w.Header().Set("Content-Length", "4")
		w.WriteHeader(http.StatusOK)
	default:
		w.Write(s.body)
	}
}

// stormSwift is a Swift client on the storm server, with the session's
// HTTP stack (retries with short backoff: the policy, not its length, is
// under test).
func stormSwift(t *testing.T, s *storm) *Swift {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	hc, _, err := httpx.NewClient(httpx.Config{URL: srv.URL, Timeout: 5 * time.Second,
		Retry: httpx.RetryPolicy{Backoff: []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	pc := &gophercloud.ProviderClient{TokenID: "token", HTTPClient: *hc}
	sc := &gophercloud.ServiceClient{ProviderClient: pc, Endpoint: srv.URL + "/v1/AUTH_p/"}
	return NewSwift(sc, hc, "c", "swift://c")
}

// TestSwiftStorm: a short burst of 503 (or 429) is ridden out by retries;
// a storm that does not end is a StatusError after a bounded number of
// attempts, whose message says what happened and that it was retried.
func TestSwiftStorm(t *testing.T) {
	ctx := context.Background()
	for _, code := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusBadGateway} {
		s := &storm{code: code, fail: 2, body: []byte("data")}
		sw := stormSwift(t, s)
		if err := sw.Put(ctx, "packs/a", bytes.NewReader([]byte("data")), 4, true); err != nil {
			t.Fatalf("%d burst: Put: %v", code, err)
		}
		if got := s.calls.Load(); got != 3 {
			t.Errorf("%d burst: %d requests, want 3 (two refused, one stored)", code, got)
		}
	}

	s := &storm{code: http.StatusServiceUnavailable, fail: -1}
	sw := stormSwift(t, s)
	ops := map[string]func() error{
		"PUT":  func() error { return sw.Put(ctx, "packs/a", bytes.NewReader([]byte("data")), 4, true) },
		"GET":  func() error { return sw.Get(ctx, "packs/a", 0, make([]byte, 4)) },
		"HEAD": func() error { _, err := sw.Stat(ctx, "packs/a"); return err },
		"LIST": func() error { _, err := sw.List(ctx, "packs/"); return err },
	}
	for op, f := range ops {
		before := s.calls.Load()
		err := f()
		var se *StatusError
		if !errors.As(err, &se) || se.Code != 503 {
			t.Fatalf("%s in a storm: %v, want a StatusError 503", op, err)
		}
		if n := s.calls.Load() - before; n != 4 {
			t.Errorf("%s in a storm: %d attempts, want 4 (one and three retries)", op, n)
		}
		msg := err.Error()
		if !strings.Contains(msg, "HTTP 503") || !strings.Contains(msg, "retried with backoff, then gave up") || strings.Contains(msg, "<") ||
			(op != "HEAD" && !strings.Contains(msg, "Service Unavailable")) { // a HEAD answer has no body
			t.Errorf("%s in a storm: message %q", op, msg)
		}
		if !Transient(err) {
			t.Errorf("%s: a 503 is not reported transient", op)
		}
	}
}

// TestS3Storm: the same for the S3 client, whose retries are minio-go's
// own (the session's HTTP stack does not retry for it).
func TestS3Storm(t *testing.T) {
	ctx := context.Background()
	s := &storm{code: http.StatusServiceUnavailable, fail: -1}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := NewS3(S3Config{Endpoint: srv.URL, Bucket: "bkt", AccessKey: "ak", SecretKey: "storm-Secret-1", PathStyle: true, Retries: 3}, "s3://bkt")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = c.Put(ctx, "packs/a", bytes.NewReader([]byte("data")), 4, true)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 503 {
		t.Fatalf("PUT in a storm: %v, want a StatusError 503", err)
	}
	if n := s.calls.Load(); n != 3 {
		t.Errorf("PUT in a storm: %d attempts, want 3", n)
	}
	if msg := err.Error(); !strings.Contains(msg, "retried with backoff, then gave up") || strings.Contains(msg, "storm-Secret-1") ||
		strings.Contains(msg, "<") {
		t.Errorf("PUT in a storm: message %q", msg)
	}
	t.Logf("S3 storm: %d attempts in %s: %v", s.calls.Load(), time.Since(start).Round(time.Millisecond), err)

	s2 := &storm{code: http.StatusServiceUnavailable, fail: 1, putOK: http.StatusOK}
	srv2 := httptest.NewServer(s2)
	t.Cleanup(srv2.Close)
	c2, err := NewS3(S3Config{Endpoint: srv2.URL, Bucket: "bkt", AccessKey: "ak", SecretKey: "sk", PathStyle: true, Retries: 3}, "s3://bkt")
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Put(ctx, "packs/a", bytes.NewReader([]byte("data")), 4, true); err != nil {
		t.Fatalf("PUT after a burst: %v", err)
	}
	if n := s2.calls.Load(); n != 2 {
		t.Errorf("PUT after a burst: %d attempts, want 2", n)
	}
}
