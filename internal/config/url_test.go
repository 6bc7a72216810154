package config

import "testing"

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
