package collabclient

import (
	"encoding/json"
	"reflect"
	"testing"
)

// parseUpdates must decode exactly what encoding/json decodes, or decline.
func TestParseUpdatesAgreesWithEncodingJSON(t *testing.T) {
	type frame struct {
		Type    string           `json:"type"`
		File    string           `json:"file"`
		Version int64            `json:"version"`
		Updates []receivedUpdate `json:"updates"`
	}
	accepted := []string{
		`{"type":"updates","file":"f1","version":7,"updates":[{"clientID":"a","changes":[3,[0,"x"],2],"userId":"u1"}]}`,
		`{"type":"updates","file":"f1","version":0,"updates":[]}`,
		` { "version" : 12 , "type" : "updates", "file":"f", "updates" : [ {"changes": [[0,"{\"]}",""],5] , "clientID":"c"} , {"clientID":"d","changes":[1]} ] } `,
		`{"type":"updates","file":"f","version":1,"extra":{"a":[1,{"b":"]"}],"c":null},"n":-3.5e2,"t":true,"updates":[{"clientID":"a","changes":[1],"more":"x"}]}`,
		`{"type":"updates","file":"f","version":-1,"updates":[{"clientID":"a","changes":["é😀",1]}]}`,
	}
	for _, in := range accepted {
		file, version, ups, ok := parseUpdates([]byte(in))
		if !ok {
			t.Errorf("declined %s", in)
			continue
		}
		var want frame
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatalf("test input %s: %v", in, err)
		}
		got := frame{Type: "updates", File: file, Version: version, Updates: ups}
		for i := range got.Updates {
			// encoding/json keeps RawMessage bytes as they are: compact both sides.
			var g, w any
			_ = json.Unmarshal(got.Updates[i].Changes, &g)
			_ = json.Unmarshal(want.Updates[i].Changes, &w)
			if !reflect.DeepEqual(g, w) {
				t.Errorf("%s: update %d changes %s, encoding/json %s", in, i, got.Updates[i].Changes, want.Updates[i].Changes)
			}
			got.Updates[i].Changes, want.Updates[i].Changes = nil, nil
		}
		if want.Updates == nil {
			want.Updates = []receivedUpdate{}
		}
		if got.Updates == nil {
			got.Updates = []receivedUpdate{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got  %+v\n want %+v", in, got, want)
		}
	}
	declined := []string{
		`{"type":"doc","file":"f","version":1,"content":"x"}`,
		`{"type":"updates","file":"f\u0031","version":1,"updates":[]}`, // escapes go to encoding/json
		`{"type":"updates","file":"f","version":1,"updates":[{"clientID":"a","changes":[1]}]`,
		`{"type":"updates","file":"f","version":1,"updates":[{"clientID":"a","changes":[1]}]}x`,
		`{"type":"updates","file":"f","version":1.5,"updates":[]}`,
		`{"type":"updates","file":"f","version":1,"bad":[1,,2],"updates":[]}`,
		`{"type":"updates","file":"f","version":1,"updates":[{"clientID":"a","changes":[1]},]}`,
		`{"file":"f","version":1,"updates":[]}`,
		`[]`,
		``,
	}
	for _, in := range declined {
		if _, _, _, ok := parseUpdates([]byte(in)); ok {
			t.Errorf("accepted %s", in)
		}
	}
}

func BenchmarkFrameDecode(b *testing.B) {
	frame := []byte(`{"type":"updates","file":"0193a4f2-7c1e-7b3a-9d2e-5f6a7b8c9d0e","version":123456,"updates":[` +
		`{"clientID":"a1b2c3d4e5f6","changes":[1534,[0,"ab( "],466],"userId":"0193a4f2-7c1e-7b3a-9d2e-000000000001"},` +
		`{"clientID":"b1b2c3d4e5f6","changes":[12,[2],1990],"userId":"0193a4f2-7c1e-7b3a-9d2e-000000000002"},` +
		`{"clientID":"c1b2c3d4e5f6","changes":[800,[0,"x\n"],1198],"userId":"0193a4f2-7c1e-7b3a-9d2e-000000000003"},` +
		`{"clientID":"d1b2c3d4e5f6","changes":[1000,[1],999],"userId":"0193a4f2-7c1e-7b3a-9d2e-000000000004"},` +
		`{"clientID":"e1b2c3d4e5f6","changes":[3,[0,"zz"],1996],"userId":"0193a4f2-7c1e-7b3a-9d2e-000000000005"},` +
		`{"clientID":"f1b2c3d4e5f6","changes":[44,[0,"q"],1955],"userId":"0193a4f2-7c1e-7b3a-9d2e-000000000006"},` +
		`{"clientID":"g1b2c3d4e5f6","changes":[1999,[0,"()"]],"userId":"0193a4f2-7c1e-7b3a-9d2e-000000000007"}]}`)
	b.Run("baseline-encoding-json", func(b *testing.B) {
		for b.Loop() {
			var m serverFrame
			if err := json.Unmarshal(frame, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parseUpdates", func(b *testing.B) {
		for b.Loop() {
			if _, _, _, ok := parseUpdates(frame); !ok {
				b.Fatal("declined")
			}
		}
	})
}
