package main

import (
	"math"
	"math/rand/v2"
)

// The text extents imitate prose: pseudo-words from a seeded vocabulary drawn
// with a Zipf-like (Zipf-Mandelbrot) frequency, so frequent words are short
// and repeat often, in sentences with capitals, commas and full stops,
// wrapped into lines of at most lineWidth characters with the odd blank line
// between paragraphs. Each word has a few likely successors (collocations),
// which gives the repeated phrases real text has. Measured: gzip -6 3.3x,
// zstd fastest 3.1x, zstd default 3.4x (the GPL-3 text: gzip 2.9x, zstd -1
// 2.65x). No two extents share content.
var (
	vocabSize = 12000
	zipfS     = 1.05 // exponent of the rank-frequency law
	zipfQ     = 2.7  // Mandelbrot's shift: flattens the head like real text
)

const (
	tableBits  = 20
	lineWidth  = 72
	maxWordLen = 14
	textSlack  = 32 // fill's scratch room past the end of its buffer
	followers  = 8  // likely next words per word
	followProb = 7  // in 8: how often the next word is one of the previous word's followers
)

// Syllables (frequent English letter groups, frequent first) spell the
// vocabulary, so words look and compress like words rather than letter noise.
var syllables = []string{
	"the", "in", "er", "an", "re", "on", "at", "en", "nd", "ti", "es", "or",
	"te", "of", "ed", "is", "it", "al", "ar", "st", "to", "nt", "ng", "se",
	"ha", "as", "ou", "io", "le", "ve", "co", "me", "de", "hi", "ri", "ro",
	"ic", "ne", "ea", "ra", "ce", "li", "ch", "ll", "be", "ma", "si", "om",
	"ur", "ca", "el", "ta", "la", "ns", "di", "fo", "ho", "pe", "ec", "pr",
	"no", "ct", "us", "ac", "ot", "il", "tr", "ly", "nc", "et", "ut", "ss",
	"so", "rs", "un", "lo", "wa", "ge", "ie", "wh", "ee", "wi", "em", "ad",
	"ol", "rt", "po", "we", "na", "ul", "ni", "ts", "mo", "ow", "pa", "im",
	"mi", "ai", "sh", "ir", "su", "id", "os", "iv", "ia", "am", "fi", "ci",
	"a", "e", "i", "o", "u", "y", "s", "t", "d", "n", "r", "l", "m", "k",
}

// word is a vocabulary entry padded to 16 bytes, so fill copies it with one
// fixed-size store.
type word struct {
	b [16]byte
	n int
}

// vocab is read-only after newVocab, so workers share it.
type vocab struct {
	words     []word
	table     []uint16            // a uniform tableBits-bit number -> word rank
	followers [][followers]uint16 // per word, its likely next words (collocations)
}

func newVocab(seed uint64) *vocab {
	r := pcg(seed, domainVocab, 0)
	v := &vocab{
		words:     make([]word, vocabSize),
		table:     make([]uint16, 1<<tableBits),
		followers: make([][followers]uint16, vocabSize),
	}
	seen := make(map[string]bool, vocabSize)
	for rank := 0; rank < vocabSize; {
		// Frequent words are short: the syllable count grows with log(rank).
		n := 1 + int(math.Log2(float64(rank+2))/4) + r.IntN(2)
		var w []byte
		for i := 0; i < n; i++ {
			// Frequent syllables first: the square of a uniform draw favours the head.
			u := r.Float64()
			w = append(w, syllables[int(u*u*float64(len(syllables)))]...)
		}
		if len(w) > maxWordLen || seen[string(w)] {
			continue
		}
		seen[string(w)] = true
		v.words[rank].n = copy(v.words[rank].b[:], w)
		rank++
	}
	// Cumulative Zipf-Mandelbrot weights mapped onto the table.
	cum := make([]float64, vocabSize)
	total := 0.0
	for rank := range cum {
		total += 1 / math.Pow(float64(rank)+zipfQ, zipfS)
		cum[rank] = total
	}
	rank := 0
	for i := range v.table {
		u := (float64(i) + 0.5) / float64(len(v.table)) * total
		for rank < vocabSize-1 && cum[rank] < u {
			rank++
		}
		v.table[i] = uint16(rank)
	}
	for i := range v.followers {
		for j := range v.followers[i] {
			v.followers[i][j] = v.table[r.IntN(len(v.table))]
		}
	}
	return v
}

// fill writes prose into buf, drawing every choice from r: one 64-bit draw
// per word. It may scribble up to textSlack bytes past len(buf) when cap(buf)
// has room (and works in a scratch buffer otherwise).
func (v *vocab) fill(buf []byte, r *rand.PCG) {
	const mask = 1<<tableBits - 1
	// Words are stored 16 bytes at a time into out, which has room past the end.
	var out []byte
	if cap(buf)-len(buf) >= textSlack {
		out = buf[:len(buf)+textSlack]
	} else {
		out = make([]byte, len(buf)+textSlack)
		defer copy(buf, out)
	}
	pos, col := 0, 0
	breakNext := false
	sentence := 0 // words left in the current sentence; 0 starts a new one
	prev := -1
	for pos < len(buf) {
		x := r.Uint64()
		var id int
		if prev >= 0 && int(x&7) < followProb {
			id = int(v.followers[prev][min(x>>3&7, x>>6&7)]) // skewed to the first followers
		} else {
			id = int(v.table[x>>9&mask])
		}
		x >>= 9 + tableBits
		prev = id
		w := &v.words[id]
		start := sentence == 0
		if start {
			sentence = 4 + int(x&15) // 4..19 words
		}
		x >>= 4
		sentence--
		// Separator before the word: a space, or a line break when the line is full.
		if pos > 0 {
			if breakNext || col+1+w.n+1 > lineWidth {
				out[pos] = '\n'
				col = 0
			} else {
				out[pos] = ' '
				col++
			}
			breakNext = false
			pos++
		}
		*(*[16]byte)(out[pos : pos+16]) = w.b
		if start {
			out[pos] -= 'a' - 'A'
		}
		pos += w.n
		col += w.n
		switch {
		case sentence == 0:
			out[pos] = '.'
			pos++
			col++
			if x&7 == 0 { // a paragraph break now and then
				out[pos] = '\n'
				pos++
				breakNext = true // the separator before the next word makes the blank line
			}
		case x>>3&7 == 0:
			out[pos] = ','
			pos++
			col++
		}
	}
}
