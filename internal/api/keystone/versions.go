package keystone

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/gophercloud/gophercloud/v2"

	"rb_module_rustack/internal/api/httpx"
	"rb_module_rustack/internal/logging"
)

// versionDoc is an OpenStack version document: {"version": {...}} from a
// versioned endpoint, {"versions": [...]} or {"versions": {"values": [...]}}
// from the root.
type versionDoc struct {
	Version  *versionInfo    `json:"version"`
	Versions json.RawMessage `json:"versions"`
}

type versionInfo struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	Version    string `json:"version"`     // max microversion (Nova, Cinder)
	MaxVersion string `json:"max_version"` // some services
	MinVersion string `json:"min_version"`
}

func (d *versionDoc) all() []versionInfo {
	var out []versionInfo
	if d.Version != nil {
		out = append(out, *d.Version)
	}
	if len(d.Versions) > 0 {
		var list []versionInfo
		if json.Unmarshal(d.Versions, &list) != nil {
			var wrapped struct {
				Values []versionInfo `json:"values"`
			}
			if json.Unmarshal(d.Versions, &wrapped) == nil {
				list = wrapped.Values
			}
		}
		out = append(out, list...)
	}
	return out
}

// keystoneVersion checks that resp is a Keystone version document offering
// v3 and returns the v3 version id.
func keystoneVersion(resp *http.Response) (string, error) {
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusMultipleChoices {
		return "", fmt.Errorf("not with a version document")
	}
	var doc versionDoc
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return "", fmt.Errorf("its answer is not a JSON version document")
	}
	for _, v := range doc.all() {
		if strings.HasPrefix(v.ID, "v3") {
			return v.ID, nil
		}
	}
	return "", fmt.Errorf("it offers no identity v3 version")
}

var versionSegment = regexp.MustCompile(`^v\d+(\.\d+)?$`)

// versionRoot cuts an endpoint after its version segment:
// http://h:8776/v3/PROJECT -> http://h:8776/v3/.
func versionRoot(endpoint string) (string, bool) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i, p := range parts {
		if versionSegment.MatchString(p) {
			u.Path = "/" + strings.Join(parts[:i+1], "/") + "/"
			u.RawQuery = ""
			return u.String(), true
		}
	}
	return "", false
}

// parseMicro parses "2.79" into (2, 79).
func parseMicro(s string) (int, int, bool) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), ".")
	if !ok {
		return 0, 0, false
	}
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	return x, y, err1 == nil && err2 == nil
}

func microLess(a, b string) bool {
	a1, a2, _ := parseMicro(a)
	b1, b2, _ := parseMicro(b)
	return a1 < b1 || (a1 == b1 && a2 < b2)
}

// Negotiate reads the service's version document and returns want, or the
// service's maximum when that is lower (with a warning when that is below
// least). When the document cannot be read it returns want and lets the
// service say no.
func Negotiate(ctx context.Context, sc *gophercloud.ServiceClient, service, want, least string, log logging.Log) string {
	root, ok := versionRoot(sc.Endpoint)
	if !ok {
		log.Debugf("%s endpoint %s has no version segment; using microversion %s", service, sc.Endpoint, want)
		return want
	}
	var doc versionDoc
	_, err := sc.ProviderClient.Request(ctx, http.MethodGet, root, &gophercloud.RequestOpts{
		JSONResponse: &doc, OkCodes: []int{200, 300},
	})
	if err != nil {
		log.Debugf("%s version document %s: %v; using microversion %s", service, root, httpx.Normalize(err), want)
		return want
	}
	for _, v := range doc.all() {
		hi := v.Version
		if hi == "" {
			hi = v.MaxVersion
		}
		if _, _, ok := parseMicro(hi); !ok {
			continue
		}
		chosen := want
		if microLess(hi, want) {
			chosen = hi
			if microLess(hi, least) {
				log.Warnf("%s supports microversions up to %s only; %s or later is needed for everything to work", service, hi, least)
			}
		}
		log.Debugf("%s: microversion %s (cloud range %s..%s)", service, chosen, v.MinVersion, hi)
		return chosen
	}
	log.Debugf("%s version document %s names no microversion range; using %s", service, root, want)
	return want
}
