package ot

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf16"
)

// Server hot path on a 20 KB document: a pushed keystroke-sized update,
// based one to three versions back, rebased over the updates accepted since
// and applied. Baselines in the same run: the naive flat-array apply of the
// same (already rebased) updates, and a bare copy of the document.
//
//	go test ./ot -run '^$' -bench . -benchtime 200000x -count 3
//
// updates/s is per core (benchmarks run on one goroutine).

const benchSteps = 4096

type benchStep struct {
	pushed   []Update // one update, based len(accepted) versions back
	accepted []Update
	rebased  *ChangeSet // expected result, for the naive baseline
	json     []byte     // pushed changes as the client sends them
}

type benchSession struct {
	initial string // the document step 0 applies to
	steps   []benchStep
}

// benchDoc is ~20 KB of code-like text with some CJK and emoji.
func benchDoc() string {
	lines := []string{
		"func handle(w http.ResponseWriter, r *http.Request) {",
		"\tctx := r.Context() // 处理请求 😀",
		"\tif err := validate(ctx, r.Body); err != nil {",
		"\t\thttp.Error(w, err.Error(), http.StatusBadRequest)",
		"\t\treturn",
		"\t}",
		"}",
		"",
	}
	var b strings.Builder
	for i := 0; b.Len() < 20_000; i++ {
		b.WriteString(lines[i%len(lines)])
		b.WriteByte('\n')
	}
	return b.String()
}

// newBenchSession precomputes a deterministic editing session, so the
// timed loop does only the server's work.
func newBenchSession(tb testing.TB) *benchSession {
	r := rand.New(rand.NewPCG(1, 2))
	versions := [][]uint16{utf16.Encode([]rune(benchDoc()))}
	var log []Update
	// Seed the log so the first steps have something to rebase over.
	for range 3 {
		cs := keystroke(tb, r, versions[len(versions)-1])
		log = append(log, Update{ClientID: "seed", Changes: cs})
		versions = append(versions, naiveApply(versions[len(versions)-1], cs))
	}
	initialAfterSeeds := string(utf16.Decode(versions[3]))
	s := &benchSession{}
	for i := range benchSteps {
		k := 1 + r.IntN(3)
		base := len(log) - k
		pushed := keystroke(tb, r, versions[base])
		up := []Update{{ClientID: fmt.Sprint("client", i%7), Changes: pushed}}
		out, err := RebaseUpdates(up, log[base:])
		if err != nil {
			tb.Fatal(err)
		}
		s.steps = append(s.steps, benchStep{
			pushed:   up,
			accepted: log[base:],
			rebased:  out[0].Changes,
			json:     pushed.AppendJSON(nil),
		})
		log = append(log, out[0])
		versions = append(versions, naiveApply(versions[len(versions)-1], out[0].Changes))
		if len(versions) > 8 {
			versions[len(versions)-9] = nil // pushes are based on the last few only
		}
	}
	// The timed loops start after the seed updates.
	s.initial = initialAfterSeeds
	return s
}

// keystroke is a realistic edit: type one to three characters, delete one
// character, or replace a short selection, at a random place.
func keystroke(tb testing.TB, r *rand.Rand, units []uint16) *ChangeSet {
	pos := r.IntN(len(units) + 1)
	for pos > 0 && pos < len(units) && isLow(units[pos]) {
		pos-- // never inside a surrogate pair
	}
	end := pos
	typed := []string{"x", "if", "err", " ", "\n\t", "中", "😀", "()"}[r.IntN(8)]
	switch r.IntN(4) {
	case 0: // backspace
		typed = ""
		fallthrough
	case 1: // replace a selection
		for n := 1 + r.IntN(4); n > 0 && end < len(units); n-- {
			end++
			if isHigh(units[end-1]) {
				end++
			}
		}
	}
	cs, err := New(len(units), Change{From: pos, To: end, Insert: typed})
	if err != nil {
		tb.Fatal(err)
	}
	return cs
}

// docBefore returns the document step 0's rebased update applies to.
func (s *benchSession) docBefore() []uint16 { return utf16.Encode([]rune(s.initial)) }

func reportUpdates(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}

// BenchmarkRebaseApply is the figure to compare: RebaseUpdates over 1–3
// accepted updates, then Doc.Apply.
func BenchmarkRebaseApply(b *testing.B) {
	s := newBenchSession(b)
	d := NewDoc(s.initial)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%benchSteps == 0 && i > 0 {
			b.StopTimer()
			d = NewDoc(s.initial)
			b.StartTimer()
		}
		st := &s.steps[i%benchSteps]
		out, err := RebaseUpdates(st.pushed, st.accepted)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Apply(out[0].Changes); err != nil {
			b.Fatal(err)
		}
	}
	reportUpdates(b)
}

// BenchmarkPipeline adds what surrounds it on the server: parsing the
// pushed JSON and printing the rebased change set for the log and the
// broadcast.
func BenchmarkPipeline(b *testing.B) {
	s := newBenchSession(b)
	d := NewDoc(s.initial)
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%benchSteps == 0 && i > 0 {
			b.StopTimer()
			d = NewDoc(s.initial)
			b.StartTimer()
		}
		st := &s.steps[i%benchSteps]
		cs, err := Parse(st.json, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		out, err := RebaseUpdates([]Update{{ClientID: st.pushed[0].ClientID, Changes: cs}}, st.accepted)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Apply(out[0].Changes); err != nil {
			b.Fatal(err)
		}
		buf = out[0].Changes.AppendJSON(buf[:0])
	}
	reportUpdates(b)
}

// BenchmarkBaselineNaiveApply applies the same, already rebased, updates
// by rebuilding a flat UTF-16 array each time (no rebase at all).
func BenchmarkBaselineNaiveApply(b *testing.B) {
	s := newBenchSession(b)
	start := s.docBefore()
	units := start
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%benchSteps == 0 && i > 0 {
			units = start
		}
		units = naiveApply(units, s.steps[i%benchSteps].rebased)
	}
	reportUpdates(b)
}

// BenchmarkBaselineCopy20KB copies the document's UTF-16 units once per
// update: the floor for any representation that rewrites the whole text.
func BenchmarkBaselineCopy20KB(b *testing.B) {
	src := utf16.Encode([]rune(benchDoc()))
	dst := make([]uint16, len(src))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		copy(dst, src)
	}
	reportUpdates(b)
}

// TestBenchSessionConsistent makes sure the benchmark's precomputed
// session really is a valid history (so the figures measure real work).
func TestBenchSessionConsistent(t *testing.T) {
	s := newBenchSession(t)
	d := NewDoc(s.initial)
	ref := utf16.Encode([]rune(s.initial))
	for i, st := range s.steps {
		out, err := RebaseUpdates(st.pushed, st.accepted)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if err := d.Apply(out[0].Changes); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		ref = naiveApply(ref, st.rebased)
	}
	if d.String() != string(utf16.Decode(ref)) {
		t.Fatal("benchmark session diverges from the naive replay")
	}
	if n := len(utf16.Encode([]rune(benchDoc()))); n < 19_000 || n > 21_000 {
		t.Fatalf("bench document has %d units, want ~20k", n)
	}
}

// BenchmarkApplySize applies keystrokes (type a character, then delete it
// again, at random places) to documents of 20 KB and 2 MB, against the
// naive flat-array rebuild of the same edits: the chunked Doc's cost
// should hardly depend on the size.
func BenchmarkApplySize(b *testing.B) {
	for _, size := range []int{20_000, 2_000_000} {
		var text strings.Builder
		for text.Len() < size {
			text.WriteString(benchDoc())
		}
		units := utf16.Encode([]rune(text.String()))
		bounds := codePointBounds(units)
		r := rand.New(rand.NewPCG(3, 4))
		var edits []*ChangeSet
		for range 1024 {
			p := bounds[r.IntN(len(bounds))]
			ins, _ := New(len(units), Change{From: p, To: p, Insert: "x"})
			del, _ := New(len(units)+1, Change{From: p, To: p + 1})
			edits = append(edits, ins, del)
		}
		b.Run(fmt.Sprintf("doc=%dKB/chunked", size/1000), func(b *testing.B) {
			d := NewDoc(text.String())
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := d.Apply(edits[i%len(edits)]); err != nil {
					b.Fatal(err)
				}
			}
			reportUpdates(b)
		})
		b.Run(fmt.Sprintf("doc=%dKB/naive", size/1000), func(b *testing.B) {
			cur := units
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				cur = naiveApply(cur, edits[i%len(edits)])
			}
			reportUpdates(b)
		})
	}
}
