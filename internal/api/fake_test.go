package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeCloud is a minimal Keystone + Nova + Cinder on one httptest server,
// enough to drive New, the waiters and the error paths without the harness.
type fakeCloud struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	password   string
	project    string
	tokenN     int                 // tokens issued
	expired    map[string]bool     // tokens that now answer 401
	volStatus  map[string][]string // volume id -> statuses to serve in turn (last repeats); "404" = gone
	srvStatus  map[string][]string
	srvFault   string
	requests   []string // "METHOD path"
	authBodies []string // raw token request bodies
}

func newFakeCloud(t *testing.T, tls bool) *fakeCloud {
	f := &fakeCloud{t: t, password: "s3cr3t-Pa55word", project: "proj1",
		expired: map[string]bool{}, volStatus: map[string][]string{}, srvStatus: map[string][]string{}}
	if tls {
		f.srv = httptest.NewTLSServer(http.HandlerFunc(f.handle))
	} else {
		f.srv = httptest.NewServer(http.HandlerFunc(f.handle))
	}
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeCloud) options() Options {
	return Options{URL: f.srv.URL + "/v3", Username: "u1", Password: f.password, Domain: "d1", ProjectID: f.project}
}

func (f *fakeCloud) count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func fault(w http.ResponseWriter, code int, kind, msg string) {
	writeJSON(w, code, map[string]any{kind: map[string]any{"code": code, "message": msg}})
}

// next pops the next status of a sequence; the last one repeats.
func next(m map[string][]string, id string) (string, bool) {
	seq, ok := m[id]
	if !ok || len(seq) == 0 {
		return "", false
	}
	st := seq[0]
	if len(seq) > 1 {
		m[id] = seq[1:]
	}
	return st, true
}

func (f *fakeCloud) handle(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	base := f.srv.URL
	p := r.URL.Path
	switch {
	case p == "/v3" || p == "/v3/":
		if r.Method == http.MethodGet && r.Header.Get("X-Auth-Token") == "" {
			writeJSON(w, 200, map[string]any{"version": map[string]any{"id": "v3.14", "status": "stable"}})
			return
		}
		writeJSON(w, 200, map[string]any{"version": map[string]any{"id": "v3.0", "status": "CURRENT", "version": "3.70", "min_version": "3.0"}})
		return
	case p == "/v3/auth/tokens" && r.Method == http.MethodPost:
		body, _ := io.ReadAll(r.Body)
		f.authBodies = append(f.authBodies, string(body))
		if !strings.Contains(string(body), `"password":"`+f.password+`"`) {
			writeJSON(w, 401, map[string]any{"error": map[string]any{"code": 401, "title": "Unauthorized",
				"message": "The request you have made requires authentication."}})
			return
		}
		f.tokenN++
		tok := fmt.Sprintf("tok-%d", f.tokenN)
		w.Header().Set("X-Subject-Token", tok)
		writeJSON(w, 201, map[string]any{"token": map[string]any{
			"expires_at": "2099-01-01T00:00:00.000000Z",
			"user":       map[string]any{"id": "uid", "name": "u1", "domain": map[string]any{"id": "did", "name": "d1"}},
			"project":    map[string]any{"id": f.project, "name": "p", "domain": map[string]any{"id": "did", "name": "d1"}},
			"roles":      []any{map[string]any{"id": "r", "name": "member"}},
			"catalog": []any{
				map[string]any{"type": "compute", "name": "nova", "endpoints": []any{
					map[string]any{"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": base + "/v2.1"}}},
				map[string]any{"type": "block-storage", "name": "cinder", "endpoints": []any{
					map[string]any{"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": base + "/v3/" + f.project}}},
			},
		}})
		return
	}
	tok := r.Header.Get("X-Auth-Token")
	if tok == "" || f.expired[tok] {
		writeJSON(w, 401, map[string]any{"error": map[string]any{"code": 401, "message": "The request you have made requires authentication."}})
		return
	}
	switch {
	case p == "/v2.1/" || p == "/v2.1":
		writeJSON(w, 200, map[string]any{"version": map[string]any{"id": "v2.1", "status": "CURRENT", "version": "2.93", "min_version": "2.1"}})
	case strings.HasPrefix(p, "/v3/"+f.project+"/volumes/"):
		id := strings.TrimPrefix(p, "/v3/"+f.project+"/volumes/")
		st, ok := next(f.volStatus, id)
		if !ok || st == "404" {
			fault(w, 404, "itemNotFound", fmt.Sprintf("Volume %s could not be found.", id))
			return
		}
		writeJSON(w, 200, map[string]any{"volume": map[string]any{"id": id, "status": st, "size": 1, "bootable": "false"}})
	case p == "/v2.1/servers/detail":
		// Three servers in two pages, flavors embedded as from 2.47 on.
		all := []map[string]any{
			{"id": "s-b", "name": "beta", "status": "ACTIVE", "flavor": map[string]any{"original_name": "m1.small", "vcpus": 1}},
			{"id": "s-a", "name": "alpha", "status": "SHUTOFF", "flavor": map[string]any{"original_name": "m1.tiny"}},
			{"id": "s-c", "name": "gamma", "status": "ERROR", "flavor": map[string]any{"original_name": "gone"},
				"addresses":                            map[string]any{"net1": []any{map[string]any{"addr": "10.0.0.5", "OS-EXT-IPS:type": "fixed"}}},
				"security_groups":                      []any{map[string]any{"name": "default"}, map[string]any{"name": "default"}},
				"os-extended-volumes:volumes_attached": []any{map[string]any{"id": "v9"}}},
		}
		if r.URL.Query().Get("marker") == "" {
			writeJSON(w, 200, map[string]any{"servers": all[:2], "servers_links": []any{
				map[string]any{"rel": "next", "href": base + "/v2.1/servers/detail?marker=s-a"}}})
			return
		}
		writeJSON(w, 200, map[string]any{"servers": all[2:]})
	case p == "/v2.1/flavors/detail":
		writeJSON(w, 200, map[string]any{"flavors": []any{
			map[string]any{"id": "1", "name": "m1.tiny"}, map[string]any{"id": "2", "name": "m1.small"}}})
	case strings.HasPrefix(p, "/v2.1/servers/"):
		id := strings.TrimPrefix(p, "/v2.1/servers/")
		st, ok := next(f.srvStatus, id)
		if !ok || st == "404" {
			fault(w, 404, "itemNotFound", "Instance "+id+" could not be found.")
			return
		}
		s := map[string]any{"id": id, "name": "vm-" + id, "status": st, "tenant_id": f.project,
			"flavor": map[string]any{"id": "1"}, "addresses": map[string]any{}, "metadata": map[string]any{}}
		if st == "ERROR" && f.srvFault != "" {
			s["fault"] = map[string]any{"code": 500, "message": f.srvFault}
		}
		writeJSON(w, 200, map[string]any{"server": s})
	default:
		fault(w, 404, "itemNotFound", "no route "+p)
	}
}
