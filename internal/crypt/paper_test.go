package crypt

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testKey(t testing.TB) []byte {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// TestPaperLayout: two lines of 16 bytes after their offsets, each with
// its line check, then the checksum line; nothing else.
func TestPaperLayout(t *testing.T) {
	key, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	want := "0000: 00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  | " + LineCheck(0, key[:16]) + "\n" +
		"0010: 10 11 12 13 14 15 16 17  18 19 1a 1b 1c 1d 1e 1f  | " + LineCheck(16, key[16:]) + "\n" +
		"checksum: " + Checksum(key) + "\n"
	if got := Paper(key); got != want {
		t.Fatalf("Paper:\n%s\nwant:\n%s", got, want)
	}
	if LineCheck(0, key[:16]) == LineCheck(16, key[:16]) {
		t.Error("the line check does not depend on the offset")
	}
}

// TestParsePaperAccepts: what key show prints (with its comment line), the
// same typed loosely (upper case, spaces, CRLF), and the plain hex string
// with and without the checksum line.
func TestParsePaperAccepts(t *testing.T) {
	key := testKey(t)
	paper := Paper(key)
	h := hex.EncodeToString(key)
	loose := strings.ToUpper(strings.ReplaceAll(paper, " ", "   "))
	loose = strings.ReplaceAll(strings.ReplaceAll(loose, "CHECKSUM:", "checksum:"), "\n", "\r\n")
	noChecks := ""
	for _, l := range strings.Split(paper, "\n") {
		d, _, _ := strings.Cut(l, "|")
		noChecks += d + "\n"
	}
	for name, text := range map[string]string{
		"key show":           "# rb_module_rustack master key (/k)\n\n" + paper,
		"loose":              loose,
		"without line check": noChecks,
		"plain hex":          h,
		"plain hex lines":    h[:20] + "\n  " + h[20:50] + " \n" + h[50:] + "\n",
		"plain with sum":     h + "\nchecksum: " + Checksum(key) + "\n",
	} {
		got, err := ParsePaper([]byte(text))
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("%s: %v\n%s", name, err, text)
		}
	}
}

// TestParsePaperRefuses: every kind of mistake is refused with its line
// and column (or line), and no error carries a digit of the key.
func TestParsePaperRefuses(t *testing.T) {
	key := testKey(t)
	paper := Paper(key)
	lines := strings.SplitAfter(paper, "\n")
	h := hex.EncodeToString(key)
	// flip changes the hex digit at byte offset i of s into another hex digit.
	flip := func(s string, i int) string {
		c := s[i]
		r := byte('0')
		if c == '0' {
			r = '1'
		}
		return s[:i] + string(r) + s[i+1:]
	}
	for _, tc := range []struct {
		name, text, want string
	}{
		{"digit changed on line 2", lines[0] + flip(lines[1], 9) + lines[2], "line 2: the digits do not match the line check"},
		{"digit changed in the check", flip(lines[0], 58) + lines[1] + lines[2], "line 1: the digits do not match the line check"},
		{"checksum mistyped", lines[0] + lines[1] + flip(lines[2], 12), "line 3: the key does not match the checksum"},
		{"not a hex digit", lines[0][:10] + "g" + lines[0][11:] + lines[1] + lines[2], "line 1, column 11: not a hex digit"},
		{"digit missing", lines[0][:6] + lines[0][7:] + lines[1] + lines[2], "line 1, column 56: the line has 31 hex digits, want 32: a digit is missing"},
		{"digit twice", lines[0][:6] + "a" + lines[0][6:] + lines[1] + lines[2], "line 1, column 55: the line has more than 32 hex digits"},
		{"line missing", lines[1] + lines[2], "line 1, column 1: offset 0010, expected 0000: a line is missing"},
		{"line repeated", lines[0] + lines[0] + lines[1] + lines[2], "line 2, column 1: offset 0000, expected 0010: a line is repeated"},
		{"last line missing", lines[0] + lines[2], "line 2: the key ends after 16 of its 32 bytes"},
		{"no checksum", lines[0] + lines[1], "line 2: no checksum line"},
		{"offset dropped", lines[0] + lines[1][6:] + lines[2], "line 2, column 1: a line without its offset"},
		{"after checksum", paper + "00\n", "line 4: text after the checksum line (line 3)"},
		{"plain short", h[:63], "line 1, column 64: 63 hex digits, want 64: a digit is missing"},
		{"plain long", h + "0", "line 1, column 65: more than 64 hex digits"},
		{"plain bad", h[:30] + "\n" + h[30:40] + "x" + h[41:], "line 2, column 11: not a hex digit"},
		{"plain wrong sum", flip(h, 5) + "\nchecksum: " + Checksum(key), "line 2: the key does not match the checksum"},
		{"empty", "# nothing\n\n", "no key"},
	} {
		_, err := ParsePaper([]byte(tc.text))
		var pe *PaperError
		if err == nil || !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q\n%s", tc.name, err, tc.want, tc.text)
			continue
		}
		noKeyDigits(t, tc.name, err.Error(), key)
	}
}

// noKeyDigits fails when msg holds 6 or more consecutive hex digits of the
// key (offsets and counts in messages are shorter).
func noKeyDigits(t testing.TB, name, msg string, key []byte) {
	t.Helper()
	h := hex.EncodeToString(key)
	for i := 0; i+6 <= len(h); i++ {
		if strings.Contains(strings.ToLower(msg), h[i:i+6]) {
			t.Errorf("%s: the error shows digits of the key: %s", name, msg)
			return
		}
	}
}

func TestWriteKeyFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "keys", "k")
	k1, k2 := testKey(t), testKey(t)
	if err := WriteKeyFile(p, k1, false); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	if st, _ := os.Stat(filepath.Dir(p)); st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v", st.Mode())
	}
	if err := WriteKeyFile(p, k2, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("overwrite without force: %v", err)
	}
	if got, _ := LoadKey(p); !bytes.Equal(got, k1) {
		t.Fatal("the key was replaced without force")
	}
	if err := WriteKeyFile(p, k2, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := LoadKey(p); !bytes.Equal(got, k2) {
		t.Fatal("force did not replace the key")
	}
	if ents, _ := os.ReadDir(filepath.Dir(p)); len(ents) != 1 {
		t.Errorf("left files: %v", ents)
	}
}

// FuzzParsePaper: any text either fails with a PaperError that carries no
// digit of the key it was made from, or yields 32 bytes whose paper copy
// reads back to them; a key's paper copy with one digit changed is refused.
func FuzzParsePaper(f *testing.F) {
	key, _ := hex.DecodeString("00112233445566778899aabbccddeeff0123456789abcdef0f1e2d3c4b5a6978")
	p := Paper(key)
	f.Add([]byte(p), 0, byte('1'))
	f.Add([]byte("# c\n"+p), 40, byte('g'))
	f.Add([]byte(hex.EncodeToString(key)), 3, byte('a'))
	f.Add([]byte(hex.EncodeToString(key)+"\nchecksum: "+Checksum(key)), 70, byte(' '))
	f.Add([]byte("0000:\n0010:\nchecksum:"), 1, byte(':'))
	f.Add([]byte("ffff: | \n"), 2, byte('|'))
	f.Fuzz(func(t *testing.T, text []byte, pos int, c byte) {
		got, err := ParsePaper(text)
		if err != nil {
			var pe *PaperError
			if !errors.As(err, &pe) {
				t.Fatalf("error of another type: %v", err)
			}
		} else {
			if len(got) != KeySize {
				t.Fatalf("%d bytes", len(got))
			}
			back, err := ParsePaper([]byte(Paper(got)))
			if err != nil || !bytes.Equal(back, got) {
				t.Fatalf("paper copy does not read back: %v", err)
			}
		}
		// The fuzzer's bytes as a key: its paper copy with one hex digit
		// changed to another is refused, naming no digit of the key.
		if len(text) < KeySize {
			return
		}
		k := text[:KeySize]
		paper := []byte(Paper(k))
		if pos < 0 {
			pos = -pos
		}
		i := pos % len(paper)
		if !isHex(paper[i]) || !isHex(c) || lower(c) == paper[i] {
			return
		}
		paper[i] = c
		_, err = ParsePaper(paper)
		if err == nil {
			t.Fatalf("a changed digit at byte %d was accepted:\n%s", i, paper)
		}
		noKeyDigits(t, "changed digit", err.Error(), k)
	})
}
