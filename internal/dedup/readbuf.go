package dedup

import "rb_module_rustack/internal/directio"

// readBuffer returns a worker's read buffer of n bytes. It comes from
// directio's memory: anonymous mappings advised MADV_HUGEPAGE, so the
// buffer lies on 2 MiB pages where the kernel has transparent huge pages
// (the Go heap gives 4 KiB ones). Every byte of a disk passes through one
// of these buffers three times (the read: the kernel's copy from the page
// cache, or the device's for a cold disk read with O_DIRECT; the chunker;
// the hash), and on 4 KiB pages a 4 MiB block spans 1024 TLB
// entries, on huge pages three. Give it back with freeBuffers.
func readBuffer(n int) []byte { return directio.Get(n) }

// freeBuffers gives the worker's read buffers back; the worker is done.
func (w *worker) freeBuffers() {
	for i, b := range w.bufs {
		directio.Put(b)
		w.bufs[i] = nil
	}
}
