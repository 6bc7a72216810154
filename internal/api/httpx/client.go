package httpx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"rb_module_rustack/internal/logging"
)

// Config is what NewClient needs: the cloud's URL (it says whether TLS is
// in use at all), the TLS choice, the bound of one attempt, the retry
// policy and the curl_verbose log.
type Config struct {
	URL       string        // the URL the client starts from (https: or not)
	Timeout   time.Duration // bound of one attempt; 0 = DefaultTimeout
	EnableSSL bool          // verify the server certificate
	CAInfo    string        // with EnableSSL: verify against this CA bundle only
	Verbose   bool          // log every attempt (redacted) at debug level
	Secrets   []string      // values scrubbed from the verbose log as a last resort
	Log       logging.Log   // nil = discard
	Retry     RetryPolicy   // the zero value is the default policy
}

// DefaultTimeout bounds one attempt when Config.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// tlsSetup builds the TLS configuration of o and a sentence for -t.
func tlsSetup(o *Config) (*tls.Config, string, error) {
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

// NewClient builds the stack every request goes through:
// retry (per-attempt timeout, backoff) -> verbose log -> net/http transport.
// The string describes how the connection is secured, for -t.
func NewClient(o Config) (*http.Client, string, error) {
	tlsCfg, desc, err := tlsSetup(&o)
	if err != nil {
		return nil, "", err
	}
	to := o.Timeout
	if to <= 0 {
		to = DefaultTimeout
	}
	log := o.Log
	if log == nil {
		log = logging.Discard()
	}
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
		rt = &verboseTransport{next: rt, log: log, secrets: o.Secrets}
	}
	rt = &retryTransport{next: rt, policy: o.Retry.withDefaults(), timeout: to, caInfo: o.CAInfo, log: log}
	return &http.Client{Transport: rt}, desc, nil
}
