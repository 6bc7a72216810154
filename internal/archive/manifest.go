package archive

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"rb_module_rustack/internal/chunk"
)

// manifestMeta is the JSON part of a manifest (docs/format.md).
type manifestMeta struct {
	Format        int             `json:"format"`
	ID            string          `json:"id"`
	Type          Type            `json:"type"`
	RequestedType Type            `json:"requested_type"`
	Note          string          `json:"note,omitempty"`
	Parent        string          `json:"parent,omitempty"`
	Chain         []string        `json:"chain"`
	VMID          string          `json:"vm_id"`
	VMName        string          `json:"vm_name"`
	VM            json.RawMessage `json:"vm,omitempty"`
	JobID         string          `json:"job_id,omitempty"`
	Created       time.Time       `json:"created"`
	Finished      time.Time       `json:"finished"`
	ToolVersion   string          `json:"tool_version"`
	Mode          string          `json:"mode"` // "pool" | "store"
	StoreID       string          `json:"store_id,omitempty"`
	Cipher        string          `json:"cipher"`
	Compression   string          `json:"compression"`
	Level         string          `json:"compression_level"`
	ChunkMin      int             `json:"chunk_min"`
	ChunkAvg      int             `json:"chunk_avg"`
	ChunkMax      int             `json:"chunk_max"`
	Disks         []diskMeta      `json:"disks"`
	Stats         statsMeta       `json:"stats"`
}

type diskMeta struct {
	Label  string `json:"label"`
	Size   int64  `json:"size"`
	Runs   int    `json:"runs"`
	Chunks int    `json:"chunks"`
	Zero   int64  `json:"zero_bytes"`
	// Seconds spent reading and chunking this disk.
	Seconds float64 `json:"seconds"`
}

type statsMeta struct {
	BytesRead   int64   `json:"bytes_read"`
	BytesZero   int64   `json:"bytes_zero"`
	BytesNew    int64   `json:"bytes_new"`
	BytesStored int64   `json:"bytes_stored"` // chunk blobs only
	Chunks      int64   `json:"chunks"`
	NewChunks   int64   `json:"new_chunks"`
	Seconds     float64 `json:"seconds"`
}

// manifestData is a parsed manifest.
type manifestData struct {
	meta manifestMeta
	runs [][]chunk.Run // per disk, in meta.Disks order
	path string        // the archive file it came from
}

// Run kinds in the binary run list.
const (
	runChunk = 0
	runHole  = 1
	runDelta = 2 // a chunk stored as a delta (chunk.Delta)
)

const (
	modePool  = "pool"
	modeStore = "store"
)

// maxManifestJSON bounds the JSON part (the VM description lives there).
const maxManifestJSON = 64 << 20

var labelRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$`)

// validLabel reports whether a disk label is safe as a file name.
func validLabel(s string) bool { return labelRE.MatchString(s) }

var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$`)

func validID(s string) bool { return idRE.MatchString(s) }

// encodeManifest renders u32 JSON length | JSON | per disk its runs:
// kind byte, uvarint length, and for chunks the 32-byte id (for chunks
// stored as deltas followed by the delta, chunk.AppendDelta).
func encodeManifest(m *manifestData) ([]byte, error) {
	js, err := json.Marshal(m.meta)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	n := 4 + len(js)
	for _, rs := range m.runs {
		n += len(rs) * (1 + 10 + chunk.IDSize)
	}
	b := make([]byte, 0, n)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(js)))
	b = append(b, js...)
	for _, rs := range m.runs {
		for _, r := range rs {
			if r.Hole {
				b = append(b, runHole)
				b = binary.AppendUvarint(b, uint64(r.Len))
			} else if r.Delta == nil {
				b = append(b, runChunk)
				b = binary.AppendUvarint(b, uint64(r.Len))
				b = append(b, r.ID[:]...)
			} else {
				b = append(b, runDelta)
				b = binary.AppendUvarint(b, uint64(r.Len))
				b = append(b, r.ID[:]...)
				b = chunk.AppendDelta(b, r.Delta)
			}
		}
	}
	return b, nil
}

var errManifest = fmt.Errorf("%w: manifest", chunk.ErrDamaged)

// parseManifest parses and checks a manifest: sizes add up, labels and ids
// are safe, the chain ends with the archive itself.
func parseManifest(b []byte) (*manifestData, error) {
	bad := func(f string, a ...any) (*manifestData, error) {
		return nil, fmt.Errorf("%w: %s", errManifest, fmt.Sprintf(f, a...))
	}
	if len(b) < 4 {
		return bad("truncated")
	}
	jl := int(binary.LittleEndian.Uint32(b))
	if jl > maxManifestJSON || jl > len(b)-4 {
		return bad("bad length")
	}
	m := &manifestData{}
	dec := json.NewDecoder(bytes.NewReader(b[4 : 4+jl]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m.meta); err != nil {
		return bad("%v", err)
	}
	if dec.More() {
		return bad("trailing JSON")
	}
	mt := &m.meta
	if mt.Format != 1 {
		return nil, fmt.Errorf("manifest format %d is not supported by this version (want 1): upgrade rb_module_rustack", mt.Format)
	}
	if !validID(mt.ID) {
		return bad("bad id %q", mt.ID)
	}
	switch mt.Type {
	case Full, Incremental, Differential:
	default:
		return bad("bad type %q", mt.Type)
	}
	if len(mt.Chain) == 0 || mt.Chain[len(mt.Chain)-1] != mt.ID {
		return bad("chain does not end with the archive")
	}
	for _, c := range mt.Chain {
		if !validID(c) {
			return bad("bad chain id %q", c)
		}
	}
	if (mt.Type == Full) != (mt.Parent == "") || (mt.Parent != "" && (len(mt.Chain) < 2 || mt.Chain[len(mt.Chain)-2] != mt.Parent)) {
		return bad("parent and chain disagree")
	}
	if mt.Mode != modePool && mt.Mode != modeStore {
		return bad("bad mode %q", mt.Mode)
	}
	labels := map[string]bool{}
	rest := b[4+jl:]
	m.runs = make([][]chunk.Run, len(mt.Disks))
	for i, d := range mt.Disks {
		if !validLabel(d.Label) || labels[d.Label] {
			return bad("bad or duplicate disk label %q", d.Label)
		}
		labels[d.Label] = true
		if d.Size < 0 || d.Runs < 0 || d.Runs > len(rest) {
			return bad("disk %s: bad size or run count", d.Label)
		}
		runs := make([]chunk.Run, d.Runs)
		var total int64
		for k := range runs {
			if len(rest) < 2 {
				return bad("disk %s: truncated runs", d.Label)
			}
			kind := rest[0]
			l, n := binary.Uvarint(rest[1:])
			if n <= 0 || l == 0 || l > uint64(d.Size) {
				return bad("disk %s: bad run length", d.Label)
			}
			rest = rest[1+n:]
			r := chunk.Run{Len: int64(l)}
			switch kind {
			case runHole:
				r.Hole = true
			case runChunk:
				if l > chunk.MaxLen || len(rest) < chunk.IDSize {
					return bad("disk %s: bad chunk run", d.Label)
				}
				copy(r.ID[:], rest)
				rest = rest[chunk.IDSize:]
			case runDelta:
				if l > chunk.MaxLen || len(rest) < chunk.IDSize {
					return bad("disk %s: bad delta run", d.Label)
				}
				copy(r.ID[:], rest)
				var err error
				if r.Delta, rest, err = chunk.ParseDelta(rest[chunk.IDSize:], r.Len); err != nil {
					return bad("disk %s: %v", d.Label, err)
				}
			default:
				return bad("disk %s: bad run kind %d", d.Label, kind)
			}
			total += r.Len
			if total > d.Size {
				return bad("disk %s: runs exceed the disk size", d.Label)
			}
			runs[k] = r
		}
		if total != d.Size {
			return bad("disk %s: runs cover %d of %d bytes", d.Label, total, d.Size)
		}
		m.runs[i] = runs
	}
	if len(rest) != 0 {
		return bad("%d trailing bytes", len(rest))
	}
	return m, nil
}

// public converts to the API's Manifest.
func (m *manifestData) public() *Manifest {
	mt := &m.meta
	pm := &Manifest{ID: mt.ID, Type: mt.Type, Parent: mt.Parent, Chain: append([]string(nil), mt.Chain...),
		VMID: mt.VMID, VMName: mt.VMName, VM: mt.VM, Created: mt.Created, data: m}
	for _, d := range mt.Disks {
		pm.Disks = append(pm.Disks, Disk{Label: d.Label, Size: d.Size})
	}
	return pm
}

// diskRuns returns the runs of disk label.
func (m *manifestData) diskRuns(label string) ([]chunk.Run, error) {
	for i, d := range m.meta.Disks {
		if d.Label == label {
			return m.runs[i], nil
		}
	}
	return nil, errors.New("no disk " + label + " in archive " + m.meta.ID)
}
