package httpx

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"

	"rb_module_rustack/internal/logging"
)

// RetryPolicy says how often and how long to wait before repeating a request.
// Idempotent requests (GET, HEAD, PUT, DELETE, OPTIONS) are repeated after a
// connection error or a 5xx answer, waiting Backoff[i] before retry i+1; 429
// (and 413 with a Retry-After) wait what the server asks, capped at
// MaxRetryAfter. A POST is repeated only when the connection was refused,
// since then nothing was sent.
type RetryPolicy struct {
	Backoff       []time.Duration // nil = 0.5 s, 1 s, 2 s
	MaxRetryAfter time.Duration   // 0 = 30 s
	Disabled      bool            // never retry
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Disabled {
		return RetryPolicy{}
	}
	if p.Backoff == nil {
		p.Backoff = []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = 30 * time.Second
	}
	return p
}

type retryTransport struct {
	next    http.RoundTripper
	policy  RetryPolicy
	timeout time.Duration
	caInfo  string
	log     logging.Log
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	rewindable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 0; ; attempt++ {
		st := &stage{}
		r, cancel, err := t.attemptRequest(req, attempt, st)
		if err != nil {
			return nil, err
		}
		resp, err := t.next.RoundTrip(r)
		var wait time.Duration
		retryable := false
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				return nil, err // the caller gave up: say so as it is
			}
			ne := t.classify(req, r.Context(), st.get(), err)
			retryable = (idempotent(req.Method) && !ne.TLS && !permanentDNS(err)) || ne.Refused
			if !retryable || !rewindable || attempt >= len(t.policy.Backoff) {
				return nil, ne
			}
			wait = t.policy.Backoff[attempt]
			t.log.Infof("%s %s: %s; retry %d/%d in %s", req.Method, RedactURL(req.URL), ne.Reason,
				attempt+1, len(t.policy.Backoff), wait)
		} else {
			resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
			wait, retryable = t.retryAfterAnswer(req.Method, resp, attempt)
			if !retryable || !rewindable {
				return resp, nil
			}
			t.log.Infof("%s %s: HTTP %d; retry %d/%d in %s", req.Method, RedactURL(req.URL), resp.StatusCode,
				attempt+1, len(t.policy.Backoff), wait)
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
		}
		tm := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			tm.Stop()
			return nil, ctx.Err()
		case <-tm.C:
		}
	}
}

// attemptRequest clones req with a fresh body and a context bounded by the
// timeout of one attempt.
func (t *retryTransport) attemptRequest(req *http.Request, attempt int, st *stage) (*http.Request, context.CancelFunc, error) {
	actx, cancel := context.WithTimeout(req.Context(), t.timeout)
	actx = httptrace.WithClientTrace(actx, st.trace())
	r := req.Clone(actx)
	if attempt > 0 && req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			cancel()
			return nil, nil, fmt.Errorf("%s %s: rewind request body for retry: %w", req.Method, RedactURL(req.URL), err)
		}
		r.Body = b
	}
	return r, cancel, nil
}

// retryAfterAnswer decides whether an HTTP answer is worth another attempt,
// and after how long.
func (t *retryTransport) retryAfterAnswer(method string, resp *http.Response, attempt int) (time.Duration, bool) {
	if attempt >= len(t.policy.Backoff) || !idempotent(method) {
		return 0, false
	}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests || code == http.StatusRequestEntityTooLarge:
		d, ok := retryAfter(resp)
		if !ok {
			if code == http.StatusRequestEntityTooLarge {
				return 0, false // too large, not "later"
			}
			d = t.policy.Backoff[attempt]
		}
		return min(d, t.policy.MaxRetryAfter), true
	case code >= 500 && code != http.StatusNotImplemented && code != http.StatusHTTPVersionNotSupported:
		return t.policy.Backoff[attempt], true
	}
	return 0, false
}

// retryAfter reads the Retry-After header (seconds or an HTTP date), or the
// "retryAfter" member of an OpenStack fault body. It leaves resp.Body
// readable.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if h := strings.TrimSpace(resp.Header.Get("Retry-After")); h != "" {
		if d, ok := parseSeconds(h); ok {
			return d, true
		}
		if when, err := http.ParseTime(h); err == nil {
			return max(time.Until(when), 0), true
		}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(body), resp.Body), closer: resp.Body}
	if err != nil {
		return 0, false
	}
	if v, ok := findRetryAfter(body); ok {
		return v, true
	}
	return 0, false
}

// findRetryAfter finds a "retryAfter" member in an OpenStack fault body
// ({"overLimit": {"retryAfter": "0", ...}}), at the top or one level down.
func findRetryAfter(body []byte) (time.Duration, bool) {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return 0, false
	}
	check := func(m map[string]json.RawMessage) (time.Duration, bool) {
		for k, raw := range m {
			if !strings.EqualFold(k, "retryAfter") {
				continue
			}
			var s string
			if json.Unmarshal(raw, &s) != nil {
				s = string(raw)
			}
			return parseSeconds(strings.TrimSpace(s))
		}
		return 0, false
	}
	if d, ok := check(doc); ok {
		return d, true
	}
	for _, raw := range doc {
		var inner map[string]json.RawMessage
		if json.Unmarshal(raw, &inner) == nil {
			if d, ok := check(inner); ok {
				return d, true
			}
		}
	}
	return 0, false
}

func parseSeconds(s string) (time.Duration, bool) {
	var f float64
	if _, err := fmt.Sscanf(s, "%g", &f); err != nil || f < 0 || f > 1e6 {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

// Stages of one attempt, as httptrace sees them.
const (
	stageDial = "dial"
	stageTLS  = "tls"
	stageSent = "sent"
)

// stage records how far an attempt got, for precise error messages.
type stage struct {
	mu sync.Mutex
	at string
}

func (s *stage) set(v string) {
	s.mu.Lock()
	s.at = v
	s.mu.Unlock()
}

func (s *stage) get() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.at
}

func (s *stage) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		ConnectStart:      func(string, string) { s.set(stageDial) },
		TLSHandshakeStart: func() { s.set(stageTLS) },
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err == nil {
				s.set(stageSent)
			}
		},
		GotConn: func(httptrace.GotConnInfo) { s.set(stageSent) },
	}
}

// cancelBody ends the attempt's context when the caller is done with the body.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// replayBody serves already-read bytes and closes the original body.
type replayBody struct {
	io.Reader
	closer io.Closer
}

func (b *replayBody) Close() error { return b.closer.Close() }
