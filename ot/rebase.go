package ot

import "fmt"

// Rebase maps cs over each of over in turn, so that it applies after all of
// them; over[0] must start from the document cs starts from, and each next
// one from the document the previous produces. The accepted changes are
// treated as having happened first (Map with before false).
//
// Mapping step by step is deliberate: mapping over the composition of over
// can order concurrent insertions differently (see DESIGN.md), and browser
// clients, which receive updates one at a time, map step by step.
func Rebase(cs *ChangeSet, over []*ChangeSet) (*ChangeSet, error) {
	for i, o := range over {
		next, err := cs.Map(o, false)
		if err != nil {
			return nil, fmt.Errorf("rebase over accepted change %d of %d: %w", i+1, len(over), err)
		}
		cs = next
	}
	return cs, nil
}

// Update is one change set in a file's history with the editor instance
// that made it (CodeMirror collab's clientID).
type Update struct {
	ClientID string
	Changes  *ChangeSet
}

// RebaseUpdates prepares updates a client pushed from an old version for the
// current one. accepted holds the updates committed since that version, in
// version order. Pushed updates that were already accepted are dropped: as
// in @codemirror/collab's rebaseUpdates, each accepted update whose ClientID
// equals that of the next pushed one is taken to be that update (a client
// resending after a lost acknowledgement). The rest are mapped step by step
// over every other accepted update, exactly as a client that receives those
// updates one at a time maps its own unconfirmed ones, so both sides agree.
// The result is in order; each element applies after the previous one.
// A pushed update that does not fit the document at its base version gives
// ErrLengthMismatch (or, when nothing is mapped, fails Doc.Check later).
// Cost grows with len(pushed) × len(accepted) maps of small sets.
func RebaseUpdates(pushed, accepted []Update) ([]Update, error) {
	// foreign holds the accepted updates the client has not seen, each
	// expressed so that the first applies to the client's document after
	// its pushed updates handled so far, and each next one after the
	// previous.
	var foreign []*ChangeSet
	skip := 0
	for i, u := range accepted {
		if skip < len(pushed) && pushed[skip].ClientID == u.ClientID {
			var err error
			if _, foreign, err = mapBoth(pushed[skip].Changes, foreign, true); err != nil {
				return nil, fmt.Errorf("rebase: own update %d (accepted %d): %w", skip, i, err)
			}
			skip++
			continue
		}
		foreign = append(foreign, u.Changes)
	}
	rest := pushed[skip:]
	if len(rest) == 0 {
		return nil, nil
	}
	out := make([]Update, len(rest))
	for k, u := range rest {
		cs, next, err := mapBoth(u.Changes, foreign, k < len(rest)-1)
		if err != nil {
			return nil, fmt.Errorf("rebase: pushed update %d: %w", skip+k, err)
		}
		foreign = next
		out[k] = Update{ClientID: u.ClientID, Changes: cs}
	}
	return out, nil
}

// mapBoth maps own over the chain foreign (own first at each step loses
// ties: the foreign changes were accepted before it) and the chain over own,
// returning own after the chain and, when wantMoved, the chain after own.
// foreign is not modified.
func mapBoth(own *ChangeSet, foreign []*ChangeSet, wantMoved bool) (*ChangeSet, []*ChangeSet, error) {
	if len(foreign) == 0 {
		return own, nil, nil
	}
	var moved []*ChangeSet
	if wantMoved {
		moved = make([]*ChangeSet, len(foreign))
	}
	for i, f := range foreign {
		ownNext, err := own.Map(f, false)
		if err != nil {
			return nil, nil, fmt.Errorf("over accepted change %d of %d: %w", i+1, len(foreign), err)
		}
		if wantMoved {
			if moved[i], err = f.Map(own, true); err != nil {
				return nil, nil, fmt.Errorf("accepted change %d of %d over it: %w", i+1, len(foreign), err)
			}
		}
		own = ownNext
	}
	return own, moved, nil
}
