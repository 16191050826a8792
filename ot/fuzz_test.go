package ot

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf16"
)

// Run one fuzzer at a time, e.g.
//
//	go test ./ot -run '^$' -fuzz '^FuzzConvergence$' -fuzztime 30s
//
// Seeds live in f.Add below and in testdata/fuzz/<name>/ once the fuzzer
// has found something worth keeping.

var fuzzDocs = []string{"", "a", "hello world", "a😀b👍🏽c", "中文\n字\n\n", "x\n👩‍💻\ny e\u0301 \"q\" \\"}

func hotFrom(s *source, doc string) []int {
	bounds := codePointBounds(utf16.Encode([]rune(doc)))
	var hot []int
	for n := 1 + s.intn(3); n > 0; n-- {
		hot = append(hot, bounds[s.intn(len(bounds))])
	}
	return hot
}

// FuzzConvergence: two concurrent change sets a and b on one document,
// each rebased over the other with opposite before flags, give the same
// text either way; the mapped sets never split a surrogate pair.
func FuzzConvergence(f *testing.F) {
	for i, d := range fuzzDocs {
		f.Add(d, []byte{byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
		f.Add(d, bytes.Repeat([]byte{byte(7 * i), 0}, 24))
	}
	f.Fuzz(func(t *testing.T, doc string, choices []byte) {
		doc = string(utf16.Decode(utf16.Encode([]rune(doc)))) // as the browser would hold it
		s := &source{data: choices}
		hot := hotFrom(s, doc)
		a := s.randomChanges(t, doc, hot)
		b := s.randomChanges(t, doc, hot)
		for _, aFirst := range []bool{true, false} {
			bOverA, err := b.Map(a, !aFirst)
			if err != nil {
				t.Fatal(err)
			}
			aOverB, err := a.Map(b, aFirst)
			if err != nil {
				t.Fatal(err)
			}
			viaA := applyString(t, applyString(t, doc, a), bOverA)
			viaB := applyString(t, applyString(t, doc, b), aOverB)
			if viaA != viaB {
				t.Fatalf("diverged (a first %v) on %q with a=%s b=%s:\n a then b': %q\n b then a': %q",
					aFirst, doc, a, b, viaA, viaB)
			}
			// Compose agrees with applying in sequence.
			ab, err := a.Compose(bOverA)
			if err != nil {
				t.Fatal(err)
			}
			if got := applyString(t, doc, ab); got != viaA {
				t.Fatalf("compose %s then %s: %q, sequential %q", a, bOverA, got, viaA)
			}
		}
	})
}

// FuzzCompose: composing three consecutive change sets in either grouping
// gives what applying them one after another gives.
func FuzzCompose(f *testing.F) {
	for i, d := range fuzzDocs {
		f.Add(d, []byte{byte(i), 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6})
	}
	f.Fuzz(func(t *testing.T, doc string, choices []byte) {
		doc = string(utf16.Decode(utf16.Encode([]rune(doc))))
		s := &source{data: choices}
		a := s.randomChanges(t, doc, nil)
		d1 := applyString(t, doc, a)
		b := s.randomChanges(t, d1, hotFrom(s, d1))
		d2 := applyString(t, d1, b)
		c := s.randomChanges(t, d2, hotFrom(s, d2))
		d3 := applyString(t, d2, c)

		ab, err := a.Compose(b)
		if err != nil {
			t.Fatal(err)
		}
		bc, err := b.Compose(c)
		if err != nil {
			t.Fatal(err)
		}
		left, err := ab.Compose(c)
		if err != nil {
			t.Fatal(err)
		}
		right, err := a.Compose(bc)
		if err != nil {
			t.Fatal(err)
		}
		for name, cs := range map[string]*ChangeSet{"(ab)c": left, "a(bc)": right} {
			if got := applyString(t, doc, cs); got != d3 {
				t.Fatalf("%s = %s gives %q, sequential %q", name, cs, got, d3)
			}
		}
		if got := applyString(t, doc, ab); got != d2 {
			t.Fatalf("ab = %s gives %q, want %q", ab, got, d2)
		}
	})
}

// FuzzParse: arbitrary input never panics; accepted input prints to a
// canonical form that parses back to itself, and errors name a known kind.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`[]`, `[5]`, `[[0,"x"]]`, `[1,[2,"a","","b"],3]`, `[[0,"\ud83d\ude00"]]`, `[[2,""]]`,
		`[-1]`, `[1.5]`, `["x"]`, `[[0,"\ud83d"]]`, `[3,4]`, ` [ 1 , [ 2 , "x" ] ] `, `[[0,"\u2028<&>\t"]]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := Parse(data, Limits{MaxLength: 1 << 20})
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrSurrogate) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		out := cs.AppendJSON(nil)
		again, err := Parse(out, Limits{MaxLength: 1 << 20})
		if err != nil {
			t.Fatalf("canonical form %s of %q does not parse: %v", out, data, err)
		}
		if out2 := again.AppendJSON(nil); !bytes.Equal(out, out2) {
			t.Fatalf("not stable: %s then %s", out, out2)
		}
		if again.LenBefore() != cs.LenBefore() || again.LenAfter() != cs.LenAfter() {
			t.Fatalf("lengths changed in round trip of %s", out)
		}
		// Whatever parses applies to a plain-ASCII document of its length
		// (no pairs there to split).
		d := NewDoc(string(make([]byte, cs.LenBefore())))
		if err := d.Apply(cs); err != nil {
			t.Fatalf("apply %s to a plain document: %v", out, err)
		}
		if d.Len() != cs.LenAfter() {
			t.Fatalf("applied length %d, want %d", d.Len(), cs.LenAfter())
		}
	})
}
