package archive

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"rb_module_rustack/internal/chunk"
)

func sampleManifest() *manifestData {
	m := &manifestData{meta: manifestMeta{Format: 1, ID: "vm-20250101T000000.000Z-incremental-abcdef", Type: Incremental,
		RequestedType: Incremental, Parent: "vm-20250101T000000.000Z-full-000000",
		Chain: []string{"vm-20250101T000000.000Z-full-000000", "vm-20250101T000000.000Z-incremental-abcdef"},
		VMID:  "id", VMName: "vm", VM: json.RawMessage(`{"a":1}`), Created: time.Unix(1, 0).UTC(), Mode: modePool,
		Cipher: "none", Disks: []diskMeta{{Label: "vda", Size: 70000, Runs: 3}, {Label: "vdb", Size: 0}}}}
	m.runs = [][]chunk.Run{{{Len: 65536, ID: chunk.ID{1}}, {Len: 4000, Hole: true}, {Len: 464, ID: chunk.ID{2}}}, nil}
	return m
}

func TestManifestRoundTrip(t *testing.T) {
	m := sampleManifest()
	b, err := encodeManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.runs[0]) != 3 || got.runs[0][2] != m.runs[0][2] || got.meta.Disks[1].Label != "vdb" || string(got.meta.VM) != `{"a":1}` {
		t.Fatalf("round trip: %+v", got)
	}
	pm := got.public()
	if pm.ID != m.meta.ID || len(pm.Disks) != 2 || pm.Disks[0].Size != 70000 || pm.Parent != m.meta.Parent {
		t.Fatalf("public: %+v", pm)
	}
}

func TestManifestRejects(t *testing.T) {
	for name, mod := range map[string]func(m *manifestData){
		"size mismatch":   func(m *manifestData) { m.meta.Disks[0].Size++ },
		"bad label":       func(m *manifestData) { m.meta.Disks[0].Label = "../etc" },
		"duplicate label": func(m *manifestData) { m.meta.Disks[1].Label = "vda" },
		"chain":           func(m *manifestData) { m.meta.Chain = m.meta.Chain[:1] },
		"parent":          func(m *manifestData) { m.meta.Parent = "" },
		"type":            func(m *manifestData) { m.meta.Type = "weekly" },
		"mode":            func(m *manifestData) { m.meta.Mode = "cloud" },
		"id":              func(m *manifestData) { m.meta.ID = "../x"; m.meta.Chain[1] = "../x" },
	} {
		m := sampleManifest()
		mod(m)
		b, _ := encodeManifest(m)
		if _, err := parseManifest(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	b, _ := encodeManifest(sampleManifest())
	for _, n := range []int{0, 3, 10, len(b) - 1} {
		if _, err := parseManifest(b[:n]); err == nil {
			t.Errorf("truncated to %d: accepted", n)
		}
	}
	if _, err := parseManifest(append(b, 0)); err == nil || !strings.Contains(err.Error(), "trailing") {
		t.Errorf("trailing byte: %v", err)
	}
}

func FuzzParseManifest(f *testing.F) {
	b, _ := encodeManifest(sampleManifest())
	f.Add(b)
	m := sampleManifest()
	m.meta.Type, m.meta.Parent, m.meta.Chain = Full, "", m.meta.Chain[1:]
	b, _ = encodeManifest(m)
	f.Add(b)
	// A chunk stored as a delta of two chunks, one of them a delta itself.
	m = sampleManifest()
	m.runs[0][0].Delta = &chunk.Delta{Patch: chunk.ID{3}, PatchLen: 4100, Bases: []chunk.Base{
		{Off: -100, Len: 30000, ID: chunk.ID{4}},
		{Off: 29900, Len: 40000, ID: chunk.ID{5}, Delta: &chunk.Delta{Patch: chunk.ID{6}, PatchLen: 9, Bases: []chunk.Base{{Len: 40000, ID: chunk.ID{7}}}}},
	}}
	b, _ = encodeManifest(m)
	if got, err := parseManifest(b); err != nil || got.runs[0][0].Delta.Depth() != 2 {
		f.Fatalf("delta run does not round trip: %v", err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseManifest(b)
		if err != nil {
			return
		}
		// What parses is consistent: runs cover each disk exactly, labels are safe.
		for i, d := range m.meta.Disks {
			var total int64
			for _, r := range m.runs[i] {
				if r.Len <= 0 {
					t.Fatal("empty run")
				}
				total += r.Len
			}
			if total != d.Size || !validLabel(d.Label) || strings.Contains(d.Label, "/") {
				t.Fatalf("disk %q: runs cover %d of %d", d.Label, total, d.Size)
			}
		}
		if m.meta.Chain[len(m.meta.Chain)-1] != m.meta.ID {
			t.Fatal("chain does not end with the archive")
		}
	})
}
