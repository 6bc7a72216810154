package container

import (
	"fmt"

	"rb_module_rustack/internal/chunk"
	"rb_module_rustack/internal/crypt"
)

// ResealBlob moves the blob of chunk id from one data key to another: it
// opens the payload with from (the sealer of the file the blob is in),
// without decompressing it, and appends to dst the same flag and the
// payload sealed with to, with the associated data SealBlob uses (the
// chunk id and the flag). With cipher none on both sides the sealed form
// does not depend on the key, and the checked blob is copied as it is.
// scratch holds the opened payload; both are returned for reuse. An error
// wraps chunk.ErrDamaged (the blob failed its tag).
func ResealBlob(from, to *crypt.Sealer, id chunk.ID, blob, scratch, dst []byte) (out, scratchOut []byte, err error) {
	if len(blob) < 1 {
		return dst, scratch, fmt.Errorf("%w: chunk %s: empty blob", chunk.ErrDamaged, id.Short())
	}
	flag := blob[0]
	ad := blobAD(id, flag)
	p, err := from.Open(scratch[:0], blob[1:], ad)
	if err != nil {
		return dst, scratch, fmt.Errorf("%w: chunk %s: %v", chunk.ErrDamaged, id.Short(), err)
	}
	dst = append(dst, flag)
	if from.Name() == crypt.None && to.Name() == crypt.None {
		return append(dst, blob[1:]...), p, nil
	}
	return to.Seal(dst, p, ad), p, nil
}
