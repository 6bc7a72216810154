package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAlgorithms(t *testing.T) {
	out, errOut, code := engineCLI(t, "algorithms", "--json")
	if code != exitOK {
		t.Fatalf("algorithms --json: code %d, %s", code, errOut)
	}
	var l struct {
		Ciphers []struct {
			Name    string   `json:"name"`
			KeyBits int      `json:"key_bits"`
			Mode    string   `json:"mode"`
			Aliases []string `json:"aliases"`
			Default bool     `json:"default"`
		} `json:"ciphers"`
		Codecs []struct {
			Name         string   `json:"name"`
			Levels       []string `json:"levels"`
			DefaultLevel string   `json:"default_level"`
			Default      bool     `json:"default"`
		} `json:"codecs"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ciphers := map[string]int{}
	for _, c := range l.Ciphers {
		ciphers[c.Name] = c.KeyBits
		if c.Default != (c.Name == "aes-256-gcm") {
			t.Errorf("cipher %s: default %v", c.Name, c.Default)
		}
	}
	if ciphers["aes-256-gcm"] != 256 || ciphers["chacha20-poly1305"] != 256 || ciphers["threefish-1024"] != 1024 || ciphers["kalyna-512"] != 512 ||
		ciphers["sm4-128"] != 128 || ciphers["kuznyechik-mgm-256"] != 256 || len(ciphers) != 30 {
		t.Errorf("ciphers %v", ciphers)
	}
	// Grouped by family, key bits ascending.
	var order []string
	for _, c := range l.Ciphers {
		if strings.HasPrefix(c.Name, "threefish-") {
			order = append(order, c.Name)
		}
	}
	if strings.Join(order, " ") != "threefish-256 threefish-512 threefish-1024" {
		t.Errorf("threefish order %v", order)
	}
	if l.Ciphers[0].Name != "aes-256-gcm" || strings.Join(l.Ciphers[0].Aliases, ",") != "aes-256" || l.Ciphers[0].Mode != "GCM" {
		t.Errorf("first cipher %+v", l.Ciphers[0])
	}
	if len(l.Codecs) != 3 || l.Codecs[0].Name != "zstd" || !l.Codecs[0].Default || l.Codecs[0].DefaultLevel != "fastest" ||
		strings.Join(l.Codecs[0].Levels, ",") != "fastest,default,better" || l.Codecs[1].Name != "none" || l.Codecs[1].Default ||
		l.Codecs[2].Name != "s2" || strings.Join(l.Codecs[2].Levels, ",") != "fastest,better" {
		t.Errorf("codecs %+v", l.Codecs)
	}

	out, _, code = engineCLI(t, "algorithms")
	for _, want := range []string{"CIPHER", "aes-256-gcm", "chacha20-poly1305", "kuznyechik-mgm-256  256       MGM", "COMPRESSION", "fastest (default)", "none"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("algorithms: code %d, %q missing:\n%s", code, want, out)
		}
	}
	if _, _, code := engineCLI(t, "algorithms", "extra"); code != exitUsage {
		t.Errorf("algorithms with an argument: code %d, want %d", code, exitUsage)
	}
}

// TestAlgorithmsConfigChoices: the configuration accepts exactly the
// registered names and says which are valid.
func TestAlgorithmsConfigChoices(t *testing.T) {
	for _, tc := range []struct{ key, value, want string }{
		{"cipher", "rot13", "aes-256-gcm, aes-128, anubis-128, "},
		{"cipher", "rot13", "threefish-256, threefish-512, threefish-1024, twofish-128, twofish-256, aes-256"},
		{"compression", "lz5", "zstd, none, s2"},
		{"compression_level", "ultra", "fastest, default, better"},
	} {
		conf := filepath.Join(t.TempDir(), "rb.conf")
		if err := os.WriteFile(conf, []byte(tc.key+" "+tc.value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, errOut, code := engineCLI(t, "--config", conf, "config")
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s %s: code %d, stderr %q; want exit 2 listing %s", tc.key, tc.value, code, errOut, tc.want)
		}
	}
}
