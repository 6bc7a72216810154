package httpx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
)

// NetError is a request that got no HTTP answer: refused, reset, timed out,
// unresolvable host, or a failed TLS handshake. Error() is a short human
// reason; Method and URL say which request.
type NetError struct {
	Method, URL string
	Reason      string
	Timeout     bool // no answer within Config.Timeout
	Refused     bool // connection refused: nothing was sent
	TLS         bool // handshake or certificate failure
	Err         error
}

func (e *NetError) Error() string { return e.Reason }
func (e *NetError) Unwrap() error { return e.Err }

// classify turns a transport error into a NetError with a reason a person
// can act on.
func (t *retryTransport) classify(req *http.Request, actx context.Context, at string, err error) *NetError {
	host := req.URL.Host
	ne := &NetError{Method: req.Method, URL: RedactURL(req.URL), Err: err}
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

// RedactURL prints a URL without user info or query values that could hold
// a secret (OpenStack URLs carry none, but be safe).
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	return c.String()
}
