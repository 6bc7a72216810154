package keystone

import "testing"

func TestVersionRoot(t *testing.T) {
	cases := map[string]string{
		"http://h:8776/v3/af7b/":    "http://h:8776/v3/",
		"http://h:8774/v2.1":        "http://h:8774/v2.1/",
		"https://h/compute/v2.1/x/": "https://h/compute/v2.1/",
	}
	for in, want := range cases {
		if got, ok := versionRoot(in); !ok || got != want {
			t.Errorf("versionRoot(%s) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := versionRoot("http://h:8774/"); ok {
		t.Error("versionRoot of an unversioned endpoint")
	}
}
