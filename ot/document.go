package ot

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// Chunk sizes, in UTF-16 units. Edits copy at most one or two chunks, so
// applying a keystroke costs the same on a 20 KB file as on a 2 MB one,
// apart from finding the chunk.
const (
	chunkMax    = 2048 // a chunk never grows beyond this; also its capacity
	chunkMin    = 512  // smaller chunks are merged with a neighbour
	chunkTarget = 1024 // size of chunks cut from a long run of text
)

// Doc is the in-memory text of a file as UTF-16 code units, the unit
// CodeMirror counts in. It is a list of chunks edited in place; no chunk
// boundary falls inside a surrogate pair, and the text never holds a lone
// surrogate, so it always converts to UTF-8 losslessly.
//
// A Doc is not safe for concurrent use; the owner of a file serialises
// access to it.
type Doc struct {
	chunks [][]uint16 // none empty; each with capacity >= chunkMax
	length int
}

// NewDoc returns a document holding s. Invalid UTF-8 in s becomes U+FFFD,
// as it would in the browser. Line breaks are kept as they are: CodeMirror
// turns "\r\n" and "\r" into "\n" when it loads a document, so content
// sent to browsers must already use "\n" or lengths will disagree.
func NewDoc(s string) *Doc {
	d := &Doc{}
	units := make([]uint16, 0, len(s))
	for _, r := range s {
		units = utf16.AppendRune(units, r)
	}
	d.chunks = appendChunks(nil, units)
	d.length = len(units)
	return d
}

// Len is the document length in UTF-16 units.
func (d *Doc) Len() int { return d.length }

// String returns the text as UTF-8.
func (d *Doc) String() string {
	return string(d.AppendUTF8(make([]byte, 0, d.length+d.length/2)))
}

// AppendUTF8 appends the text as UTF-8 to dst.
func (d *Doc) AppendUTF8(dst []byte) []byte {
	for _, c := range d.chunks {
		for i := 0; i < len(c); i++ {
			u := c[i]
			switch {
			case u < utf8.RuneSelf:
				dst = append(dst, byte(u))
			case isHigh(u) && i+1 < len(c) && isLow(c[i+1]):
				dst = utf8.AppendRune(dst, utf16.DecodeRune(rune(u), rune(c[i+1])))
				i++
			default:
				dst = utf8.AppendRune(dst, rune(u))
			}
		}
	}
	return dst
}

// Clone returns an independent copy.
func (d *Doc) Clone() *Doc {
	c := &Doc{length: d.length, chunks: make([][]uint16, len(d.chunks))}
	for i, ch := range d.chunks {
		c.chunks[i] = append(make([]uint16, 0, chunkMax), ch...)
	}
	return c
}

// Check reports whether Apply would accept cs, without changing d: cs must
// start from a document of d's length, no change may start or end inside
// a surrogate pair, and inserted text may hold no lone surrogate.
func (d *Doc) Check(cs *ChangeSet) error {
	if n := cs.LenBefore(); n != d.length {
		return fmt.Errorf("change set of length %d for a document of length %d: %w", n, d.length, ErrLengthMismatch)
	}
	cur := cursor{d: d}
	pos := 0
	s := cs.sections
	for i := 0; i < len(s); i += 2 {
		n, ins := s[i], s[i+1]
		if ins >= 0 {
			if cur.splitsPair(pos) || cur.splitsPair(pos+n) {
				return fmt.Errorf("change at %d..%d: %w", pos, pos+n, ErrSurrogate)
			}
			if k := loneSurrogate(cs.text(i >> 1)); k >= 0 {
				return fmt.Errorf("change at %d..%d inserts a lone surrogate at offset %d: %w", pos, pos+n, k, ErrSurrogate)
			}
		}
		pos += n
	}
	return nil
}

// Apply applies cs to d in place. It fails without changing d when Check
// fails.
func (d *Doc) Apply(cs *ChangeSet) error {
	if err := d.Check(cs); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	// Walk the changes left to right in new-document coordinates: text
	// before posB is final and text after it is still the old document's.
	// The hint (a chunk index and its start) lets each lookup resume where
	// the previous edit left off.
	hint, hintStart := 0, 0
	posB := 0
	s := cs.sections
	for i := 0; i < len(s); i += 2 {
		n, ins := s[i], s[i+1]
		if ins < 0 {
			posB += n
			continue
		}
		hint, hintStart = d.replace(posB, posB+n, cs.text(i>>1), hint, hintStart)
		posB += ins
	}
	return nil
}

// cursor answers position queries that move forward through a document.
type cursor struct {
	d     *Doc
	ci    int // current chunk
	start int // document offset of chunk ci
}

// splitsPair reports whether pos falls between the two halves of a
// surrogate pair. Chunk edges never do, so only positions strictly inside
// a chunk need a look.
func (c *cursor) splitsPair(pos int) bool {
	ch := c.d.chunks
	for c.ci < len(ch) && c.start+len(ch[c.ci]) <= pos {
		c.start += len(ch[c.ci])
		c.ci++
	}
	if c.ci == len(ch) {
		return false
	}
	off := pos - c.start
	chunk := ch[c.ci]
	return off > 0 && isHigh(chunk[off-1]) && isLow(chunk[off])
}

func isHigh(u uint16) bool { return u >= 0xd800 && u < 0xdc00 }
func isLow(u uint16) bool  { return u >= 0xdc00 && u < 0xe000 }

// loneSurrogate returns the offset of the first unpaired surrogate in t,
// or -1.
func loneSurrogate(t []uint16) int {
	for i := 0; i < len(t); i++ {
		switch u := t[i]; {
		case u < 0xd800 || u >= 0xe000:
		case isHigh(u) && i+1 < len(t) && isLow(t[i+1]):
			i++
		default:
			return i
		}
	}
	return -1
}

// replace replaces units from..to with text. hint/hintStart name a chunk
// starting at or before from; it returns such a chunk for a later edit at
// or after from + len(text).
func (d *Doc) replace(from, to int, text []uint16, hint, hintStart int) (int, int) {
	d.length += len(text) - (to - from)
	if len(d.chunks) == 0 {
		d.chunks = appendChunks(nil, text)
		return 0, 0
	}
	// First chunk ci holds from (at its end counts, so typing at a chunk
	// edge extends the left chunk); last chunk cj holds to.
	ci, startI := hint, hintStart
	for ci < len(d.chunks)-1 && startI+len(d.chunks[ci]) < from {
		startI += len(d.chunks[ci])
		ci++
	}
	cj, startJ := ci, startI
	for cj < len(d.chunks)-1 && startJ+len(d.chunks[cj]) < to {
		startJ += len(d.chunks[cj])
		cj++
	}
	offI, offJ := from-startI, to-startJ

	if ci == cj {
		c := d.chunks[ci]
		newLen := len(c) - (to - from) + len(text)
		if newLen <= chunkMax && (newLen >= chunkMin || len(d.chunks) == 1 && newLen > 0) {
			// In place: shift the tail, then copy the text in.
			old := len(c)
			c = c[:max(old, newLen)]
			copy(c[offI+len(text):], c[offJ:old])
			copy(c[offI:], text)
			d.chunks[ci] = c[:newLen]
			return ci, startI
		}
	}

	// General case: rebuild chunks ci..cj, taking in a neighbour when the
	// result would be too small to stand alone.
	lo, hi := ci, cj
	piece := make([]uint16, 0, offI+len(text)+len(d.chunks[cj])-offJ+chunkMax)
	if n := offI + len(text) + len(d.chunks[cj]) - offJ; n < chunkMin {
		if lo > 0 {
			lo--
			startI -= len(d.chunks[lo])
			piece = append(piece, d.chunks[lo]...)
		} else if hi < len(d.chunks)-1 {
			hi++
		}
	}
	piece = append(piece, d.chunks[ci][:offI]...)
	piece = append(piece, text...)
	piece = append(piece, d.chunks[cj][offJ:]...)
	if hi > cj {
		piece = append(piece, d.chunks[hi]...)
	}
	repl := appendChunks(nil, piece)
	d.chunks = append(d.chunks[:lo], append(repl, d.chunks[hi+1:]...)...)
	return lo, startI
}

// appendChunks cuts units into chunks of about chunkTarget units, never
// between the halves of a surrogate pair, each with capacity chunkMax.
func appendChunks(dst [][]uint16, units []uint16) [][]uint16 {
	if len(units) == 0 {
		return dst
	}
	parts := 1
	if len(units) > chunkMax {
		parts = (len(units) + chunkTarget - 1) / chunkTarget
	}
	size := (len(units) + parts - 1) / parts
	for len(units) > 0 {
		n := min(size, len(units))
		if n < len(units) && isHigh(units[n-1]) {
			n++
		}
		dst = append(dst, append(make([]uint16, 0, chunkMax), units[:n]...))
		units = units[n:]
	}
	return dst
}

// ChangesTo returns a change set that turns d into text, replacing only
// the part between their longest common prefix and suffix (never inside a
// surrogate pair), so that cursors elsewhere keep their place. Meant for
// whole-content replacement (a PATCH of a file) going through the same log
// as live edits.
func (d *Doc) ChangesTo(text string) *ChangeSet {
	cur := make([]uint16, 0, d.length)
	for _, c := range d.chunks {
		cur = append(cur, c...)
	}
	next := make([]uint16, 0, len(text))
	for _, r := range text {
		next = utf16.AppendRune(next, r)
	}
	p := 0
	for p < len(cur) && p < len(next) && cur[p] == next[p] {
		p++
	}
	if p > 0 && isHigh(cur[p-1]) {
		p-- // the pairs differ in their low halves
	}
	s := 0
	for s < len(cur)-p && s < len(next)-p && cur[len(cur)-1-s] == next[len(next)-1-s] {
		s++
	}
	if s > 0 && isLow(cur[len(cur)-s]) {
		s--
	}
	var b builder
	b.addSection(p, -1, false)
	ins := next[p : len(next)-s]
	b.addSection(len(cur)-p-s, len(ins), false)
	b.addInsert(append([]uint16(nil), ins...))
	b.addSection(s, -1, false)
	return b.set()
}
