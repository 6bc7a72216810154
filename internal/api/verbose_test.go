package api

import (
	"strings"
	"testing"
	"time"

	"rb_module_rustack/internal/logging/logtest"
)

// TestVerboseNeverLogsSecrets drives New and a few calls with Verbose on
// against the fake cloud and searches the whole log for the password and
// the tokens.
func TestVerboseNeverLogsSecrets(t *testing.T) {
	f := newFakeCloud(t, false)
	f.volStatus["v1"] = []string{"available"}
	log := &logtest.Recorder{}
	o := f.options()
	o.Log = log
	o.Verbose = true
	o.AdminName = "adm"
	o.AdminPassword = f.password // the fake accepts any name with this password
	ctx := testCtx(t, 10*time.Second)
	c, err := New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetVolume(ctx, "v1"); err != nil {
		t.Fatal(err)
	}
	_, _ = c.GetVolume(ctx, "missing")
	text := log.String()
	for _, s := range []string{f.password, "tok-1", "tok-2"} {
		if strings.Contains(text, s) {
			t.Fatalf("%q appears in the verbose log:\n%s", s, text)
		}
	}
	for _, want := range []string{
		"REST POST " + f.srv.URL + "/v3/auth/tokens -> 201",
		"X-Subject-Token: <redacted>",
		"X-Auth-Token: <redacted>",
		"REST GET " + f.srv.URL + "/v3/proj1/volumes/v1 -> 200",
		"REST GET " + f.srv.URL + "/v3/proj1/volumes/missing -> 404",
		`"password":"<redacted>"`,
		`"name":"u1"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("verbose log lacks %q:\n%s", want, text)
		}
	}
	// The password is in the fake's received bodies, so the test would see
	// a leak.
	if !strings.Contains(f.authBodies[0], f.password) {
		t.Fatal("test is broken: the password was not sent")
	}
}
