package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"

	"rb_module_rustack/internal/api/keystone"
)

// ObjectStorage is an authenticated session with the object-store (Swift)
// endpoint of the Keystone catalog: what the dedup store on Swift uses.
type ObjectStorage struct {
	// Service is the object-store service client: Endpoint is the
	// account's URL (.../v1/AUTH_<project>/).
	Service *gophercloud.ServiceClient
	// HTTP is the HTTP stack of the session (TLS, retries with backoff on
	// 5xx, 429 and connection errors, redacted verbose log).
	HTTP *http.Client
	// TLS describes how the connection is secured, for -t.
	TLS string
}

// NewObjectStorage authenticates the user of opts (Timeout bounds one
// attempt of a request, so it should allow a whole pack's upload) and finds
// the object-store endpoint of opts.Region in its catalog.
func NewObjectStorage(ctx context.Context, opts Options) (*ObjectStorage, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	httpc, desc, err := opts.httpClient(true)
	if err != nil {
		return nil, err
	}
	pc, err := keystone.Authenticate(ctx, httpc, opts.login("user", opts.Username, opts.Password, true))
	if err != nil {
		return nil, err
	}
	sc, err := openstack.NewObjectStorageV1(pc, gophercloud.EndpointOpts{Region: opts.Region})
	if err != nil {
		return nil, fmt.Errorf("find the object-store (Swift) endpoint in the catalog%s: %w", regionNote(opts.Region), err)
	}
	return &ObjectStorage{Service: sc, HTTP: httpc, TLS: desc}, nil
}
