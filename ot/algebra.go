package ot

import "fmt"

// Map returns c rebased over other: both start from the same document, and
// the result applies to the document other produces. With before false,
// other's changes are treated as having happened first (insertions of other
// at the same position end up before c's); with before true, c's come first.
// For concurrent a and b, a.Compose(b.Map(a, false)) and
// b.Compose(a.Map(b, true)) produce the same document.
// This is CodeMirror's ChangeSet.map, tie-breaking included.
func (c *ChangeSet) Map(other *ChangeSet, before bool) (*ChangeSet, error) {
	if la, lb := c.LenBefore(), other.LenBefore(); la != lb {
		return nil, fmt.Errorf("map change set of length %d over one of length %d: %w", la, lb, ErrLengthMismatch)
	}
	if other.Empty() {
		return c, nil
	}
	return mapSet(c, other, before)
}

// mapSet walks both sets in parallel, copying a's changes into the
// coordinates after b. inserted remembers the section of a whose text has
// already been emitted, since one change of a may be visited in pieces.
func mapSet(setA, setB *ChangeSet, before bool) (*ChangeSet, error) {
	out := newBuilder(setA, setB)
	a, b := newIter(setA), newIter(setB)
	for inserted := -1; ; {
		switch {
		case a.done() && b.len > 0 || b.done() && a.len > 0:
			return nil, fmt.Errorf("map: %w", ErrLengthMismatch)
		case a.ins == -1 && b.ins == -1:
			n := min(a.len, b.len)
			out.addSection(n, -1, false)
			a.forward(n)
			b.forward(n)
		case b.ins >= 0 && (a.ins < 0 || inserted == a.i || a.off == 0 && (b.len < a.len || b.len == a.len && !before)):
			// b's change starts first (by position, then length, then the
			// before flag): emit its replacement as kept text and drop the
			// parts of a it covers, keeping a's insertions that fit inside.
			n := b.len
			out.addSection(b.ins, -1, false)
			for n > 0 {
				if a.done() {
					return nil, fmt.Errorf("map: %w", ErrLengthMismatch)
				}
				piece := min(a.len, n)
				if a.ins >= 0 && inserted < a.i && a.len <= piece {
					out.addSection(0, a.ins, false)
					out.addInsert(a.text())
					inserted = a.i
				}
				a.forward(piece)
				n -= piece
			}
			b.next()
		case a.ins >= 0:
			// a's change comes first: emit it up to where it meets a
			// non-deletion change of b; deletions of b inside it vanish.
			n, left := 0, a.len
			for left > 0 {
				if b.ins == -1 {
					piece := min(left, b.len)
					n += piece
					left -= piece
					b.forward(piece)
				} else if b.ins == 0 && b.len < left {
					left -= b.len
					b.next()
				} else {
					break
				}
			}
			if inserted < a.i {
				out.addSection(n, a.ins, false)
				out.addInsert(a.text())
			} else {
				out.addSection(n, 0, false)
			}
			inserted = a.i
			a.forward(a.len - left)
		case a.done() && b.done():
			return out.set(), nil
		default:
			return nil, fmt.Errorf("map: %w", ErrLengthMismatch)
		}
	}
}

// Compose returns the change set equivalent to applying c and then next;
// next must start from the document c produces.
// This is CodeMirror's ChangeSet.compose.
func (c *ChangeSet) Compose(next *ChangeSet) (*ChangeSet, error) {
	if la, lb := c.LenAfter(), next.LenBefore(); la != lb {
		return nil, fmt.Errorf("compose change set producing length %d with one of length %d: %w", la, lb, ErrLengthMismatch)
	}
	if c.Empty() {
		return next, nil
	}
	if next.Empty() {
		return c, nil
	}
	return composeSets(c, next)
}

// composeSets walks a's output alongside b's input. open is set while a
// change is being emitted in several pieces, so the pieces are joined into
// one section as CodeMirror does.
func composeSets(setA, setB *ChangeSet) (*ChangeSet, error) {
	out := newBuilder(setA, setB)
	a, b := newIter(setA), newIter(setB)
	for open := false; ; {
		switch {
		case a.done() && b.done():
			return out.set(), nil
		case a.ins == 0: // deletion in a
			out.addSection(a.len, 0, open)
			a.next()
		case b.len == 0 && !b.done(): // insertion in b
			out.addSection(0, b.ins, open)
			out.addInsert(b.text())
			b.next()
		case a.done() || b.done():
			return nil, fmt.Errorf("compose: %w", ErrLengthMismatch)
		default:
			n, sectionLen := min(a.len2(), b.len), len(out.sections)
			aLen := a.len
			if a.off != 0 {
				aLen = 0
			}
			switch {
			case a.ins == -1:
				insB := b.ins
				if b.ins != -1 && b.off != 0 {
					insB = 0
				}
				out.addSection(n, insB, open)
				if insB > 0 {
					out.addInsert(b.text())
				}
			case b.ins == -1:
				out.addSection(aLen, n, open)
				out.addInsert(a.textBit(n))
			default:
				insB := b.ins
				if b.off != 0 {
					insB = 0
				}
				out.addSection(aLen, insB, open)
				if b.off == 0 {
					out.addInsert(b.text())
				}
			}
			open = (a.ins > n || b.ins >= 0 && b.len > n) && (open || len(out.sections) > sectionLen)
			a.forward2(n)
			b.forward(n)
		}
	}
}

// MapPos maps a position in the document before c to the document after
// it. assoc < 0 keeps a position at an insertion point before the inserted
// text, assoc > 0 moves it after; a position inside a replaced range maps
// to the start (assoc < 0) or end of the replacement. This is CodeMirror's
// ChangeDesc.mapPos in MapMode.Simple, the mode cursors use.
func (c *ChangeSet) MapPos(pos, assoc int) (int, error) {
	posA, posB := 0, 0
	s := c.sections
	for i := 0; i < len(s); i += 2 {
		n, ins := s[i], s[i+1]
		endA := posA + n
		if ins < 0 {
			if endA > pos {
				if pos < posA {
					break // negative pos: reported below
				}
				return posB + (pos - posA), nil
			}
			posB += n
		} else {
			if endA > pos || endA == pos && assoc < 0 && n == 0 {
				if pos < posA {
					break
				}
				if pos == posA || assoc < 0 {
					return posB, nil
				}
				return posB + ins, nil
			}
			posB += ins
		}
		posA = endA
	}
	if pos < 0 || pos > posA {
		return 0, fmt.Errorf("map position %d in change set of length %d: %w", pos, c.LenBefore(), ErrRange)
	}
	return posB, nil
}
