package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"rb_module_rustack/internal/logging/logtest"
)

func fastRetry() RetryPolicy {
	return RetryPolicy{Backoff: []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond},
		MaxRetryAfter: 200 * time.Millisecond}
}

func testClient(t *testing.T, o Config) *http.Client {
	t.Helper()
	if o.URL == "" {
		o.URL = "http://127.0.0.1/v3"
	}
	if o.Retry.Backoff == nil && !o.Retry.Disabled {
		o.Retry = fastRetry()
	}
	c, _, err := NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func do(t *testing.T, c *http.Client, method, url, body string) (*http.Response, error) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(testCtx(t, 30*time.Second), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
	}
	return resp, err
}

func TestRetry5xxThenSuccess(t *testing.T) {
	var n atomic.Int32
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		if n.Add(1) <= 2 {
			http.Error(w, `{"computeFault": {"code": 503, "message": "busy"}}`, http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	log := &logtest.Recorder{}
	c := testClient(t, Config{Log: log})
	resp, err := do(t, c, http.MethodPut, srv.URL+"/x", `{"a":1}`)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "ok" || n.Load() != 3 {
		t.Fatalf("status %d body %q after %d requests", resp.StatusCode, b, n.Load())
	}
	for i, body := range bodies {
		if body != `{"a":1}` {
			t.Errorf("attempt %d sent body %q: the body was not rewound", i+1, body)
		}
	}
	if log.Count("INFO", "HTTP 503; retry") != 2 {
		t.Errorf("want two retry lines, log:\n%s", log)
	}
}

func TestRetryGivesUpAfterBackoffs(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	resp, err := do(t, testClient(t, Config{}), http.MethodGet, srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadGateway || n.Load() != 4 {
		t.Fatalf("status %d after %d requests; want 502 after 1+3", resp.StatusCode, n.Load())
	}
}

func TestNoRetryFor4xx(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer srv.Close()
	resp, err := do(t, testClient(t, Config{}), http.MethodGet, srv.URL, "")
	if err != nil || resp.StatusCode != 400 || n.Load() != 1 {
		t.Fatalf("err %v, %d requests", err, n.Load())
	}
}

func TestPostNotRetriedOn5xx(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	resp, err := do(t, testClient(t, Config{}), http.MethodPost, srv.URL, `{"volume":{}}`)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 500 || n.Load() != 1 {
		t.Fatalf("POST: status %d after %d requests; want one request", resp.StatusCode, n.Load())
	}
}

func TestPostNotRetriedOn429(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	resp, err := do(t, testClient(t, Config{}), http.MethodPost, srv.URL, `{}`)
	if err != nil || resp.StatusCode != 429 || n.Load() != 1 {
		t.Fatalf("POST 429: err %v, %d requests; want one", err, n.Load())
	}
}

func TestPostNotRetriedOnReset(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close() // the request was sent: the server may have acted on it
	}))
	defer srv.Close()
	_, err := do(t, testClient(t, Config{}), http.MethodPost, srv.URL, `{}`)
	if err == nil || n.Load() != 1 {
		t.Fatalf("POST with a dropped connection: err %v after %d requests; want an error after one", err, n.Load())
	}
	var ne *NetError
	if !errors.As(err, &ne) {
		t.Fatalf("error %T %v is not a NetError", err, err)
	}
	// The same for GET is retried.
	n.Store(0)
	_, err = do(t, testClient(t, Config{}), http.MethodGet, srv.URL, "")
	if err == nil || n.Load() != 4 {
		t.Fatalf("GET with a dropped connection: err %v after %d requests; want 4", err, n.Load())
	}
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestPostRetriedWhenRefused(t *testing.T) {
	addr := closedPort(t)
	log := &logtest.Recorder{}
	_, err := do(t, testClient(t, Config{Log: log}), http.MethodPost, "http://"+addr+"/v3/auth/tokens", `{}`)
	var ne *NetError
	if !errors.As(err, &ne) || !ne.Refused {
		t.Fatalf("err = %v, want a refused NetError", err)
	}
	if !strings.Contains(err.Error(), "connection refused by "+addr) {
		t.Errorf("message %q", err)
	}
	if got := log.Count("INFO", "retry"); got != 3 {
		t.Errorf("refused POST retried %d times, want 3; log:\n%s", got, log)
	}
}

func Test429RetryAfterHeader(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	o := Config{Retry: fastRetry()}
	o.Retry.MaxRetryAfter = 150 * time.Millisecond // caps the server's 1 s
	start := time.Now()
	resp, err := do(t, testClient(t, o), http.MethodGet, srv.URL, "")
	if err != nil || resp.StatusCode != 200 || n.Load() != 2 {
		t.Fatalf("err %v status %v after %d requests", err, resp, n.Load())
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("answered after %s: Retry-After (capped at 150ms) was not honoured", el)
	}
}

func Test413RetryAfterBody(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"overLimit": map[string]any{
				"code": 413, "message": "over limit", "retryAfter": "0.1"}})
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	start := time.Now()
	resp, err := do(t, testClient(t, Config{}), http.MethodDelete, srv.URL, "")
	if err != nil || resp.StatusCode != 200 || n.Load() != 2 {
		t.Fatalf("err %v after %d requests", err, n.Load())
	}
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Errorf("answered after %s: retryAfter 0.1 s in the body was not honoured", el)
	}
	// 413 without any retry hint is final.
	n.Store(0)
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(w, 413, map[string]any{"overLimit": map[string]any{"code": 413, "message": "VolumeLimitExceeded"}})
	}))
	defer srv2.Close()
	resp, err = do(t, testClient(t, Config{}), http.MethodGet, srv2.URL, "")
	if err != nil || resp.StatusCode != 413 || n.Load() != 1 {
		t.Fatalf("413 without retryAfter: %d requests", n.Load())
	}
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "VolumeLimitExceeded") {
		t.Errorf("body lost: %q", b)
	}
}

func TestAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	o := Config{Timeout: 200 * time.Millisecond, Retry: RetryPolicy{Disabled: true}}
	start := time.Now()
	_, err := do(t, testClient(t, o), http.MethodGet, srv.URL, "")
	el := time.Since(start)
	var ne *NetError
	if !errors.As(err, &ne) || !ne.Timeout {
		t.Fatalf("err = %v, want a timeout NetError", err)
	}
	if !strings.Contains(err.Error(), "within 200ms (timeout)") {
		t.Errorf("message %q", err)
	}
	if el < 200*time.Millisecond || el > 2*time.Second {
		t.Errorf("timed out after %s, want about 200ms", el)
	}
}

func TestCallerCancelIsNotRetried(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	_, err := testClient(t, Config{Timeout: 10 * time.Second}).Do(req)
	if !errors.Is(err, context.DeadlineExceeded) || n.Load() != 1 {
		t.Fatalf("err %v after %d requests", err, n.Load())
	}
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
