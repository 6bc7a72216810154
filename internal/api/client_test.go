package api

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

func TestNewWrongPassword(t *testing.T) {
	f := newFakeCloud(t, false)
	o := f.options()
	o.Password = "wrong-pw"
	_, err := New(testCtx(t, 10*time.Second), o)
	var ae *AuthError
	if !errors.As(err, &ae) || !ae.Unauthorized() || ae.Account != "user" {
		t.Fatalf("err = %v, want an AuthError 401", err)
	}
	if strings.Contains(err.Error(), "wrong-pw") || !strings.Contains(err.Error(), "Keystone 401") {
		t.Errorf("message %q", err)
	}
	// Wrong admin password: the user session works, the admin one does not.
	o = f.options()
	o.AdminName, o.AdminPassword = "adm", "bad-admin-pw"
	_, err = New(testCtx(t, 10*time.Second), o)
	if !errors.As(err, &ae) || ae.Account != "admin" || strings.Contains(err.Error(), "bad-admin-pw") {
		t.Fatalf("admin: err = %v", err)
	}
}

func TestNotFoundMapping(t *testing.T) {
	f := newFakeCloud(t, false)
	ctx := testCtx(t, 10*time.Second)
	c, err := New(ctx, f.options())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetVolume(ctx, "nope")
	if !IsNotFound(err) || StatusCode(err) != 404 || !gophercloud.ResponseCodeIs(err, 404) {
		t.Fatalf("err %v: IsNotFound %v status %d", err, IsNotFound(err), StatusCode(err))
	}
	if want := "get volume nope: HTTP 404: Volume nope could not be found."; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	_, err = c.GetServerAdmin(ctx, "x")
	if !errors.Is(err, ErrNoAdmin) {
		t.Errorf("GetServerAdmin without admin: %v", err)
	}
}

func TestReauthOnExpiredToken(t *testing.T) {
	f := newFakeCloud(t, false)
	f.volStatus["v1"] = []string{"available"}
	ctx := testCtx(t, 10*time.Second)
	c, err := New(ctx, f.options())
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.expired["tok-1"] = true
	f.mu.Unlock()
	v, err := c.GetVolume(ctx, "v1")
	if err != nil || v.Status != "available" {
		t.Fatalf("after expiry: %v %v", v, err)
	}
	if n := f.count("POST /v3/auth/tokens"); n != 2 {
		t.Errorf("%d token requests, want 2 (one re-authentication)", n)
	}
}

func TestWaitVolumeReachesStatus(t *testing.T) {
	f := newFakeCloud(t, false)
	f.volStatus["v1"] = []string{"creating", "creating", "available"}
	ctx := testCtx(t, 10*time.Second)
	c, err := New(ctx, f.options())
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.WaitVolume(ctx, "v1", 5*time.Second, "available")
	if err != nil || v.Status != "available" {
		t.Fatalf("WaitVolume: %v %v", v, err)
	}
}

func TestWaitVolumeErrorFailsFast(t *testing.T) {
	f := newFakeCloud(t, false)
	f.volStatus["v1"] = []string{"creating", "error"}
	ctx := testCtx(t, 30*time.Second)
	c, err := New(ctx, f.options())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.WaitVolume(ctx, "v1", 20*time.Second, "available")
	var se *StatusError
	if !errors.As(err, &se) || se.TimedOut || se.Last != "error" {
		t.Fatalf("err = %v, want an error-status StatusError", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("error status took %s to fail; want fast", el)
	}
	if !strings.Contains(err.Error(), `volume v1 went to status "error"`) {
		t.Errorf("message %q", err)
	}
}

func TestWaitVolumeTimeout(t *testing.T) {
	f := newFakeCloud(t, false)
	f.volStatus["v1"] = []string{"attaching"}
	ctx := testCtx(t, 30*time.Second)
	c, err := New(ctx, f.options())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.WaitVolume(ctx, "v1", 700*time.Millisecond, "in-use")
	el := time.Since(start)
	var se *StatusError
	if !errors.As(err, &se) || !se.TimedOut || se.Last != "attaching" {
		t.Fatalf("err = %v, want a timeout naming the last status", err)
	}
	if el < 700*time.Millisecond || el > 700*time.Millisecond+2*time.Second {
		t.Errorf("timeout 700ms honoured after %s", el)
	}
}

func TestWaitVolumeDeleted(t *testing.T) {
	f := newFakeCloud(t, false)
	f.volStatus["v1"] = []string{"deleting", "deleting", "404"}
	f.volStatus["v2"] = []string{"deleting", "error_deleting"}
	ctx := testCtx(t, 10*time.Second)
	c, err := New(ctx, f.options())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitVolumeDeleted(ctx, "v1", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	err = c.WaitVolumeDeleted(ctx, "v2", 5*time.Second)
	var se *StatusError
	if !errors.As(err, &se) || se.Last != "error_deleting" {
		t.Fatalf("error_deleting: %v", err)
	}
}

func TestWaitServerError(t *testing.T) {
	f := newFakeCloud(t, false)
	f.srvStatus["s1"] = []string{"BUILD", "ERROR"}
	f.srvFault = "No valid host was found."
	ctx := testCtx(t, 10*time.Second)
	c, err := New(ctx, f.options())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.WaitServer(ctx, "s1", 5*time.Second, "ACTIVE")
	var se *StatusError
	if !errors.As(err, &se) || se.Last != "ERROR" || !strings.Contains(err.Error(), "No valid host was found.") {
		t.Fatalf("err = %v", err)
	}
	f.srvStatus["s2"] = []string{"BUILD", "ACTIVE"}
	s, err := c.WaitServer(ctx, "s2", 5*time.Second, "ACTIVE")
	if err != nil || s.Status != "ACTIVE" || s.FlavorID != "1" {
		t.Fatalf("WaitServer: %+v %v", s, err)
	}
}

func TestListServersAllPagesAndFlavorIDs(t *testing.T) {
	f := newFakeCloud(t, false)
	ctx := testCtx(t, 10*time.Second)
	c, err := New(ctx, f.options())
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.ListServers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("%d servers, want 3 from two pages: %+v", len(list), list)
	}
	got := map[string]Server{}
	for _, s := range list {
		got[s.Name] = s
	}
	if got["alpha"].FlavorID != "1" || got["beta"].FlavorID != "2" || got["beta"].FlavorName != "m1.small" {
		t.Errorf("flavor ids not resolved from names: %+v", list)
	}
	g := got["gamma"]
	if g.FlavorID != "" || g.FlavorName != "gone" || len(g.Networks) != 1 || g.Networks[0].Name != "net1" ||
		g.Networks[0].FixedIP != "10.0.0.5" || len(g.SecurityGroups) != 1 || len(g.VolumeIDs) != 1 || g.VolumeIDs[0] != "v9" {
		t.Errorf("gamma = %+v", g)
	}
	// The flavor list was read once, although two servers needed it and
	// one flavor does not exist.
	if n := f.count("GET /v2.1/flavors/detail"); n != 1 {
		t.Errorf("flavors listed %d times, want 1", n)
	}
	if n := f.count("GET /v2.1/servers/detail"); n != 2 {
		t.Errorf("%d server list pages read, want 2", n)
	}
}
