package config

import (
	"strings"
	"testing"
)

// TestURLNeedsScheme: a URL key written without its scheme fails at parse
// time, naming file:line and key, and says the scheme is missing.
func TestURLNeedsScheme(t *testing.T) {
	wantErr(t, "timeout 5\nurl 127.0.0.1:5000\n", nil,
		`test.conf:2: key "url": "127.0.0.1:5000" has no scheme: write https://127.0.0.1:5000/v3 (or http://127.0.0.1:5000/v3)`)
	wantErr(t, "url cloud.example:5000/v3\n", nil, `test.conf:1: key "url": "cloud.example:5000/v3" has no scheme: write https://cloud.example:5000/v3 (or`)
	wantErr(t, "store_auth_url keystone:5000\n", nil, `test.conf:1: key "store_auth_url": "keystone:5000" has no scheme`)
	wantErr(t, "s3_endpoint 127.0.0.1:8080\n", nil, `test.conf:1: key "s3_endpoint": "127.0.0.1:8080" has no scheme: write https://127.0.0.1:8080 (or http://127.0.0.1:8080)`)
	wantErr(t, "url ftp://x/v3\n", nil, `test.conf:1: key "url": "ftp://x/v3" is not an http:// or https:// URL`)
	wantErr(t, "", map[string]string{"url": "10.0.0.1:5000"}, `rule parameter "url": "10.0.0.1:5000" has no scheme`)
	for _, good := range []string{"url http://127.0.0.1:5000/v3", "url https://cloud:5000", "store_auth_url https://k:5000/v3", "url NONE"} {
		if _, err := parse(t, good+"\n", nil); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
}

// TestScriptsNeedAdmin: a configured guest script without the admin
// account is refused by Require("backup"), naming where it was set.
func TestScriptsNeedAdmin(t *testing.T) {
	base := "url http://k/v3\nusername u\npassword p\ndomain d\nproject_id p\nrubackup-vm-id proxy\n"
	c := mustParse(t, base+"script_before_snapshot /usr/local/bin/freeze\n", nil)
	err := c.Require("backup")
	want := `test.conf:7: key "script_before_snapshot" is set, but admin_name and admin_password are not: a guest script runs through the admin account`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("before script without admin: %v, want %q", err, want)
	}
	c = mustParse(t, base+"admin_name adm\n", map[string]string{"script_after_snapshot": "/post"})
	if err := c.Require("backup"); err == nil || !strings.Contains(err.Error(), `rule parameter "script_after_snapshot": key "script_after_snapshot" is set, but admin_password is not`) {
		t.Errorf("after script without admin password: %v", err)
	}
	c = mustParse(t, base+"admin_name adm\nadmin_password secret\nscript_before_snapshot /x\n", nil)
	if err := c.Require("backup"); err != nil {
		t.Errorf("with the admin account: %v", err)
	}
	// No script: no admin needed.
	if err := mustParse(t, base, nil).Require("backup"); err != nil {
		t.Errorf("no script: %v", err)
	}
}
