package ot_test

import (
	"fmt"

	"github.com/codebuddy-dev/codebuddy/ot"
)

// A client pushes an edit made at version 1 while another client's edit
// was accepted as version 2: the server rebases the push over it, checks
// and applies it, and stores and broadcasts the printed result.
func ExampleRebaseUpdates() {
	doc := ot.NewDoc("hello world")
	accepted, _ := ot.Parse([]byte(`[5,[0,","],6]`), ot.Limits{}) // version 1 -> 2
	if err := doc.Apply(accepted); err != nil {
		panic(err)
	}

	pushed, err := ot.Parse([]byte(`[11,[0,"!"]]`), ot.Limits{}) // based on version 1
	if err != nil {
		panic(err)
	}
	out, err := ot.RebaseUpdates(
		[]ot.Update{{ClientID: "alice", Changes: pushed}},
		[]ot.Update{{ClientID: "bob", Changes: accepted}},
	)
	if err != nil {
		panic(err)
	}
	for _, u := range out {
		if err := doc.Check(u.Changes); err != nil {
			panic(err) // reply with an invalid_change error
		}
		stored := u.Changes.AppendJSON(nil) // commit as version 3, then:
		if err := doc.Apply(u.Changes); err != nil {
			panic(err)
		}
		fmt.Printf("%s %s\n", u.ClientID, stored)
	}
	fmt.Println(doc)
	// Output:
	// alice [12,[0,"!"]]
	// hello, world!
}

// Cursor positions are mapped over each update like the change sets.
func ExampleChangeSet_MapPos() {
	cs, _ := ot.Parse([]byte(`[2,[0,"😀"],3]`), ot.Limits{})
	before, _ := cs.MapPos(2, -1)
	after, _ := cs.MapPos(2, 1)
	fmt.Println(before, after)
	// Output: 2 4
}
