package crypt

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/zeebo/blake3"
)

// The paper copy of a master key (docs/format.md, section 1): what
// `key show` prints and `key import` reads back.
//
//	# rb_module_rustack master key (/opt/rubackup/keys/master-key)
//	0000: 3a 5f 12 09 ab cd ef 01  23 45 67 89 ab cd ef 01  | 1a2b
//	0010: 00 11 22 33 44 55 66 77  88 99 aa bb cc dd ee ff  | 9c0d
//	checksum: 0123456789abcdef
//
// Each line holds 16 bytes after a 4-hex-digit offset and ends with a
// line check (LineCheck), so a mistyped digit is found on its line; the
// checksum line (Checksum) covers the whole key.

// paperBytesPerLine is how many key bytes one line of the paper copy holds.
const paperBytesPerLine = 16

// maxPaperSize bounds what ParsePaper reads.
const maxPaperSize = 64 << 10

// LineCheck is the check value of one line of the paper copy: the first 2
// bytes of BLAKE3-256 of the offset (2 bytes, big endian) and the line's
// bytes, in hex. It reveals 16 bits about the line, far less than the
// digits it protects, and it is printed next to them anyway.
func LineCheck(offset int, line []byte) string {
	h := blake3.New()
	h.Write([]byte{byte(offset >> 8), byte(offset)})
	h.Write(line)
	return hex.EncodeToString(h.Sum(nil)[:2])
}

// Paper renders the key as a hexdump for a paper copy: 16 bytes per line
// after the offset, two groups of 8, each line with its check, then the
// checksum line. ParsePaper reads it back.
func Paper(key []byte) string {
	var sb strings.Builder
	for off := 0; off < len(key); off += paperBytesPerLine {
		end := min(off+paperBytesPerLine, len(key))
		fmt.Fprintf(&sb, "%04x:", off)
		for i := off; i < off+paperBytesPerLine; i++ {
			if i-off == 8 {
				sb.WriteByte(' ')
			}
			if i < end {
				fmt.Fprintf(&sb, " %02x", key[i])
			} else {
				sb.WriteString("   ")
			}
		}
		fmt.Fprintf(&sb, "  | %s\n", LineCheck(off, key[off:end]))
	}
	fmt.Fprintf(&sb, "checksum: %s\n", Checksum(key))
	return sb.String()
}

// PaperError is a paper copy that does not read back. Line and Column are
// 1-based (Column 0: the whole line; Line 0: the whole text). The message
// never contains a digit of the key.
type PaperError struct {
	Line, Column int
	Msg          string
}

func (e *PaperError) Error() string {
	switch {
	case e.Line == 0:
		return e.Msg
	case e.Column == 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// ParsePaper reads a master key typed back from its paper copy: exactly
// what Paper prints (comment lines starting with '#' and blank lines are
// skipped; upper-case digits and extra spaces are accepted), or the 64 hex
// digits alone, on one or more lines, optionally followed by the checksum
// line. Every line check and the checksum are verified; the checksum line
// is required with the offsets. A mistake is reported with its line and
// column, never with a digit of the key.
func ParsePaper(text []byte) ([]byte, error) {
	if len(text) > maxPaperSize {
		return nil, &PaperError{Msg: fmt.Sprintf("more than %d bytes: not a paper copy of a master key", maxPaperSize)}
	}
	var (
		key         []byte
		plain       strings.Builder // plain mode: the digits so far
		plainLine   int             // first line of plain digits
		dumpLine    int             // first line with an offset
		sum         string
		sumLine     int
		lastLine    int
		lastLineLen int
	)
	lines := strings.Split(string(text), "\n")
	for i, raw := range lines {
		n := i + 1
		line := strings.TrimRight(raw, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		lastLine, lastLineLen = n, len(line)
		if sumLine != 0 {
			return nil, &PaperError{Line: n, Msg: fmt.Sprintf("text after the checksum line (line %d): the checksum line comes last", sumLine)}
		}
		indent := len(line) - len(strings.TrimLeft(line, " \t"))
		if len(trimmed) >= 9 && strings.EqualFold(trimmed[:9], "checksum:") {
			s, err := hexField(n, indent+10, trimmed[9:], 16, "checksum")
			if err != nil {
				return nil, err
			}
			sum, sumLine = s, n
			continue
		}
		off, rest, isDump := cutOffset(trimmed)
		if isDump {
			if plainLine != 0 {
				return nil, &PaperError{Line: n, Column: indent + 1, Msg: fmt.Sprintf("a line with an offset after plain hex digits (line %d): type either the whole paper copy or only the digits", plainLine)}
			}
			if dumpLine == 0 {
				dumpLine = n
			}
			if want := len(key); off != want {
				what := "a line is missing"
				if off < want {
					what = "a line is repeated or the offset is mistyped"
				}
				return nil, &PaperError{Line: n, Column: indent + 1, Msg: fmt.Sprintf("offset %04x, expected %04x: %s", off, want, what)}
			}
			if len(key) >= KeySize {
				return nil, &PaperError{Line: n, Column: indent + 1, Msg: fmt.Sprintf("a line beyond the key's %d bytes", KeySize)}
			}
			digits, check, hasCheck := strings.Cut(rest, "|")
			col := indent + 6 // the column after "OOOO:"
			want := min(paperBytesPerLine, KeySize-len(key))
			s, err := hexField(n, col, digits, 2*want, "the line")
			if err != nil {
				return nil, err
			}
			b, _ := hex.DecodeString(s)
			if hasCheck {
				c, err := hexField(n, col+len(digits)+1, check, 4, "the line check")
				if err != nil {
					return nil, err
				}
				if c != LineCheck(off, b) {
					return nil, &PaperError{Line: n, Msg: "the digits do not match the line check after |: a digit of this line (or of its check) is mistyped"}
				}
			}
			key = append(key, b...)
			continue
		}
		if dumpLine != 0 {
			return nil, &PaperError{Line: n, Column: indent + 1, Msg: fmt.Sprintf("a line without its offset after the lines with offsets (from line %d): type the line as printed, offset first (for example 0010:)", dumpLine)}
		}
		if plainLine == 0 {
			plainLine = n
		}
		for j := 0; j < len(line); j++ {
			c := line[j]
			switch {
			case c == ' ' || c == '\t':
			case isHex(c):
				if plain.Len() == 2*KeySize {
					return nil, &PaperError{Line: n, Column: j + 1, Msg: fmt.Sprintf("more than %d hex digits: a digit is typed twice, or this is not a master key", 2*KeySize)}
				}
				plain.WriteByte(lower(c))
			default:
				return nil, &PaperError{Line: n, Column: j + 1, Msg: "not a hex digit (0-9, a-f)"}
			}
		}
	}
	switch {
	case dumpLine != 0 && len(key) < KeySize:
		return nil, &PaperError{Line: lastLine, Column: 0, Msg: fmt.Sprintf("the key ends after %d of its %d bytes: a line is missing (expected offset %04x next)", len(key), KeySize, len(key))}
	case dumpLine != 0 && sumLine == 0:
		return nil, &PaperError{Line: lastLine, Msg: "no checksum line: type the \"checksum:\" line of the paper copy too"}
	case dumpLine == 0 && plain.Len() == 0:
		return nil, &PaperError{Msg: fmt.Sprintf("no key: type the lines printed by key show, or the key's %d hex digits", 2*KeySize)}
	case dumpLine == 0 && plain.Len() < 2*KeySize:
		return nil, &PaperError{Line: lastLine, Column: lastLineLen + 1, Msg: fmt.Sprintf("%d hex digits, want %d: a digit is missing", plain.Len(), 2*KeySize)}
	case dumpLine == 0:
		key, _ = hex.DecodeString(plain.String())
	}
	if sumLine != 0 && sum != Checksum(key) {
		return nil, &PaperError{Line: sumLine, Msg: "the key does not match the checksum: a digit is mistyped (the line checks passed, so most likely in the checksum line itself)"}
	}
	return key, nil
}

// cutOffset splits "OOOO: rest" (four hex digits and a colon).
func cutOffset(s string) (off int, rest string, ok bool) {
	if len(s) < 5 || s[4] != ':' {
		return 0, "", false
	}
	for i := 0; i < 4; i++ {
		if !isHex(s[i]) {
			return 0, "", false
		}
		off = off<<4 | hexVal(s[i])
	}
	return off, s[5:], true
}

// hexField reads exactly want hex digits from s, spaces and tabs allowed
// between them; col is the 1-based column of s[0] in its line. what names
// the field in errors.
func hexField(line, col int, s string, want int, what string) (string, error) {
	var b strings.Builder
	for j := 0; j < len(s); j++ {
		c := s[j]
		switch {
		case c == ' ' || c == '\t':
		case isHex(c):
			if b.Len() == want {
				return "", &PaperError{Line: line, Column: col + j, Msg: fmt.Sprintf("%s has more than %d hex digits: a digit is typed twice", what, want)}
			}
			b.WriteByte(lower(c))
		default:
			return "", &PaperError{Line: line, Column: col + j, Msg: "not a hex digit (0-9, a-f)"}
		}
	}
	if b.Len() < want {
		return "", &PaperError{Line: line, Column: col + len(s), Msg: fmt.Sprintf("%s has %d hex digits, want %d: a digit is missing", what, b.Len(), want)}
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}
