package store

import (
	"context"
	"testing"
)

// TestStrayAdopt: the packs of a session that crashed before its index
// file are found by Stray; a later session that adopts them lists them in
// its index file, after which no pack is stray and every chunk is indexed.
func TestStrayAdopt(t *testing.T) {
	ctx := context.Background()
	ts := newTestStore(t, true)
	kept := ts.session(makeChunks("kept", 20))
	lost := ts.crashedSession(makeChunks("lost", 30))
	si, err := ts.st.LoadIndex()
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ts.st.Stray(ctx, si)
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Names) != 1 || sp.Index.Len() != len(lost) || len(sp.Entries[0]) != len(lost) {
		t.Fatalf("stray: %d packs, %d chunks; want 1 pack of %d", len(sp.Names), sp.Index.Len(), len(lost))
	}
	for _, id := range lost {
		if si.Index.Has(id) || !sp.Index.Has(id) {
			t.Fatalf("chunk %s: indexed %v, stray %v", id.Short(), si.Index.Has(id), sp.Index.Has(id))
		}
	}
	for _, id := range kept {
		if sp.Index.Has(id) {
			t.Fatalf("indexed chunk %s counted as stray", id.Short())
		}
	}
	w, err := ts.st.NewWriter(ts.cipher, si.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Adopt(sp.Names[0], sp.Entries[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	si, err = ts.st.LoadIndex()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range append(kept, lost...) {
		if !si.Index.Has(id) {
			t.Fatalf("chunk %s not indexed after the adoption", id.Short())
		}
	}
	if sp, err := ts.st.Stray(ctx, si); err != nil || len(sp.Names) != 0 {
		t.Fatalf("stray packs after the adoption: %v %v", sp, err)
	}
}
