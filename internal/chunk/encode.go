package chunk

import "encoding/binary"

// EncodeIndexFunc renders an index section like EncodeIndex, taking its n
// entries one by one from next (in order: sorted by id, unique) instead of
// from a slice, so a caller whose entries live in a larger table does not
// copy them first. The result has exactly the section's size.
func EncodeIndexFunc(packs []ID, n int, next func() IndexEntry) []byte {
	b := make([]byte, 0, 8+len(packs)*IDSize+n*indexEntrySize)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(packs)))
	for _, p := range packs {
		b = append(b, p[:]...)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	for range n {
		e := next()
		b = append(b, e.ID[:]...)
		b = binary.LittleEndian.AppendUint32(b, e.Pack)
		b = binary.LittleEndian.AppendUint64(b, e.Off)
		b = binary.LittleEndian.AppendUint32(b, e.CLen)
		b = binary.LittleEndian.AppendUint32(b, e.PLen)
	}
	return b
}
