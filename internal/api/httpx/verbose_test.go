package httpx

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRedactJSON(t *testing.T) {
	cases := []struct {
		name, in string
		gone     []string // must not appear
		kept     []string // must still appear
	}{
		{
			name: "keystone password method",
			in:   `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"bob","domain":{"name":"dom"},"password":"hunter2!"}}},"scope":{"project":{"id":"p1"}}}}`,
			gone: []string{"hunter2!"},
			kept: []string{`"name":"bob"`, `"name":"dom"`, `"id":"p1"`, `"password":"<redacted>"`},
		},
		{
			name: "keystone token method",
			in:   `{"auth":{"identity":{"methods":["token"],"token":{"id":"gAAAAsecrettoken"}}}}`,
			gone: []string{"gAAAAsecrettoken"},
			kept: []string{`"methods":["token"]`},
		},
		{
			name: "nova adminPass and nested secret objects",
			in:   `{"server":{"id":"s1","adminPass":"Zx9!"},"credential":{"secret":{"value":"v@lue","n":42}},"list":[{"new_password":"p1p1"}]}`,
			gone: []string{"Zx9!", "v@lue", "p1p1", "42"},
			kept: []string{`"id":"s1"`},
		},
		{
			name: "application credential and admin password",
			in:   `{"application_credential":{"name":"ac","secret":"AC-SECRET"},"admin_password":"ADM","Password":"UP"}`,
			gone: []string{"AC-SECRET", "ADM", `"UP"`},
			kept: []string{`"name":"ac"`},
		},
	}
	for _, c := range cases {
		out := RedactJSON([]byte(c.in))
		if out == nil {
			t.Fatalf("%s: not parsed", c.name)
		}
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Errorf("%s: output is not JSON: %s", c.name, out)
		}
		for _, g := range c.gone {
			if strings.Contains(string(out), g) {
				t.Errorf("%s: %q still in %s", c.name, g, out)
			}
		}
		for _, k := range c.kept {
			if !strings.Contains(string(out), k) {
				t.Errorf("%s: %q lost from %s", c.name, k, out)
			}
		}
	}
	if RedactJSON([]byte("not json")) != nil || RedactJSON([]byte(`{"a":1} {"b":2}`)) != nil {
		t.Error("non-JSON accepted")
	}
}

func FuzzRedactJSON(f *testing.F) {
	f.Add([]byte(`{"auth":{"identity":{"password":{"user":{"password":"x"}}}}}`), "x")
	f.Add([]byte(`{"token":{"id":"t"}}`), "t")
	f.Add([]byte(`[1,"a",{"secret":[1,2,{"k":"v"}]}]`), "v")
	f.Fuzz(func(t *testing.T, b []byte, secret string) {
		out := RedactJSON(b)
		if out != nil && !json.Valid(out) {
			t.Fatalf("invalid JSON out of %q: %q", b, out)
		}
		// A secret placed under "password" anywhere never survives.
		if secret == "" || strings.Contains(redacted, secret) {
			return
		}
		sb, _ := json.Marshal(secret)
		doc := []byte(`{"x":{"password":` + string(sb) + `},"admin_password":[` + string(sb) + `]}`)
		out = RedactJSON(doc)
		var v map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("redacted %q: %v", doc, err)
		}
		if v["x"].(map[string]any)["password"] != redacted || v["admin_password"].([]any)[0] != redacted {
			t.Fatalf("secret survived: %s", out)
		}
	})
}

func TestVerboseScrubsNonJSON(t *testing.T) {
	vt := &verboseTransport{secrets: []string{"pw123"}}
	if got := vt.body([]byte("user=x&password=pw123"), "application/x-www-form-urlencoded"); strings.Contains(got, "pw123") {
		t.Errorf("non-JSON body kept the secret: %q", got)
	}
	if got := vt.body([]byte(`{"password": "pw123"`), "application/json"); strings.Contains(got, "pw123") {
		t.Errorf("truncated JSON kept the secret: %q", got)
	}
}
