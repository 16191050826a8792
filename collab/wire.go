package collab

import (
	"encoding/json"
	"time"

	"github.com/codebuddy-dev/codebuddy/httpapi"
)

// Client → server message; fields are used by the types that need them.
type inMessage struct {
	Type      string     `json:"type"`
	Session   string     `json:"session"`
	File      string     `json:"file"`
	Version   *int64     `json:"version"`
	Updates   []inUpdate `json:"updates"`
	Selection *Selection `json:"selection"`
	Text      string     `json:"text"`
	Run       string     `json:"run"`
	Data      string     `json:"data"`
	EOF       bool       `json:"eof"`
	// run: the fields of POST /api/execute.
	Language string             `json:"language"`
	Code     string             `json:"code"`
	Files    []httpapi.RunFile  `json:"files"`
	Entry    string             `json:"entry"`
	Stdin    string             `json:"stdin"`
	Limits   *httpapi.RunLimits `json:"limits"`
}

type runMsg struct {
	Type     string                   `json:"type"`
	Event    string                   `json:"event"`
	Run      string                   `json:"run"`
	UserID   string                   `json:"userId"`
	Username string                   `json:"username"`
	Position int                      `json:"position,omitempty"`
	Stream   string                   `json:"stream,omitempty"`
	Data     string                   `json:"data,omitempty"`
	Result   *httpapi.ExecutionResult `json:"result,omitempty"`
}

type inUpdate struct {
	ClientID string          `json:"clientID"`
	Changes  json.RawMessage `json:"changes"`
}

// Selection is CodeMirror's EditorSelection.toJSON form.
type Selection struct {
	Main   int        `json:"main"`
	Ranges []SelRange `json:"ranges"`
}

// SelRange is one selection range.
type SelRange struct {
	Anchor int `json:"anchor"`
	Head   int `json:"head"`
}

// OutUpdate is one update as the server sends it.
type OutUpdate struct {
	ClientID string          `json:"clientID"`
	Changes  json.RawMessage `json:"changes"`
	UserID   string          `json:"userId,omitempty"`
}

type updatesMsg struct {
	Type    string      `json:"type"`
	File    string      `json:"file"`
	Version int64       `json:"version"`
	Updates []OutUpdate `json:"updates"`
}

type docMsg struct {
	Type    string `json:"type"`
	File    string `json:"file"`
	Version int64  `json:"version"`
	Content string `json:"content"`
}

type errorMsg struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	File    string `json:"file,omitempty"`
}

type cursorMsg struct {
	Type      string     `json:"type"`
	UserID    string     `json:"userId"`
	Username  string     `json:"username,omitempty"`
	Color     string     `json:"color,omitempty"`
	File      string     `json:"file"`
	Version   int64      `json:"version"`
	Selection *Selection `json:"selection"`
	// Conn lets the sender's node skip echoing a cursor back to its own connection.
	Conn string `json:"conn,omitempty"`
}

// PresenceEntry is one user in a session as other participants see them.
type PresenceEntry struct {
	UserID   string   `json:"userId"`
	Username string   `json:"username"`
	Color    string   `json:"color"`
	Role     string   `json:"role"`
	Files    []string `json:"files"`
	State    string   `json:"state"` // active or idle
}

type presenceMsg struct {
	Type         string          `json:"type"`
	Participants []PresenceEntry `json:"participants"`
}

type joinedMsg struct {
	Type         string          `json:"type"`
	Session      any             `json:"session"`
	User         any             `json:"user"`
	Role         string          `json:"role"`
	Participants []PresenceEntry `json:"participants"`
	Files        any             `json:"files"`
}

type chatMsg struct {
	Type    string `json:"type"`
	Message any    `json:"message"`
}

type filesMsg struct {
	Type  string `json:"type"`
	Event string `json:"event"`
	File  any    `json:"file"`
}

type notificationMsg struct {
	Type         string `json:"type"`
	Notification any    `json:"notification"`
}

// Broker payloads between nodes.
type fileEnvelope struct {
	Node    string      `json:"node"`
	File    string      `json:"file"`
	Version int64       `json:"version"` // before the first update
	Updates []OutUpdate `json:"updates"`
}

type sessionEnvelope struct {
	Node string `json:"node"`
	Kind string `json:"kind"` // frame (send Frame to local members), presence
	// Frame is a ready-made client message.
	Frame json.RawMessage `json:"frame,omitempty"`
	// SkipConn is a connection that must not receive Frame (the sender).
	SkipConn string `json:"skipConn,omitempty"`
	// Presence is the sending node's local entries for the session.
	Presence []nodePresence `json:"presence,omitempty"`
	// Files to which Frame is limited (cursor frames go to viewers of a file).
	OnlyFile string `json:"onlyFile,omitempty"`
	// UserID is whose access changed (kind "access"; "" for everyone's).
	UserID string `json:"userId,omitempty"`
}

type nodePresence struct {
	Conn       string    `json:"conn"`
	UserID     string    `json:"userId"`
	Username   string    `json:"username"`
	Role       string    `json:"role"`
	Files      []string  `json:"files"`
	LastActive time.Time `json:"lastActive"`
}
