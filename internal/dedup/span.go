package dedup

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/container"
)

// checkLen checks that the index's length of a located chunk is the one
// the manifest's run gives.
func checkLen(ref BlobRef, r chunk.Run) error {
	if int64(ref.PLen) != r.Len {
		return fmt.Errorf("%w: chunk %s: index says %d bytes, manifest %d", chunk.ErrDamaged, r.ID.Short(), ref.PLen, r.Len)
	}
	return nil
}

// forSpans sorts refs by file and offset and cuts them into spans: runs
// of blobs of one file that are at most spanGap apart and together at
// most maxSpan bytes (a single larger blob is a span of its own). emit
// gets each span, [start, end) of f, with its refs, to read at once
// (restore and the read-ahead of a DiskReader: one read instead of one
// per chunk); its first error stops the walk and is returned.
func forSpans(refs []pieceRef, maxSpan int64, emit func(f *container.FileReader, start, end int64, group []pieceRef) error) error {
	slices.SortFunc(refs, func(a, b pieceRef) int {
		if c := strings.Compare(a.ref.File.Path, b.ref.File.Path); c != 0 {
			return c
		}
		return cmp.Compare(a.ref.Off, b.ref.Off)
	})
	for i := 0; i < len(refs); {
		f := refs[i].ref.File
		start := int64(refs[i].ref.Off)
		end := start + int64(refs[i].ref.CLen)
		j := i
		for j+1 < len(refs) {
			nx := refs[j+1].ref
			no, ne := int64(nx.Off), int64(nx.Off)+int64(nx.CLen)
			if nx.File != f || no > end+spanGap || max(end, ne)-start > maxSpan {
				break
			}
			end = max(end, ne)
			j++
		}
		if err := emit(f, start, end, refs[i:j+1]); err != nil {
			return err
		}
		i = j + 1
	}
	return nil
}
