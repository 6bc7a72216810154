package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docRow is one row of a key table of docs/configuration.md.
type docRow struct {
	line            int
	def, valueRange string
}

// docKeyTables reads the rows of every table of docs/configuration.md
// whose header starts with "| key | default | range / values |".
func docKeyTables(t *testing.T) map[string]docRow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]docRow{}
	inTable := false
	for i, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		if len(cells) >= 3 && cells[0] == "key" && cells[1] == "default" && cells[2] == "range / values" {
			inTable = true
			continue
		}
		if !inTable || strings.HasPrefix(cells[0], "---") {
			continue
		}
		key := strings.Trim(cells[0], "`")
		if _, dup := rows[key]; dup {
			t.Errorf("docs/configuration.md:%d: key %q is documented twice", i+1, key)
		}
		rows[key] = docRow{line: i + 1, def: strings.ReplaceAll(cells[1], "`", ""), valueRange: strings.ReplaceAll(cells[2], "`", "")}
	}
	if len(rows) < 40 {
		t.Fatalf("found only %d documented keys: did the tables' header change?", len(rows))
	}
	return rows
}

// TestDocumentMatchesKeyTable compares the key table of the code with the
// key tables of docs/configuration.md, both ways: every key is documented
// once and every documented key exists; a key with a default is documented
// with that default, one without is documented without one (or with what
// it falls back to); ranges of numbers and sizes, and short lists of
// values, are the code's.
func TestDocumentMatchesKeyTable(t *testing.T) {
	doc := docKeyTables(t)
	code := map[string]bool{}
	// What the document writes for a default the code spells otherwise.
	sameDefault := map[string]string{"curl_verbose": "off"}
	for _, k := range keys() {
		code[k.name] = true
		row, ok := doc[k.name]
		if !ok {
			t.Errorf("key %q is not in a key table of docs/configuration.md", k.name)
			continue
		}
		where := fmt.Sprintf("docs/configuration.md:%d: key %q", row.line, k.name)
		switch {
		case k.def != "":
			want := k.def
			if s, ok := sameDefault[k.name]; ok {
				want = s
			}
			if !strings.HasPrefix(row.def, want) {
				t.Errorf("%s: default %q, the code's is %q", where, row.def, want)
			}
		case !strings.HasPrefix(row.def, "—") && !strings.HasPrefix(row.def, "NONE") && !fallsBack(row.def):
			t.Errorf("%s: default %q, the code has none (write —, NONE, or the key or value it falls back to)", where, row.def)
		}
		var want []string
		switch k.kind {
		case kindSeconds, kindInt:
			want = []string{fmt.Sprintf("%d..%d", k.min, k.max)}
		case kindSize:
			want = []string{FormatSize(k.min) + ".." + FormatSize(k.max)}
		case kindEnum:
			if len(k.choices) <= 5 {
				want = k.choices
			}
		case kindBool:
			want = []string{"yes", "no"}
		}
		for _, w := range want {
			if !strings.Contains(row.valueRange, w) {
				t.Errorf("%s: range / values %q lacks %q", where, row.valueRange, w)
			}
		}
	}
	for k, row := range doc {
		if !code[k] {
			t.Errorf("docs/configuration.md:%d: key %q is documented but the configuration does not know it", row.line, k)
		}
	}
}

// fallsBack says whether a documented default names what an unset key
// falls back to: another key (url, domain, ...), a value computed at run
// time, or a folder of the pool.
func fallsBack(def string) bool {
	for _, k := range keys() {
		if def == k.name || strings.HasPrefix(def, k.name+" ") {
			return true
		}
	}
	return strings.HasPrefix(def, "POOL/") || def == "us-east-1"
}
