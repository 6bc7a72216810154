package api

import (
	"context"
	"testing"
	"time"
)

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
