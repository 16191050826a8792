package collab

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/ot"
)

// NormalizeNewlines turns \r\n and \r into \n, as CodeMirror does on load, so
// that lengths on the server and in browsers agree.
func NormalizeNewlines(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// Current returns f with its latest committed content and version.
func (h *Hub) Current(ctx context.Context, f *codebuddy.File) (*codebuddy.File, error) {
	h.mu.Lock()
	d := h.docs[f.ID]
	h.mu.Unlock()
	out := *f
	if d != nil {
		// Another node may have committed updates this one never heard of (a
		// lost broker message, or a node that died between commit and
		// publish): read the log's tail, as opening the file does, so a read
		// never goes back behind what a client was acknowledged. The query
		// runs off the document's goroutine, which keeps taking edits.
		var v int64
		err := d.do(ctx, func() { v = d.version })
		var tail []codebuddy.FileUpdate
		if err == nil {
			var lerr error
			if tail, lerr = h.log.Updates(ctx, f.ID, v, -1); lerr != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				h.logger.Warn("catch up on read", "file", f.ID, "err", lerr)
			}
			err = d.do(ctx, func() {
				if err := d.applyAndBroadcast(tail); err != nil {
					h.logger.Warn("catch up on read", "file", f.ID, "err", err)
				}
				out.Content, out.Version = d.doc.String(), d.version
			})
		}
		if err == nil {
			return &out, nil
		}
	}
	d, err := h.loadDocument(ctx, f.ID, f.SessionID)
	if err != nil {
		return nil, err
	}
	out.Content, out.Version = d.doc.String(), d.version
	return &out, nil
}

// ReplaceContent replaces a file's text through the change log, like a push of
// one change set; baseVersion must be the current version (else ECONFLICT).
func (h *Hub) ReplaceContent(ctx context.Context, u *codebuddy.User, fileID string, baseVersion int64, content string) (*codebuddy.File, error) {
	f, role, err := h.ws.File(ctx, u, fileID)
	if err != nil {
		return nil, err
	}
	if codebuddy.RoleRank(role) < codebuddy.RoleRank(codebuddy.RoleEditor) {
		return nil, codebuddy.Errorf(codebuddy.EFORBIDDEN, "viewers cannot change this session")
	}
	if f.IsFolder {
		return nil, codebuddy.FieldErrorf("content", "a folder has no content")
	}
	if len(content) > codebuddy.MaxFileContentBytes {
		return nil, &codebuddy.Error{Code: codebuddy.ETOOLARGE, Field: "content", Message: fmt.Sprintf("file content is limited to %d bytes", codebuddy.MaxFileContentBytes)}
	}
	content = NormalizeNewlines(content)
	d, err := h.document(ctx, f)
	if err != nil {
		return nil, err
	}
	reply := make(chan error, 1)
	var result *codebuddy.File
	var opErr error
	err = d.do(ctx, func() {
		if baseVersion > d.version {
			// The caller read a version committed on another node that this
			// one has not heard of yet: catch up before judging the base.
			if err := d.catchUpAndBroadcast(ctx); err != nil {
				h.logger.Warn("catch up on replace", "file", d.fileID, "err", err)
			}
		}
		if baseVersion != d.version {
			opErr = codebuddy.Errorf(codebuddy.ECONFLICT, "the file is at version %d, not %d: reload it and apply your change again", d.version, baseVersion)
			return
		}
		cs := d.doc.ChangesTo(content)
		if cs.Empty() {
			out := *f
			out.Content, out.Version = content, d.version
			result = &out
			return
		}
		p := &pushReq{user: u, version: d.version, updates: []ot.Update{{ClientID: "rest-" + newConnID(), Changes: cs}},
			reply: reply, result: func(v int64) {
				out := *f
				out.Content, out.Version, out.UpdatedAt = content, v, h.now()
				result = &out
			}}
		d.handlePushes([]*pushReq{p})
		if e := <-reply; e != nil {
			if pe, ok := e.(*pushError); ok {
				opErr = codebuddy.Errorf(codebuddy.EINVALID, "%s", pe.msg)
			} else {
				opErr = e
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if opErr != nil {
		return nil, opErr
	}
	return result, nil
}

// HistoryEntry is one update of a file's log as the history API shows it.
type HistoryEntry struct {
	Version   int64           `json:"version"`
	ClientID  string          `json:"clientId"`
	UserID    string          `json:"userId,omitempty"`
	Changes   json.RawMessage `json:"changes"`
	CreatedAt time.Time       `json:"createdAt"`
}

// MaxHistoryPage bounds one history response.
const MaxHistoryPage = 1000

// History lists the updates of a file with from < version <= to (to < 0: up to the
// newest), at most MaxHistoryPage; any participant of the session may read it.
func (h *Hub) History(ctx context.Context, u *codebuddy.User, fileID string, from, to int64) ([]HistoryEntry, error) {
	if _, _, err := h.ws.File(ctx, u, fileID); err != nil {
		return nil, err
	}
	if from < 0 {
		return nil, codebuddy.FieldErrorf("from", "must not be negative")
	}
	if to >= 0 && to < from {
		return nil, codebuddy.FieldErrorf("to", "must not be below from")
	}
	if to < 0 || to-from > MaxHistoryPage {
		to = from + MaxHistoryPage
	}
	ups, err := h.log.Updates(ctx, fileID, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]HistoryEntry, len(ups))
	for i, u := range ups {
		out[i] = HistoryEntry{Version: u.Version, ClientID: u.ClientID, UserID: u.UserID, Changes: json.RawMessage(u.Changes), CreatedAt: u.CreatedAt}
	}
	return out, nil
}

// ContentAt returns a file's text at a version (version < 0: at time at).
func (h *Hub) ContentAt(ctx context.Context, u *codebuddy.User, fileID string, version int64, at *time.Time) (int64, string, error) {
	if _, _, err := h.ws.File(ctx, u, fileID); err != nil {
		return 0, "", err
	}
	if at != nil {
		v, err := h.log.VersionAt(ctx, fileID, *at)
		if err != nil {
			return 0, "", err
		}
		version = v
	}
	head, err := h.log.Head(ctx, fileID)
	if err != nil {
		return 0, "", err
	}
	if version < 0 || version > head {
		return 0, "", codebuddy.FieldErrorf("version", "must be between 0 and %d", head)
	}
	snap, err := h.log.LatestSnapshot(ctx, fileID, version)
	if err != nil {
		return 0, "", err
	}
	doc := ot.NewDoc(snap.Content)
	ups, err := h.log.Updates(ctx, fileID, snap.Version, version)
	if err != nil {
		return 0, "", err
	}
	for _, up := range ups {
		cs, err := ot.Parse([]byte(up.Changes), ot.Limits{})
		if err != nil {
			return 0, "", fmt.Errorf("stored update %d: %w", up.Version, err)
		}
		if err := doc.Apply(cs); err != nil {
			return 0, "", fmt.Errorf("stored update %d: %w", up.Version, err)
		}
	}
	return version, doc.String(), nil
}
