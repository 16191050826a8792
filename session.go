package codebuddy

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Roles in a coding session.
const (
	RoleOwner  = "owner"
	RoleEditor = "editor"
	RoleViewer = "viewer"
)

// RoleRank orders roles so that "at least editor" is a comparison.
func RoleRank(role string) int {
	switch role {
	case RoleOwner:
		return 3
	case RoleEditor:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// Limits of the workspace model.
const (
	SessionNameMaxLen   = 100
	MaxFilesPerSession  = 500
	MaxFileDepth        = 16
	MaxFileNameBytes    = 255
	MaxFileContentBytes = 1 << 20
	MaxMessageChars     = 4000
	MaxPageSize         = 100
	MaxRequestMessage   = 500
)

// Session is a coding session: a shared multi-file project.
type Session struct {
	ID          string
	Name        string
	Language    string
	IsPublic    bool
	VisitorRole string // role of signed-in non-participants when public: editor or viewer
	OwnerID     string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Validate checks a session's own fields (not whether its language exists).
func (s *Session) Validate() error {
	name := strings.TrimSpace(s.Name)
	if name == "" || utf8.RuneCountInString(name) > SessionNameMaxLen {
		return FieldErrorf("name", "must be 1 to %d characters", SessionNameMaxLen)
	}
	if hasControl(name) {
		return FieldErrorf("name", "must not contain control characters")
	}
	if s.Language == "" || len(s.Language) > 32 {
		return FieldErrorf("language", "is required")
	}
	if s.VisitorRole != RoleEditor && s.VisitorRole != RoleViewer {
		return FieldErrorf("visitorRole", "must be editor or viewer")
	}
	return nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return true
		}
	}
	return false
}

// Session list scopes.
const (
	ScopeMine   = "mine"
	ScopeShared = "shared"
	ScopePublic = "public"
	ScopeAll    = "all"
)

// SessionFilter selects sessions visible to UserID.
type SessionFilter struct {
	UserID string
	Scope  string
	Query  string
	Limit  int
	Offset int
}

// Participant is a user with a role in a session.
type Participant struct {
	SessionID string
	UserID    string
	Username  string
	Role      string
	JoinedAt  time.Time
}

// Invite is a share link granting a role.
type Invite struct {
	ID        string
	SessionID string
	CreatedBy string
	Role      string
	ExpiresAt *time.Time
	MaxUses   *int
	Uses      int
	RevokedAt *time.Time
	CreatedAt time.Time
}

// Access request states.
const (
	RequestPending  = "pending"
	RequestAccepted = "accepted"
	RequestRejected = "rejected"
)

// AccessRequest asks the owner of a private session for access.
type AccessRequest struct {
	ID        string
	SessionID string
	UserID    string
	Username  string
	Status    string
	Message   string
	CreatedAt time.Time
	DecidedAt *time.Time
}

// File is a file or folder of a session. Path is derived from the tree.
type File struct {
	ID        string
	SessionID string
	ParentID  *string
	Name      string
	Path      string
	IsFolder  bool
	Content   string
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ValidateFileName applies the naming rules: 1–255 bytes, no '/', '\\', NUL or
// control characters, not "." or "..".
func ValidateFileName(name string) error {
	if name == "" || len(name) > MaxFileNameBytes {
		return FieldErrorf("name", "must be 1 to %d bytes", MaxFileNameBytes)
	}
	if name == "." || name == ".." {
		return FieldErrorf("name", "must not be . or ..")
	}
	if !utf8.ValidString(name) {
		return FieldErrorf("name", "must be valid UTF-8")
	}
	for _, r := range name {
		if r == '/' || r == '\\' || r == 0 || unicode.IsControl(r) {
			return FieldErrorf("name", "must not contain '/', '\\', NUL or control characters")
		}
	}
	return nil
}

// Message is a chat message; Content is plain text, never HTML.
type Message struct {
	ID        string
	SessionID string
	UserID    string
	Username  string
	Content   string
	CreatedAt time.Time
}

// ValidateMessage checks the 1–4000 characters rule.
func ValidateMessage(content string) error {
	if !utf8.ValidString(content) {
		return FieldErrorf("content", "must be valid UTF-8")
	}
	n := utf8.RuneCountInString(content)
	if strings.TrimSpace(content) == "" || n > MaxMessageChars {
		return FieldErrorf("content", "must be 1 to %d characters", MaxMessageChars)
	}
	return nil
}

// Notification kinds.
const (
	NotifyAccessRequested = "access_requested"
	NotifyAccessAccepted  = "access_accepted"
	NotifyAccessRejected  = "access_rejected"
	NotifyInviteAccepted  = "invite_accepted"
)

// Notification is a message for one user.
type Notification struct {
	ID        string
	UserID    string
	Kind      string
	Title     string
	Body      string
	SessionID *string
	IsRead    bool
	CreatedAt time.Time
}

// SessionStore persists sessions and who may use them.
type SessionStore interface {
	// CreateSession stores s, its owner as participant and the starter files in one transaction.
	CreateSession(ctx context.Context, s *Session, starter []*File) error
	Session(ctx context.Context, id string) (*Session, error)
	UpdateSession(ctx context.Context, s *Session) error
	// DeleteSession removes the session and everything that belongs to it.
	DeleteSession(ctx context.Context, id string) error
	ListSessions(ctx context.Context, f SessionFilter) ([]*Session, error)
	// Role is the user's stored role in the session, "" when none.
	Role(ctx context.Context, sessionID, userID string) (string, error)
	Participants(ctx context.Context, sessionID string) ([]*Participant, error)
	SetRole(ctx context.Context, sessionID, userID, role string) error
	RemoveParticipant(ctx context.Context, sessionID, userID string) error

	CreateInvite(ctx context.Context, inv *Invite, hash []byte) error
	Invites(ctx context.Context, sessionID string) ([]*Invite, error)
	RevokeInvite(ctx context.Context, sessionID, inviteID string, now time.Time) error
	// UseInvite consumes one use of the live invite with this hash and makes userID
	// a participant (never lowering an existing role); ENOTFOUND when not usable.
	UseInvite(ctx context.Context, hash []byte, userID string, now time.Time) (*Invite, string, error)

	CreateAccessRequest(ctx context.Context, r *AccessRequest) error
	AccessRequest(ctx context.Context, id string) (*AccessRequest, error)
	AccessRequests(ctx context.Context, sessionID, status string) ([]*AccessRequest, error)
	// DecideAccessRequest moves a pending request to accepted (granting editor) or rejected.
	DecideAccessRequest(ctx context.Context, id, status string, now time.Time) (*AccessRequest, error)
}

// FileStore persists the file tree.
type FileStore interface {
	// Files lists the tree without contents, paths filled in.
	Files(ctx context.Context, sessionID string) ([]*File, error)
	// File returns one file with content and path.
	File(ctx context.Context, id string) (*File, error)
	// CreateFile enforces unique names, the depth and count limits.
	CreateFile(ctx context.Context, f *File) error
	// MoveFile renames and/or reparents; no cycles, no clashes.
	MoveFile(ctx context.Context, id string, parentID *string, name string) (*File, error)
	// DeleteFile removes a file or a folder with everything under it.
	DeleteFile(ctx context.Context, id string) error
}

// MessageStore persists chat.
type MessageStore interface {
	CreateMessage(ctx context.Context, m *Message) error
	// Messages returns up to limit messages older than before (all when empty), newest first.
	Messages(ctx context.Context, sessionID, before string, limit int) ([]*Message, error)
}

// NotificationStore persists notifications.
type NotificationStore interface {
	CreateNotification(ctx context.Context, n *Notification) error
	Notifications(ctx context.Context, userID, before string, limit int, unreadOnly bool) ([]*Notification, error)
	UnreadCount(ctx context.Context, userID string) (int, error)
	MarkRead(ctx context.Context, userID, id string) error
	MarkAllRead(ctx context.Context, userID string) (int64, error)
	DeleteNotification(ctx context.Context, userID, id string) error
}

// File event kinds, as the real-time protocol names them.
const (
	FileCreated = "created"
	FileRenamed = "renamed"
	FileDeleted = "deleted"
)

// Notifier receives workspace events so they can be pushed to open connections.
// Implementations must not block.
type Notifier interface {
	FileChanged(ctx context.Context, event string, f *File)
	ChatPosted(ctx context.Context, m *Message)
	Notified(ctx context.Context, n *Notification)
	// AccessChanged says that what userID may do in the session may have changed
	// (role changed, removed, access granted); userID "" means anyone's (the
	// session's visibility or visitor role changed, or it was deleted). Live
	// connections re-read their role from it.
	AccessChanged(ctx context.Context, sessionID, userID string)
}
