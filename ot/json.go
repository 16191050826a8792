package ot

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Default bounds used for a zero Limits field.
const (
	DefaultMaxBytes    = 1 << 20 // raw JSON of one change set
	DefaultMaxSections = 10_000  // top-level elements (multi-cursor edits make many)
	DefaultMaxLength   = 8 << 20 // document length before or after, in UTF-16 units
)

// Limits bounds what Parse accepts; a zero field means its Default*
// constant. Exceeding one is reported as ErrTooLarge.
type Limits struct {
	MaxBytes    int
	MaxSections int
	MaxLength   int
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxSections <= 0 {
		l.MaxSections = DefaultMaxSections
	}
	if l.MaxLength <= 0 {
		l.MaxLength = DefaultMaxLength
	}
	// Keeps digit accumulation and length sums far from int overflow.
	l.MaxLength = min(l.MaxLength, 1<<40)
	return l
}

// Parse reads the JSON form of CodeMirror's ChangeSet.toJSON: an array
// whose elements are n (keep n units) or [d, line...] (delete d units,
// insert the lines joined by "\n"). It is stricter than CodeMirror's
// fromJSON: lengths must be non-negative integers written without fraction
// or exponent, no element may be a no-op (0, [0], [0, ""]), a line may not
// contain "\n", and strings must be valid UTF-8 with escaped surrogates
// forming pairs. Strings are decoded here rather than by encoding/json,
// which would silently turn a lone surrogate into U+FFFD.
func Parse(data []byte, lim Limits) (*ChangeSet, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, fmt.Errorf("parse change set: %d bytes exceeds the limit of %d: %w", len(data), lim.MaxBytes, ErrTooLarge)
	}
	p := parser{data: data, lim: lim}
	cs, err := p.changeSet()
	if err != nil {
		return nil, fmt.Errorf("parse change set: %w", err)
	}
	return cs, nil
}

// UnmarshalJSON implements json.Unmarshaler with the default Limits, so a
// ChangeSet can sit directly in a wire struct.
func (c *ChangeSet) UnmarshalJSON(data []byte) error {
	cs, err := Parse(data, Limits{})
	if err != nil {
		return err
	}
	*c = *cs
	return nil
}

// MarshalJSON implements json.Marshaler; see AppendJSON.
func (c *ChangeSet) MarshalJSON() ([]byte, error) {
	return c.AppendJSON(nil), nil
}

// AppendJSON appends the canonical JSON form, byte for byte what
// JSON.stringify(changeSet.toJSON()) produces in the browser.
func (c *ChangeSet) AppendJSON(dst []byte) []byte {
	dst = append(dst, '[')
	for i := 0; i < len(c.sections); i += 2 {
		if i > 0 {
			dst = append(dst, ',')
		}
		n, ins := c.sections[i], c.sections[i+1]
		if ins < 0 {
			dst = strconv.AppendInt(dst, int64(n), 10)
			continue
		}
		dst = append(dst, '[')
		dst = strconv.AppendInt(dst, int64(n), 10)
		if ins > 0 {
			dst = append(dst, ',', '"')
			dst = appendJSONText(dst, c.text(i>>1))
			dst = append(dst, '"')
		}
		dst = append(dst, ']')
	}
	return append(dst, ']')
}

// String returns the JSON form, for logs and test failures.
func (c *ChangeSet) String() string { return string(c.AppendJSON(nil)) }

const hexDigits = "0123456789abcdef"

// appendJSONText writes UTF-16 text as the body of JSON strings, one string
// per line ("\n" closes a string and opens the next). Escapes follow
// JSON.stringify: the short forms, \u00xx for other controls and for lone
// surrogates, everything else as UTF-8.
func appendJSONText(dst []byte, t []uint16) []byte {
	for i := 0; i < len(t); i++ {
		u := t[i]
		switch {
		case u == '\n':
			dst = append(dst, '"', ',', '"')
		case u == '"' || u == '\\':
			dst = append(dst, '\\', byte(u))
		case u < 0x20:
			switch u {
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[u>>4], hexDigits[u&15])
			}
		case u < utf8.RuneSelf:
			dst = append(dst, byte(u))
		case utf16.IsSurrogate(rune(u)):
			if u < 0xdc00 && i+1 < len(t) && t[i+1] >= 0xdc00 && t[i+1] < 0xe000 {
				dst = utf8.AppendRune(dst, utf16.DecodeRune(rune(u), rune(t[i+1])))
				i++
			} else {
				dst = append(dst, '\\', 'u', hexDigits[u>>12], hexDigits[u>>8&15], hexDigits[u>>4&15], hexDigits[u&15])
			}
		default:
			dst = utf8.AppendRune(dst, rune(u))
		}
	}
	return dst
}

// parser is a small recursive-descent reader for exactly the change set
// grammar; it reports the element index in every error.
type parser struct {
	data []byte
	pos  int
	lim  Limits
	// text collects every inserted unit so the change set shares one
	// allocation; sections slice into it once parsing is done.
	text []uint16
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%s (at byte %d): %w", fmt.Sprintf(format, args...), p.pos, ErrMalformed)
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (p *parser) peek() byte {
	p.skipSpace()
	if p.pos < len(p.data) {
		return p.data[p.pos]
	}
	return 0
}

func describe(b byte) string {
	switch {
	case b == 0:
		return "end of input"
	case b == '"':
		return "a string"
	case b == '{':
		return "an object"
	case b == 't' || b == 'f':
		return "a boolean"
	case b == 'n':
		return "null"
	case b == '[':
		return "an array"
	case b == '-' || b >= '0' && b <= '9':
		return "a number"
	default:
		return strconv.QuoteRune(rune(b))
	}
}

func (p *parser) changeSet() (*ChangeSet, error) {
	if p.peek() != '[' {
		return nil, p.errorf("expected an array, got %s", describe(p.peek()))
	}
	p.pos++
	// Typical pushes are a keystroke: three elements, a few units of text.
	sections := make([]int, 0, 8)
	// textEnd[k] is the end offset in p.text of section k's text, for
	// sections that insert; -1 otherwise.
	textEnd := make([]int, 0, 4)
	p.text = make([]uint16, 0, 16)
	lenBefore, lenAfter := 0, 0
	for elem := 0; ; elem++ {
		c := p.peek()
		if elem == 0 && c == ']' {
			p.pos++
			break
		}
		if elem > 0 {
			if c == ']' {
				p.pos++
				break
			}
			if c != ',' {
				return nil, p.errorf("element %d: expected ',' or ']', got %s", elem, describe(c))
			}
			p.pos++
			c = p.peek()
		}
		if elem >= p.lim.MaxSections {
			return nil, fmt.Errorf("more than %d elements: %w", p.lim.MaxSections, ErrTooLarge)
		}
		switch {
		case c == '[':
			p.pos++
			if p.peek() == ']' {
				return nil, p.errorf("element %d: empty array, expected [deleted, lines...]", elem)
			}
			del, err := p.length(elem)
			if err != nil {
				return nil, err
			}
			start := len(p.text)
			lines := 0
			for {
				c := p.peek()
				if c == ']' {
					p.pos++
					break
				}
				if c != ',' {
					return nil, p.errorf("element %d: expected ',' or ']' in change, got %s", elem, describe(c))
				}
				p.pos++
				if c := p.peek(); c != '"' {
					return nil, p.errorf("element %d: inserted line %d: expected a string, got %s", elem, lines, describe(c))
				}
				if lines > 0 {
					p.text = append(p.text, '\n')
				}
				if err := p.line(elem, lines); err != nil {
					return nil, err
				}
				lines++
			}
			ins := len(p.text) - start
			if del == 0 && ins == 0 {
				return nil, p.errorf("element %d: change deletes and inserts nothing", elem)
			}
			sections = append(sections, del, ins)
			if ins > 0 {
				textEnd = append(textEnd, len(p.text))
			} else {
				textEnd = append(textEnd, -1)
			}
			lenBefore += del
			lenAfter += ins
		case c == '-' || c >= '0' && c <= '9':
			n, err := p.length(elem)
			if err != nil {
				return nil, err
			}
			if n == 0 {
				return nil, p.errorf("element %d: keeps zero units", elem)
			}
			sections = append(sections, n, -1)
			textEnd = append(textEnd, -1)
			lenBefore += n
			lenAfter += n
		default:
			return nil, p.errorf("element %d: expected a number or an array, got %s", elem, describe(c))
		}
		if lenBefore > p.lim.MaxLength || lenAfter > p.lim.MaxLength {
			return nil, fmt.Errorf("document length exceeds the limit of %d units: %w", p.lim.MaxLength, ErrTooLarge)
		}
	}
	if c := p.peek(); c != 0 {
		return nil, p.errorf("unexpected %s after the change set", describe(c))
	}
	var inserted [][]uint16
	if len(p.text) > 0 {
		last := 0
		for k := len(textEnd) - 1; k >= 0; k-- {
			if textEnd[k] >= 0 {
				last = k
				break
			}
		}
		inserted = make([][]uint16, last+1)
		start := 0
		for k := 0; k <= last; k++ {
			if end := textEnd[k]; end >= 0 {
				inserted[k] = p.text[start:end:end]
				start = end
			}
		}
	}
	return newSet(sections, inserted), nil
}

// length reads a non-negative JSON integer.
func (p *parser) length(elem int) (int, error) {
	p.skipSpace()
	start := p.pos
	if p.pos < len(p.data) && p.data[p.pos] == '-' {
		return 0, p.errorf("element %d: negative length", elem)
	}
	n := 0
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		n = n*10 + int(p.data[p.pos]-'0')
		p.pos++
		if n > p.lim.MaxLength {
			return 0, fmt.Errorf("element %d: length exceeds the limit of %d units: %w", elem, p.lim.MaxLength, ErrTooLarge)
		}
	}
	switch {
	case p.pos == start:
		return 0, p.errorf("element %d: expected a length, got %s", elem, describe(p.peek()))
	case p.pos-start > 1 && p.data[start] == '0':
		return 0, p.errorf("element %d: length with a leading zero", elem)
	case p.pos < len(p.data) && (p.data[p.pos] == '.' || p.data[p.pos] == 'e' || p.data[p.pos] == 'E'):
		return 0, p.errorf("element %d: length is not an integer", elem)
	}
	return n, nil
}

// line decodes one JSON string (the opening quote is next) into p.text
// as UTF-16.
func (p *parser) line(elem, line int) error {
	p.pos++ // opening quote
	d := p.data
	for p.pos < len(d) {
		b := d[p.pos]
		switch {
		case b == '"':
			p.pos++
			return nil
		case b == '\\':
			if err := p.escape(elem, line); err != nil {
				return err
			}
		case b < 0x20:
			return p.errorf("element %d: inserted line %d: unescaped control character %#x", elem, line, b)
		case b < utf8.RuneSelf:
			p.text = append(p.text, uint16(b))
			p.pos++
		default:
			r, size := utf8.DecodeRune(d[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return p.errorf("element %d: inserted line %d: invalid UTF-8", elem, line)
			}
			p.text = utf16.AppendRune(p.text, r)
			p.pos += size
		}
	}
	return p.errorf("element %d: inserted line %d: unterminated string", elem, line)
}

// escape decodes one backslash escape; a \u high surrogate must be
// followed directly by a \u low surrogate.
func (p *parser) escape(elem, line int) error {
	d := p.data
	if p.pos+1 >= len(d) {
		return p.errorf("element %d: inserted line %d: unterminated escape", elem, line)
	}
	c := d[p.pos+1]
	p.pos += 2
	switch c {
	case '"', '\\', '/':
		p.text = append(p.text, uint16(c))
	case 'b':
		p.text = append(p.text, '\b')
	case 'f':
		p.text = append(p.text, '\f')
	case 'r':
		p.text = append(p.text, '\r')
	case 't':
		p.text = append(p.text, '\t')
	case 'n':
		return p.errorf("element %d: inserted line %d contains a line break; lines are separate strings", elem, line)
	case 'u':
		u, ok := hex4(d, p.pos)
		if !ok {
			return p.errorf("element %d: inserted line %d: invalid \\u escape", elem, line)
		}
		p.pos += 4
		switch {
		case u == '\n':
			return p.errorf("element %d: inserted line %d contains a line break; lines are separate strings", elem, line)
		case u >= 0xdc00 && u < 0xe000:
			return fmt.Errorf("element %d: inserted line %d: lone low surrogate %#x: %w", elem, line, u, ErrSurrogate)
		case u >= 0xd800 && u < 0xdc00:
			lo, ok := uint16(0), false
			if p.pos+1 < len(d) && d[p.pos] == '\\' && d[p.pos+1] == 'u' {
				lo, ok = hex4(d, p.pos+2)
			}
			if !ok || lo < 0xdc00 || lo >= 0xe000 {
				return fmt.Errorf("element %d: inserted line %d: lone high surrogate %#x: %w", elem, line, u, ErrSurrogate)
			}
			p.pos += 6
			p.text = append(p.text, u, lo)
		default:
			p.text = append(p.text, u)
		}
	default:
		return p.errorf("element %d: inserted line %d: invalid escape \\%c", elem, line, c)
	}
	return nil
}

func hex4(d []byte, at int) (uint16, bool) {
	if at+4 > len(d) {
		return 0, false
	}
	var v uint16
	for _, c := range d[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(c)
	}
	return v, true
}
