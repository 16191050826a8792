package ot

import (
	"fmt"
	"math/bits"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// Chunk sizes, in UTF-16 units. An edit copies at most a few chunks and
// finds them through a Fenwick tree of chunk lengths, so a keystroke costs
// about the same on a 20 KB file as on a 2 MB one (BenchmarkApplySize).
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
	// index is a Fenwick tree over the chunk lengths (index[k] for
	// k = 1..len(chunks)): prefix sums and point updates in O(log n).
	// Rebuilt whenever the chunk list itself changes, which typing does
	// only once per few hundred keystrokes in one chunk.
	index []int
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
	d.reindex()
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
	c := &Doc{length: d.length, chunks: make([][]uint16, len(d.chunks)), index: slices.Clone(d.index)}
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
	pos := 0
	s := cs.sections
	for i := 0; i < len(s); i += 2 {
		n, ins := s[i], s[i+1]
		if ins >= 0 {
			if d.splitsPair(pos) || d.splitsPair(pos+n) {
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
	posB := 0
	s := cs.sections
	for i := 0; i < len(s); i += 2 {
		n, ins := s[i], s[i+1]
		if ins < 0 {
			posB += n
			continue
		}
		d.replace(posB, posB+n, cs.text(i>>1))
		posB += ins
	}
	return nil
}

// splitsPair reports whether pos falls between the two halves of a
// surrogate pair. Chunk edges never do.
func (d *Doc) splitsPair(pos int) bool {
	if len(d.chunks) == 0 {
		return false
	}
	ci, start := d.find(pos)
	off, chunk := pos-start, d.chunks[ci]
	return off > 0 && off < len(chunk) && isHigh(chunk[off-1]) && isLow(chunk[off])
}

// find returns the chunk holding pos and that chunk's start; a position at
// the end of a chunk belongs to it. The document must have a chunk.
func (d *Doc) find(pos int) (ci, start int) {
	n := len(d.chunks)
	if n == 0 {
		return 0, 0
	}
	// Fenwick descent: the largest k with prefix(k) < pos.
	k := 0
	for step := 1 << (bits.Len(uint(n)) - 1); step > 0; step >>= 1 {
		if next := k + step; next <= n && start+d.index[next] < pos {
			k = next
			start += d.index[next]
		}
	}
	return min(k, n-1), start
}

// grow adds delta to the length of chunk ci in the index.
func (d *Doc) grow(ci, delta int) {
	for k := ci + 1; k < len(d.index); k += k & -k {
		d.index[k] += delta
	}
}

// reindex rebuilds the index from the chunks in O(n).
func (d *Doc) reindex() {
	n := len(d.chunks)
	if cap(d.index) >= n+1 {
		d.index = d.index[:n+1]
		clear(d.index)
	} else {
		d.index = make([]int, n+1, n+1+n/8)
	}
	for k := 1; k <= n; k++ {
		d.index[k] += len(d.chunks[k-1])
		if up := k + k&-k; up <= n {
			d.index[up] += d.index[k]
		}
	}
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

// replace replaces units from..to with text.
func (d *Doc) replace(from, to int, text []uint16) {
	d.length += len(text) - (to - from)
	if len(d.chunks) == 0 {
		d.chunks = appendChunks(nil, text)
		d.reindex()
		return
	}
	// First chunk ci holds from (its end counts, so typing at a chunk edge
	// extends the left chunk); last chunk cj holds to.
	ci, startI := d.find(from)
	cj, startJ := ci, startI
	if to > startI+len(d.chunks[ci]) {
		cj, startJ = d.find(to)
	}
	offI, offJ := from-startI, to-startJ

	if ci == cj {
		c := d.chunks[ci]
		newLen := len(c) - (to - from) + len(text)
		if newLen <= min(chunkMax, cap(c)) && (newLen >= chunkMin || len(d.chunks) == 1 && newLen > 0) {
			// In place: shift the tail, then copy the text in.
			old := len(c)
			c = c[:max(old, newLen)]
			copy(c[offI+len(text):], c[offJ:old])
			copy(c[offI:], text)
			d.chunks[ci] = c[:newLen]
			d.grow(ci, newLen-old)
			return
		}
	}

	// General case: rebuild chunks ci..cj, taking in a neighbour when the
	// result would be too small to stand alone.
	lo, hi := ci, cj
	piece := make([]uint16, 0, offI+len(text)+len(d.chunks[cj])-offJ+chunkMax)
	if n := offI + len(text) + len(d.chunks[cj]) - offJ; n < chunkMin {
		if lo > 0 {
			lo--
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
	// slices.Replace also clears the vacated tail, so dropped chunks can be
	// collected.
	d.chunks = slices.Replace(d.chunks, lo, hi+1, appendChunks(nil, piece)...)
	d.reindex()
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
