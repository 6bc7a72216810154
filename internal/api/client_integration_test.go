package api

import (
	"strings"
	"testing"
	"time"
)

func TestHarnessConnect(t *testing.T) {
	env := harnessEnv(t)
	log := &memLog{}
	opts := harnessOptions(env, log)
	opts.Verbose = true
	ctx := testCtx(t, 60*time.Second)
	c, err := New(ctx, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	id := c.Identity()
	if id.ProjectID != env["OS_PROJECT_ID"] || id.UserName != env["OS_USERNAME"] {
		t.Errorf("identity = %+v", id)
	}
	nova, cinder := c.Microversions()
	if nova != NovaMicroversion || cinder != CinderMicroversion {
		t.Errorf("microversions = %s %s", nova, cinder)
	}
	srvs, err := c.ListServers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range srvs {
		if s.ID == env["OS_HARNESS_PROXY_ID"] {
			found = true
			if s.FlavorID != "1" || s.FlavorName != "m1.tiny" || len(s.VolumeIDs) == 0 {
				t.Errorf("proxy server = %+v", s)
			}
		}
	}
	if !found {
		t.Errorf("proxy %s not in list %+v", env["OS_HARNESS_PROXY_ID"], srvs)
	}
	p, err := c.GetServerAdmin(ctx, env["OS_HARNESS_PROXY_ID"])
	if err != nil {
		t.Fatal(err)
	}
	if p.Host == "" || p.InstanceName != env["OS_HARNESS_PROXY_INSTANCE_NAME"] {
		t.Errorf("admin view of proxy = %+v", p)
	}
	u, err := c.GetServer(ctx, env["OS_HARNESS_PROXY_ID"])
	if err != nil {
		t.Fatal(err)
	}
	if u.Host != "" || u.InstanceName != "" {
		t.Errorf("member sees hypervisor attributes: %+v", u)
	}
	_, err = c.GetVolume(ctx, "00000000-0000-0000-0000-000000000000")
	if !IsNotFound(err) || !strings.Contains(err.Error(), "get volume 00000000-0000-0000-0000-000000000000: HTTP 404") {
		t.Errorf("missing volume: %v (IsNotFound %v)", err, IsNotFound(err))
	}
	for _, sec := range []string{opts.Password, opts.AdminPassword} {
		if strings.Contains(log.String(), sec) {
			t.Fatalf("a password appears in the verbose log")
		}
	}
	if log.count("DEBUG", "POST http://127.0.0.1:5000/v3/auth/tokens -> 201") != 2 {
		t.Errorf("verbose log lacks the two token requests:\n%s", log.String())
	}
	t.Logf("errors look like: %v", err)
	if testing.Verbose() {
		t.Log(log.String()[:6000])
	}
}
