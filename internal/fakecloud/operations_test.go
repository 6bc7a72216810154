package fakecloud

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// TestOperationsListsEveryCall keeps Operations equal to the operation
// names this package passes to c.call, so that a fault name the list
// accepts can fire and every operation that can fail is listed.
func TestOperationsListsEveryCall(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`c\.call\(ctx, "([A-Za-z]+)"\)`)
	var found []string
	for _, f := range files {
		if filepath.Ext(f) != ".go" || regexp.MustCompile(`_test\.go$`).MatchString(f) {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if !slices.Contains(found, m[1]) {
				found = append(found, m[1])
			}
		}
	}
	slices.Sort(found)
	if len(found) < 10 {
		t.Fatalf("found only %d c.call operations: %v (did the pattern change?)", len(found), found)
	}
	if got := Operations(); !slices.Equal(got, found) {
		t.Errorf("Operations() = %v\nthe package calls      %v", got, found)
	}
}
