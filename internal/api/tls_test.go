package api

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rb_module_rustack/internal/logging/logtest"
)

// TLS setup as Probe and New see it: the configuration of Options through
// the HTTP stack of internal/api/httpx.

func writeCA(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func keystoneTLS(t *testing.T) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"version": map[string]any{"id": "v3.14", "status": "stable"}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestTLSVerifiedAgainstCAInfo(t *testing.T) {
	srv := keystoneTLS(t)
	ca := writeCA(t, srv)
	res, err := Probe(testCtx(t, 10*time.Second), Options{URL: srv.URL + "/v3", EnableSSL: true, CAInfo: ca, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != "v3.14" || !strings.Contains(res.TLS, "verified against ca_info "+ca) {
		t.Errorf("probe = %+v", res)
	}
}

func TestTLSWrongCA(t *testing.T) {
	srv := keystoneTLS(t)
	// Every httptest server has the same certificate: make a distinct CA.
	ca := filepath.Join(t.TempDir(), "other.pem")
	if err := os.WriteFile(ca, selfSignedPEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Probe(testCtx(t, 10*time.Second), Options{URL: srv.URL + "/v3", EnableSSL: true, CAInfo: ca, Timeout: 5 * time.Second})
	var ne *NetError
	if !errors.As(err, &ne) || !ne.TLS {
		t.Fatalf("err = %v, want a TLS NetError", err)
	}
	want := "TLS: certificate signed by unknown authority (ca_info " + ca + ")"
	if err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

func TestTLSNotVerifiedWarnsOnce(t *testing.T) {
	f := newFakeCloud(t, true)
	log := &logtest.Recorder{}
	o := f.options()
	o.Log = log
	if _, err := New(testCtx(t, 10*time.Second), o); err != nil {
		t.Fatal(err)
	}
	if n := log.Count("WARN", "not verified"); n != 1 {
		t.Errorf("%d warnings about TLS verification, want 1; log:\n%s", n, log)
	}
	// enable_ssl yes without ca_info verifies against the system pool,
	// which does not know the test CA.
	o.EnableSSL = true
	_, err := New(testCtx(t, 10*time.Second), o)
	if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority (the system CA pool)") {
		t.Errorf("enable_ssl yes without ca_info: %v", err)
	}
}

func TestCAInfoUnreadable(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "notpem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	cases := map[string]string{
		filepath.Join(dir, "missing.pem"): "cannot read the CA bundle: no such file or directory",
		dir:                               "cannot read the CA bundle: is a directory",
		notPEM:                            "no PEM certificate in the file",
	}
	for path, want := range cases {
		_, err := Probe(testCtx(t, 5*time.Second), Options{URL: "https://127.0.0.1:1/v3", EnableSSL: true, CAInfo: path})
		if err == nil || !strings.Contains(err.Error(), "ca_info "+path+": ") || !strings.Contains(err.Error(), want) {
			t.Errorf("ca_info %s: %v, want %q", path, err, want)
		}
	}
}

func TestHTTPSToPlainServer(t *testing.T) {
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	_, err := Probe(testCtx(t, 5*time.Second), Options{URL: "https://" + strings.TrimPrefix(plain.URL, "http://") + "/v3", Timeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "does not speak TLS") {
		t.Errorf("https to a plain server: %v", err)
	}
}

// selfSignedPEM makes a fresh self-signed CA certificate.
func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "other test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
