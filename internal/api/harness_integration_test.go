package api

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// harnessEnv reads the shared OpenStack harness' credentials.env and skips
// the test, loudly, when the harness is not reachable.
func harnessEnv(t *testing.T) map[string]string {
	t.Helper()
	dir := os.Getenv("OPENSTACK_HARNESS_DIR")
	if dir == "" {
		dir = "/tmp/openstack-harness"
	}
	f, err := os.Open(filepath.Join(dir, "credentials.env"))
	if err != nil {
		t.Skipf("HARNESS NOT AVAILABLE (%v): run ../shared/openstack/up.sh", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export "))
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		env[k] = strings.Trim(v, `"'`)
	}
	conn, err := net.DialTimeout("tcp", "127.0.0.1:5000", 2*time.Second)
	if err != nil {
		t.Skipf("HARNESS NOT REACHABLE (keystone 127.0.0.1:5000: %v): run ../shared/openstack/up.sh", err)
	}
	conn.Close()
	return env
}

func harnessOptions(env map[string]string, log Logger) Options {
	return Options{
		URL:           env["OS_AUTH_URL"],
		Username:      env["OS_USERNAME"],
		Password:      env["OS_PASSWORD"],
		Domain:        env["OS_USER_DOMAIN_NAME"],
		ProjectID:     env["OS_PROJECT_ID"],
		AdminName:     env["OS_HARNESS_PROJECT_ADMIN_USER"],
		AdminPassword: env["OS_HARNESS_PROJECT_ADMIN_PASSWORD"],
		Timeout:       10 * time.Second,
		Log:           log,
	}
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
