package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// NetError is a request that got no HTTP answer: refused, reset, timed out,
// unresolvable host, or a failed TLS handshake. Error() is a short human
// reason; Method and URL say which request.
type NetError struct {
	Method, URL string
	Reason      string
	Timeout     bool // no answer within Options.Timeout
	Refused     bool // connection refused: nothing was sent
	TLS         bool // handshake or certificate failure
	Err         error
}

func (e *NetError) Error() string { return e.Reason }
func (e *NetError) Unwrap() error { return e.Err }

// tlsSetup builds the TLS configuration of Options and a sentence for -t.
func tlsSetup(o *Options) (*tls.Config, string, error) {
	https := strings.HasPrefix(strings.ToLower(o.URL), "https:")
	if !o.EnableSSL {
		desc := "plain http (no TLS)"
		if https {
			desc = "TLS certificate NOT verified (enable_ssl no)"
		}
		//nolint:gosec // enable_ssl no is the administrator's explicit choice; New warns once.
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, desc, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAInfo == "" {
		desc := "TLS verified against the system CA pool"
		if !https {
			desc = "plain http (no TLS; enable_ssl has no effect on an http:// url)"
		}
		return cfg, desc, nil
	}
	pem, err := os.ReadFile(o.CAInfo)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, "", fmt.Errorf("ca_info %s: cannot read the CA bundle: %v (check the path and its permissions)", o.CAInfo, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, "", fmt.Errorf("ca_info %s: no PEM certificate in the file (it must hold the CA certificate(s) that signed the cloud's certificate)", o.CAInfo)
	}
	cfg.RootCAs = pool
	desc := "TLS verified against ca_info " + o.CAInfo
	if !https {
		desc = "plain http (no TLS; ca_info unused on an http:// url)"
	}
	return cfg, desc, nil
}

// newHTTPClient builds the stack every request goes through:
// retry (per-attempt timeout, backoff) -> verbose log -> net/http transport.
func newHTTPClient(o *Options, retry bool) (*http.Client, string, error) {
	tlsCfg, desc, err := tlsSetup(o)
	if err != nil {
		return nil, "", err
	}
	to := o.timeout()
	base := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: to, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   to,
		ResponseHeaderTimeout: to,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
		ForceAttemptHTTP2:     true,
	}
	var rt http.RoundTripper = base
	if o.Verbose {
		rt = &verboseTransport{next: rt, log: o.logger(), secrets: o.secrets()}
	}
	policy := o.Retry.withDefaults()
	if !retry {
		policy.Backoff = nil
	}
	rt = &retryTransport{next: rt, policy: policy, timeout: to, caInfo: o.CAInfo, log: o.logger()}
	return &http.Client{Transport: rt}, desc, nil
}

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
	log     Logger
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
			t.log.Infof("%s %s: %s; retry %d/%d in %s", req.Method, redactURL(req.URL), ne.Reason,
				attempt+1, len(t.policy.Backoff), wait)
		} else {
			resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
			wait, retryable = t.retryAfterAnswer(req.Method, resp, attempt)
			if !retryable || !rewindable {
				return resp, nil
			}
			t.log.Infof("%s %s: HTTP %d; retry %d/%d in %s", req.Method, redactURL(req.URL), resp.StatusCode,
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
			return nil, nil, fmt.Errorf("%s %s: rewind request body for retry: %w", req.Method, redactURL(req.URL), err)
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

func parseSeconds(s string) (time.Duration, bool) {
	var f float64
	if _, err := fmt.Sscanf(s, "%g", &f); err != nil || f < 0 || f > 1e6 {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

// classify turns a transport error into a NetError with a reason a person
// can act on.
func (t *retryTransport) classify(req *http.Request, actx context.Context, at string, err error) *NetError {
	host := req.URL.Host
	ne := &NetError{Method: req.Method, URL: redactURL(req.URL), Err: err}
	var (
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		recErr    tls.RecordHeaderError
		dnsErr    *net.DNSError
		verifyErr *tls.CertificateVerificationError
	)
	where := "the system CA pool"
	if t.caInfo != "" {
		where = "ca_info " + t.caInfo
	}
	switch {
	case errors.Is(actx.Err(), context.DeadlineExceeded) || isTimeout(err):
		ne.Timeout = true
		switch at {
		case stageDial:
			ne.Reason = fmt.Sprintf("cannot connect to %s within %s (timeout; host down or filtered?)", host, t.timeout)
		case stageTLS:
			ne.TLS = true
			ne.Reason = fmt.Sprintf("TLS handshake with %s did not finish within %s (timeout)", host, t.timeout)
		default:
			ne.Reason = fmt.Sprintf("no answer from %s within %s (timeout)", host, t.timeout)
		}
	case errors.As(err, &unknownCA):
		ne.TLS = true
		ne.Reason = fmt.Sprintf("TLS: certificate signed by unknown authority (%s)", where)
	case errors.As(err, &hostErr):
		ne.TLS = true
		ne.Reason = fmt.Sprintf("TLS: %s", strings.TrimPrefix(hostErr.Error(), "x509: "))
	case errors.As(err, &invalid):
		ne.TLS = true
		ne.Reason = fmt.Sprintf("TLS: %s (%s)", strings.TrimPrefix(invalid.Error(), "x509: "), where)
	case errors.As(err, &verifyErr):
		ne.TLS = true
		ne.Reason = fmt.Sprintf("TLS: %s (%s)", strings.TrimPrefix(verifyErr.Err.Error(), "x509: "), where)
	case errors.As(err, &recErr):
		ne.TLS = true
		ne.Reason = fmt.Sprintf("TLS: %s does not speak TLS (use http:// in url?)", host)
	case errors.Is(err, syscall.ECONNREFUSED):
		ne.Refused = true
		ne.Reason = fmt.Sprintf("connection refused by %s (is the service running and url right?)", host)
	case errors.As(err, &dnsErr):
		ne.Reason = fmt.Sprintf("cannot resolve host %q: %s", dnsErr.Name, dnsErr.Err)
	case errors.Is(err, syscall.ECONNRESET):
		ne.Reason = fmt.Sprintf("connection reset by %s", host)
	case at == stageTLS && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)):
		ne.TLS = true
		ne.Reason = fmt.Sprintf("TLS: %s closed the connection during the handshake (is it an https port? check url)", host)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		ne.Reason = fmt.Sprintf("%s closed the connection without answering", host)
	case errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH):
		ne.Reason = fmt.Sprintf("%s is unreachable (no route)", host)
	default:
		ne.Reason = fmt.Sprintf("%s: %v", host, err)
	}
	return ne
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

func permanentDNS(err error) bool {
	var d *net.DNSError
	return errors.As(err, &d) && d.IsNotFound
}

// redactURL prints a URL without user info or query values that could hold
// a secret (OpenStack URLs carry none, but be safe).
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	return c.String()
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
