package keystone

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"rb_module_rustack/internal/api/httpx"
)

// ProbeResult describes the identity endpoint as one GET saw it.
type ProbeResult struct {
	URL     string
	Status  int
	Version string // "v3.14"
	TLS     string // how the connection is secured
	Elapsed time.Duration
}

// Probe sends one GET through httpc to the Keystone URL and checks that a
// Keystone v3 version document answers. tlsDesc is how httpc secures the
// connection, reported as is.
func Probe(ctx context.Context, httpc *http.Client, url, tlsDesc string) (*ProbeResult, error) {
	res := &ProbeResult{URL: url, TLS: tlsDesc}
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("url %q: %w", url, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := httpc.Do(req)
	res.Elapsed = time.Since(start)
	if err != nil {
		return res, httpx.Normalize(err)
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	v, err := keystoneVersion(resp)
	if err != nil {
		return res, fmt.Errorf("%s answered HTTP %d but %v: check url (it must be the Keystone v3 endpoint, e.g. https://host:5000/v3)",
			url, resp.StatusCode, err)
	}
	res.Version = v
	return res, nil
}
