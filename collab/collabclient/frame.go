package collabclient

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// parseUpdates decodes an {"type":"updates",…} frame without encoding/json's
// reflection and second validation pass: a client applies every update of
// the files it has open, so under load (a load test's 200 clients reading
// 1,000 updates/s each) this decoding is most of its work. Changes stay raw
// sub-slices of b (ot.Parse reads them). ok is false for anything it does
// not recognise (another type, a string with escapes, malformed JSON); the
// caller then decodes with encoding/json, which gives the same result.
func parseUpdates(b []byte) (file string, version int64, ups []receivedUpdate, ok bool) {
	p := scanner{b: b}
	if !p.byte('{') {
		return "", 0, nil, false
	}
	sawType := false
	for first := true; ; first = false {
		p.space()
		if p.peek() == '}' {
			p.i++
			break
		}
		if !first && !p.byte(',') {
			return "", 0, nil, false
		}
		key, kok := p.str()
		if !kok || !p.byte(':') {
			return "", 0, nil, false
		}
		switch key {
		case "type":
			t, tok := p.str()
			if !tok || t != "updates" {
				return "", 0, nil, false
			}
			sawType = true
		case "file":
			if file, ok = p.str(); !ok {
				return "", 0, nil, false
			}
		case "version":
			if version, ok = p.int(); !ok {
				return "", 0, nil, false
			}
		case "updates":
			if ups, ok = p.updates(); !ok {
				return "", 0, nil, false
			}
		default:
			if !p.skipValid() {
				return "", 0, nil, false
			}
		}
	}
	p.space()
	return file, version, ups, sawType && p.i == len(b)
}

type scanner struct {
	b []byte
	i int
}

func (p *scanner) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *scanner) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// byte consumes c after optional white space.
func (p *scanner) byte(c byte) bool {
	p.space()
	if p.peek() != c {
		return false
	}
	p.i++
	return true
}

// str reads a string without escapes or control characters.
func (p *scanner) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			s := string(p.b[start:p.i])
			p.i++
			return s, true
		case c == '\\' || c < 0x20:
			return "", false
		}
		p.i++
	}
	return "", false
}

func (p *scanner) int() (int64, bool) {
	p.space()
	start := p.i
	for p.i < len(p.b) && (p.b[p.i] == '-' || p.b[p.i] >= '0' && p.b[p.i] <= '9') {
		p.i++
	}
	n, err := strconv.ParseInt(string(p.b[start:p.i]), 10, 64)
	return n, err == nil
}

// skip passes over one JSON value without checking it (see skipValid).
func (p *scanner) skip() bool {
	p.space()
	start, depth := p.i, 0
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			for p.i < len(p.b) && p.b[p.i] != '"' {
				if p.b[p.i] == '\\' {
					p.i++
				}
				p.i++
			}
			if p.i >= len(p.b) {
				return false
			}
		case c == '[' || c == '{':
			depth++
		case depth == 0 && (c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return p.i > start // the end of a number or literal
		case c == ']' || c == '}':
			depth--
		}
		p.i++
		if depth == 0 && (c == '"' || c == ']' || c == '}') {
			return true
		}
	}
	return false
}

// skipValid passes over one JSON value and checks it.
func (p *scanner) skipValid() bool {
	p.space()
	start := p.i
	return p.skip() && json.Valid(p.b[start:p.i])
}

func (p *scanner) updates() ([]receivedUpdate, bool) {
	if !p.byte('[') {
		return nil, false
	}
	var ups []receivedUpdate
	p.space()
	if p.peek() == ']' {
		p.i++
		return ups, true
	}
	for {
		u, ok := p.update()
		if !ok {
			return nil, false
		}
		ups = append(ups, u)
		p.space()
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return ups, true
		default:
			return nil, false
		}
	}
}

func (p *scanner) update() (receivedUpdate, bool) {
	var u receivedUpdate
	if !p.byte('{') {
		return u, false
	}
	for first := true; ; first = false {
		p.space()
		if p.peek() == '}' {
			p.i++
			return u, true
		}
		if !first && !p.byte(',') {
			return u, false
		}
		key, ok := p.str()
		if !ok || !p.byte(':') {
			return u, false
		}
		switch key {
		case "clientID":
			u.ClientID, ok = p.str()
		case "userId":
			u.UserID, ok = p.str()
		case "changes":
			p.space()
			start := p.i
			if ok = p.skip(); ok {
				u.Changes = json.RawMessage(bytes.TrimSpace(p.b[start:p.i]))
			}
		default:
			ok = p.skipValid()
		}
		if !ok {
			return u, false
		}
	}
}
