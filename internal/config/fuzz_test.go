package config

import (
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, and that an error never depends
// on (so never shows) the value of a secret key: the same file parsed with
// two different passwords gives the same error text, and a successful parse
// keeps the password exactly.
func FuzzParse(f *testing.F) {
	f.Add("url http://x/v3\ntimeout 5\n", "pw-one", "k", "v")
	f.Add("# c\r\ncurl_verbose\r\nchunk_avg 8K\n", "p#w x", "timeout", "0")
	f.Add("password dup\nregion NONE\n", "secret", "chunk_max", "32K")
	f.Add("\xef\xbb\xbf  enable_ssl maybe\n", "a b c", "enable_ssl", "yes")
	f.Add("timeout 301\nfoo bar\n", "NONE", "password", "x")
	f.Fuzz(func(t *testing.T, data, pw, pk, pv string) {
		params := map[string]string{pk: pv}
		c, err := Parse("fuzz.conf", strings.NewReader(data), params)
		if err == nil && c == nil {
			t.Fatal("nil config without an error")
		}
		// Put the password on the first line; choose two passwords that the
		// grammar reads back unchanged.
		if !plainSecret(pw) || pk == "password" {
			return
		}
		other := "Q" + pw + "Z"
		text := func(p string) string { return "password " + p + "\n" + data }
		c1, err1 := Parse("fuzz.conf", strings.NewReader(text(pw)), params)
		c2, err2 := Parse("fuzz.conf", strings.NewReader(text(other)), params)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("the password changed whether the file parses: %v / %v", err1, err2)
		}
		if err1 != nil {
			if err1.Error() != err2.Error() {
				t.Fatalf("an error depends on the password's value:\n%q\n%q", err1, err2)
			}
			return
		}
		if c1.Password != pw || c2.Password != other {
			t.Fatalf("password not kept exactly")
		}
		if s := c1.Secrets(); len(s) == 0 || s[0] != pw {
			t.Fatalf("Secrets does not start with the password")
		}
		// Require's errors do not depend on the password either.
		r1, r2 := c1.Require("scripts"), c2.Require("scripts")
		if (r1 == nil) != (r2 == nil) || (r1 != nil && r1.Error() != r2.Error()) {
			t.Fatalf("a Require error depends on the password's value: %v / %v", r1, r2)
		}
	})
}

// plainSecret says whether p survives the grammar unchanged as a value.
func plainSecret(p string) bool {
	return p != "" && p != "NONE" && !strings.ContainsAny(p, "\r\n") &&
		strings.TrimSpace(p) == p && strings.Trim(p, " \t") == p
}
