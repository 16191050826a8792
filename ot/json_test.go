package ot

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		canonical string // AppendJSON output; empty means same as in
		before    int
		after     int
	}{
		{"empty document", `[]`, "", 0, 0},
		{"keep only", `[5]`, "", 5, 5},
		{"insert", `[[0,"x"]]`, "", 0, 1},
		{"delete", `[2,[3],1]`, "", 6, 3},
		{"replace multi-line", `[1,[2,"a","","b"],3]`, "", 6, 8},
		{"empty line insert is a delete", `[[2,""]]`, `[[2]]`, 2, 0},
		{"newline only", `[[0,"",""]]`, "", 0, 1},
		{"whitespace", " [ 1 , [ 2 , \"x\" ] ]\n", `[1,[2,"x"]]`, 3, 2},
		{"adjacent keeps stay apart", `[3,4]`, "", 7, 7},
		{"adjacent insertions stay apart", `[[0,"a"],[0,"b"]]`, "", 0, 2},
		{"astral", `[[0,"😀"]]`, "", 0, 2},
		{"escaped pair", `[[0,"\ud83d\ude00"]]`, `[[0,"😀"]]`, 0, 2},
		{"escapes", `[[0,"\"\\\/\b\f\r\t\u0001\u00e9\u2028"]]`, `[[0,"\"\\/\b\f\r\t\u0001é` + "\u2028" + `"]]`, 0, 10},
		{"html is not escaped", `[[0,"<&>"]]`, "", 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := Parse([]byte(tt.in), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			want := tt.canonical
			if want == "" {
				want = tt.in
			}
			if got := string(cs.AppendJSON(nil)); got != want {
				t.Errorf("JSON %s, want %s", got, want)
			}
			if cs.LenBefore() != tt.before || cs.LenAfter() != tt.after {
				t.Errorf("lengths %d -> %d, want %d -> %d", cs.LenBefore(), cs.LenAfter(), tt.before, tt.after)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		lim  Limits
		want error
		msg  string // part of the message
	}{
		{"empty input", ``, Limits{}, ErrMalformed, "end of input"},
		{"object", `{}`, Limits{}, ErrMalformed, "expected an array"},
		{"not closed", `[1`, Limits{}, ErrMalformed, "element 1"},
		{"trailing comma", `[1,]`, Limits{}, ErrMalformed, "element 1"},
		{"trailing data", `[1] x`, Limits{}, ErrMalformed, "after the change set"},
		{"negative keep", `[-1]`, Limits{}, ErrMalformed, "negative"},
		{"negative delete", `[[-1,"x"]]`, Limits{}, ErrMalformed, "negative"},
		{"fraction", `[1.5]`, Limits{}, ErrMalformed, "not an integer"},
		{"exponent", `[1e3]`, Limits{}, ErrMalformed, "not an integer"},
		{"leading zero", `[01]`, Limits{}, ErrMalformed, "leading zero"},
		{"string element", `["x"]`, Limits{}, ErrMalformed, "got a string"},
		{"null element", `[null]`, Limits{}, ErrMalformed, "got null"},
		{"bool element", `[true]`, Limits{}, ErrMalformed, "got a boolean"},
		{"object element", `[{}]`, Limits{}, ErrMalformed, "got an object"},
		{"nested array", `[[0,["x"]]]`, Limits{}, ErrMalformed, "expected a string"},
		{"number as line", `[[0,1]]`, Limits{}, ErrMalformed, "expected a string"},
		{"string as length", `[["x"]]`, Limits{}, ErrMalformed, "expected a length"},
		{"empty change array", `[[]]`, Limits{}, ErrMalformed, "empty array"},
		{"zero keep", `[0]`, Limits{}, ErrMalformed, "zero"},
		{"no-op change", `[[0]]`, Limits{}, ErrMalformed, "nothing"},
		{"no-op insert", `[[0,""]]`, Limits{}, ErrMalformed, "nothing"},
		{"newline in line", `[[0,"a\nb"]]`, Limits{}, ErrMalformed, "line break"},
		{"escaped newline in line", `[[0,"a\u000ab"]]`, Limits{}, ErrMalformed, "line break"},
		{"raw control character", "[[0,\"a\x01\"]]", Limits{}, ErrMalformed, "control"},
		{"bad escape", `[[0,"\x"]]`, Limits{}, ErrMalformed, "invalid escape"},
		{"short unicode escape", `[[0,"\u12"]]`, Limits{}, ErrMalformed, "\\u"},
		{"unterminated string", `[[0,"abc`, Limits{}, ErrMalformed, "unterminated"},
		{"invalid UTF-8", "[[0,\"\xff\"]]", Limits{}, ErrMalformed, "UTF-8"},
		{"UTF-8 encoded surrogate", "[[0,\"\xed\xa0\x80\"]]", Limits{}, ErrMalformed, "UTF-8"},
		{"lone high surrogate", `[[0,"\ud83d"]]`, Limits{}, ErrSurrogate, "high"},
		{"high then letter", `[[0,"\ud83dx"]]`, Limits{}, ErrSurrogate, "high"},
		{"high then high", `[[0,"\ud83d\ud83d"]]`, Limits{}, ErrSurrogate, "high"},
		{"lone low surrogate", `[[0,"\ude00"]]`, Limits{}, ErrSurrogate, "low"},
		{"too many bytes", `[1,2,3]`, Limits{MaxBytes: 6}, ErrTooLarge, "bytes"},
		{"too many sections", `[1,2,3]`, Limits{MaxSections: 2}, ErrTooLarge, "elements"},
		{"number too long", `[1,[0,"ab"]]`, Limits{MaxLength: 2}, ErrTooLarge, "length"},
		{"length too large", `[100]`, Limits{MaxLength: 99}, ErrTooLarge, "limit of 99"},
		{"huge number", `[99999999999999999999999999]`, Limits{}, ErrTooLarge, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := Parse([]byte(tt.in), tt.lim)
			if err == nil {
				t.Fatalf("accepted as %s", cs)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("error %q does not wrap %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

// TestJSONInterfaces checks that a ChangeSet works inside wire structs
// through encoding/json.
func TestJSONInterfaces(t *testing.T) {
	var msg struct {
		ClientID string     `json:"clientID"`
		Changes  *ChangeSet `json:"changes"`
	}
	in := `{"clientID":"c1","changes":[2,[1,"😀","x"],3]}`
	if err := json.Unmarshal([]byte(in), &msg); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("round trip %s, want %s", out, in)
	}
	err = json.Unmarshal([]byte(`{"changes":[-1]}`), &msg)
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("bad changes: error %v, want ErrMalformed", err)
	}
}

// TestAppendJSONLoneSurrogate: composition can cut an inserted pair in
// half when fed change sets that split pairs; the printer must still emit
// what JSON.stringify would.
func TestAppendJSONLoneSurrogate(t *testing.T) {
	cs := newSet([]int{0, 3}, [][]uint16{{0xd83d, 'a', 0xde00}})
	if got, want := cs.String(), `[[0,"\ud83da\ude00"]]`; got != want {
		t.Errorf("got %s want %s", got, want)
	}
}
