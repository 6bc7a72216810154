package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"rb_module_rustack/internal/harnesstest"
)

// harnessConf is the configuration for the harness' test project, with the
// state dir and log file in dir.
type harnessConf map[string]string

func newHarnessConf(env map[string]string, dir string) harnessConf {
	return harnessConf{
		"url":            env["OS_AUTH_URL"],
		"username":       env["OS_USERNAME"],
		"password":       env["OS_PASSWORD"],
		"domain":         env["OS_USER_DOMAIN_NAME"],
		"project_id":     env["OS_PROJECT_ID"],
		"rubackup-vm-id": env["OS_HARNESS_PROXY_ID"],
		"admin_name":     env["OS_HARNESS_PROJECT_ADMIN_USER"],
		"admin_password": env["OS_HARNESS_PROJECT_ADMIN_PASSWORD"],
		"timeout":        "5",
		"state_dir":      filepath.Join(dir, "state"),
		"log_file":       filepath.Join(dir, "log", "RuBackup.log"),
	}
}

func (h harnessConf) with(kv ...string) harnessConf {
	c := harnessConf{}
	for k, v := range h {
		c[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		c[kv[i]] = kv[i+1]
	}
	return c
}

func (h harnessConf) write(t *testing.T, path string) string {
	t.Helper()
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		switch v := h[k]; v {
		case "\x00flag":
			b.WriteString(k + "\n") // a bare flag such as curl_verbose
		case "":
		default:
			b.WriteString(k + " " + v + "\n")
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// harnessServers are the test project's servers by id.
func harnessServers(t *testing.T, h *harnesstest.Harness) map[string]harnesstest.Server {
	t.Helper()
	m := map[string]harnesstest.Server{}
	for _, s := range h.Resources(t).Servers {
		m[s.ID] = s
	}
	return m
}

// transcript collects every output and log of a test, to search it for
// secrets at the end.
type transcript struct{ strings.Builder }

func (tr *transcript) run(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	out, errOut, code := run(t, bin, args...)
	fmt.Fprintf(tr, "$ %v\n%s%s", args, out, errOut)
	return out, errOut, code
}

func TestHarnessListAndCheck(t *testing.T) {
	h := harnesstest.New(t)
	env := h.Env
	bin := buildBinary(t)
	dir := t.TempDir()
	base := newHarnessConf(env, dir)
	tr := &transcript{}
	wrongPassword := "Wr0ng-Pa55-" + fmt.Sprint(time.Now().UnixNano())
	secrets := []string{base["password"], base["admin_password"], wrongPassword}

	for _, verbose := range []bool{false, true} {
		conf := base
		name := "quiet"
		if verbose {
			conf = base.with("curl_verbose", "\x00flag")
			name = "curl_verbose"
		}
		t.Run(name, func(t *testing.T) {
			path := conf.write(t, filepath.Join(dir, name+".conf"))

			t.Run("-l lists the project's servers", func(t *testing.T) {
				before := harnessServers(t, h)
				out, errOut, code := tr.run(t, bin, "-l", "-c", path)
				after := harnessServers(t, h)
				if code != exitOK {
					t.Fatalf("-l: exit %d\n%s%s", code, out, errOut)
				}
				lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
				if f := strings.Fields(lines[0]); len(f) != 3 || f[0] != "NAME" || f[1] != "ID" || f[2] != "STATUS" {
					t.Fatalf("header %q", lines[0])
				}
				listed := map[string]harnesstest.Server{}
				var names []string
				for _, l := range lines[1:] {
					f := strings.Fields(l)
					if len(f) != 3 {
						t.Fatalf("line %q: want NAME ID STATUS", l)
					}
					listed[f[1]] = harnesstest.Server{ID: f[1], Name: f[0], Status: f[2]}
					names = append(names, f[0])
				}
				if !sort.StringsAreSorted(names) {
					t.Errorf("not sorted by name: %v", names)
				}
				// Other engineers' tests create servers at the same time:
				// compare with what existed both before and after.
				for id, s := range before {
					a, still := after[id]
					if !still {
						continue
					}
					got, ok := listed[id]
					if !ok {
						t.Errorf("server %s (%s) missing from -l", s.Name, id)
						continue
					}
					if got.Name != s.Name || (a.Status == s.Status && got.Status != s.Status) {
						t.Errorf("-l shows %+v, harness %+v", got, s)
					}
				}
				for id := range listed {
					if _, ok := before[id]; !ok {
						if _, ok := after[id]; !ok {
							t.Errorf("-l lists %s, which the harness does not know", id)
						}
					}
				}
				if got := listed[env["OS_HARNESS_PROXY_ID"]]; got.Status != "ACTIVE" || got.Name != env["OS_HARNESS_PROXY_NAME"] {
					t.Errorf("proxy listed as %+v", got)
				}
				out, _, code = tr.run(t, bin, "list", "--json", "-c", path)
				var rows []vmRow
				if code != exitOK || json.Unmarshal([]byte(out), &rows) != nil || len(rows) == 0 {
					t.Fatalf("list --json: exit %d, %q", code, out)
				}
			})

			t.Run("-t passes", func(t *testing.T) {
				out, errOut, code := tr.run(t, bin, "-t", "-c", path)
				if code != exitOK {
					t.Fatalf("-t: exit %d\n%s%s", code, out, errOut)
				}
				lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
				if len(lines) != 10 { // 6 cloud checks, configuration, store, state dir, log file
					t.Errorf("%d lines, want 10:\n%s", len(lines), out)
				}
				if !strings.Contains(out, "OK    store: ") {
					t.Errorf("no store check line:\n%s", out)
				}
				for _, l := range lines {
					if !strings.HasPrefix(l, "OK    ") {
						t.Errorf("not OK: %q", l)
					}
				}
				if !strings.Contains(out, "instance "+env["OS_HARNESS_PROXY_INSTANCE_NAME"]) {
					t.Errorf("admin check does not show the hypervisor attributes:\n%s", out)
				}
				if st, err := os.Stat(conf["state_dir"]); err != nil || st.Mode().Perm() != 0o700 {
					t.Errorf("state dir: %v %v", st, err)
				}
			})

			t.Run("-t failures", func(t *testing.T) {
				testFailures(t, bin, tr, conf, dir, wrongPassword)
			})

			logText, err := os.ReadFile(conf["log_file"])
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(tr, "--- log ---\n%s", logText)
			if verbose && !strings.Contains(string(logText), "REST POST "+env["OS_AUTH_URL"]+"/auth/tokens -> 201") {
				t.Errorf("curl_verbose did not log the REST calls")
			}
		})
	}

	text := tr.String()
	for i, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("secret #%d appears in the outputs or the log file", i)
		}
	}
	if !strings.Contains(text, "FAIL  user: wrong user name or password") {
		t.Errorf("transcript incomplete")
	}
}

// testFailures runs -t with one thing wrong at a time and wants exactly one
// precise FAIL line and exit code 3 for each.
func testFailures(t *testing.T, bin string, tr *transcript, base harnessConf, dir, wrongPassword string) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"version": {"id": "v3.14", "status": "stable"}}`)
	}))
	defer tlsSrv.Close()
	otherCA := filepath.Join(dir, "other-ca.pem")
	if err := os.WriteFile(otherCA, selfSignedCA(t), 0o600); err != nil {
		t.Fatal(err)
	}
	blackHole, err := net.Listen("tcp", "127.0.0.1:0") // accepts nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer blackHole.Close()
	missingCA := filepath.Join(dir, "no-such-ca.pem")

	cases := []struct {
		name    string
		conf    harnessConf
		want    string // the FAIL line starts with this
		timeout time.Duration
	}{
		{"wrong password", base.with("password", wrongPassword),
			`FAIL  user: wrong user name or password (Keystone 401) for user "` + base["username"] + `"`, 0},
		{"unknown domain", base.with("domain", "no-such-domain"),
			`FAIL  user: domain "no-such-domain" not found`, 0},
		{"unknown project", base.with("project_id", "0123456789abcdef0123456789abcdef"),
			"FAIL  project: project 0123456789abcdef0123456789abcdef not found or not accessible", 0},
		{"unknown rubackup-vm-id", base.with("rubackup-vm-id", "11111111-2222-3333-4444-555555555555"),
			"FAIL  rubackup-vm-id: no server 11111111-2222-3333-4444-555555555555 in project", 0},
		{"wrong admin password", base.with("admin_password", wrongPassword),
			`FAIL  admin: wrong admin name or password (Keystone 401) for admin "` + base["admin_name"] + `"`, 0},
		{"connection refused", base.with("url", "http://127.0.0.1:1/v3", "timeout", "2"),
			"FAIL  keystone: http://127.0.0.1:1/v3: connection refused by 127.0.0.1:1", 2 * time.Second},
		{"black hole", base.with("url", "http://"+blackHole.Addr().String()+"/v3", "timeout", "2"),
			"FAIL  keystone: http://" + blackHole.Addr().String() + "/v3: no answer from " + blackHole.Addr().String() + " within 2s (timeout)", 2 * time.Second},
		{"TLS with a CA that did not sign the server", base.with("url", tlsSrv.URL+"/v3", "enable_ssl", "yes", "ca_info", otherCA),
			"FAIL  keystone: " + tlsSrv.URL + "/v3: TLS: certificate signed by unknown authority (ca_info " + otherCA + ")", 0},
		{"unreadable ca_info", base.with("url", tlsSrv.URL+"/v3", "enable_ssl", "yes", "ca_info", missingCA),
			"FAIL  keystone: " + tlsSrv.URL + "/v3: ca_info " + missingCA + ": cannot read the CA bundle: no such file or directory", 0},
		{"ca_info is a folder", base.with("url", tlsSrv.URL+"/v3", "enable_ssl", "yes", "ca_info", dir),
			"FAIL  keystone: " + tlsSrv.URL + "/v3: ca_info " + dir + ": cannot read the CA bundle: is a directory", 0},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.conf.write(t, filepath.Join(dir, fmt.Sprintf("fail%d.conf", i)))
			start := time.Now()
			out, errOut, code := tr.run(t, bin, "-t", "-c", path)
			elapsed := time.Since(start)
			if code != exitCheck {
				t.Errorf("exit %d, want %d", code, exitCheck)
			}
			var fails []string
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "FAIL") {
					fails = append(fails, l)
				}
			}
			if len(fails) != 1 || !strings.HasPrefix(fails[0], c.want) {
				t.Errorf("FAIL lines %q, want exactly one starting with %q\n%s%s", fails, c.want, out, errOut)
			}
			if c.timeout > 0 && elapsed > c.timeout+time.Second {
				t.Errorf("answered after %s; the issue wants at most timeout + 1 s = %s", elapsed, c.timeout+time.Second)
			}
			t.Logf("%s: %s (%s)", c.name, strings.Join(fails, " | "), elapsed.Round(time.Millisecond))
		})
	}
}

func selfSignedCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "not the server's CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
