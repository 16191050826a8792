// Package workspace is the coding-session service: it decides who may see and change
// a session, its participants, invites, access requests, files, chat and
// notifications, and delegates storage to the store interfaces.
package workspace

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/auth"
)

// Store is everything the service persists through.
type Store interface {
	codebuddy.SessionStore
	codebuddy.FileStore
	codebuddy.MessageStore
	codebuddy.NotificationStore
	// InviteByHash finds an invite without using it.
	InviteByHash(ctx context.Context, hash []byte) (*codebuddy.Invite, error)
	// RolesOf returns a user's stored role in each of the sessions that has one.
	RolesOf(ctx context.Context, userID string, sessionIDs []string) (map[string]string, error)
}

// Options wire the service.
type Options struct {
	Store Store
	// Starter returns the files a new session of language starts with; ok=false for an unknown language.
	Starter func(language string) (files []*codebuddy.File, ok bool)
	// Notifier receives events for live delivery; nil drops them.
	Notifier codebuddy.Notifier
	Now      func() time.Time
}

// Service is the workspace service.
type Service struct {
	store    Store
	starter  func(string) ([]*codebuddy.File, bool)
	notifier codebuddy.Notifier
	now      func() time.Time
}

// New returns the service.
func New(o Options) *Service {
	s := &Service{store: o.Store, starter: o.Starter, notifier: o.Notifier, now: o.Now}
	if s.now == nil {
		s.now = func() time.Time { return time.Now().UTC() }
	}
	if s.notifier == nil {
		s.notifier = nopNotifier{}
	}
	return s
}

// SetNotifier installs the live-delivery sink (the real-time hub is built after the service).
func (s *Service) SetNotifier(n codebuddy.Notifier) {
	if n != nil {
		s.notifier = n
	}
}

type nopNotifier struct{}

func (nopNotifier) FileChanged(context.Context, string, *codebuddy.File) {}
func (nopNotifier) ChatPosted(context.Context, *codebuddy.Message)       {}
func (nopNotifier) Notified(context.Context, *codebuddy.Notification)    {}
func (nopNotifier) AccessChanged(context.Context, string, string)        {}

var errNoSession = codebuddy.Errorf(codebuddy.ENOTFOUND, "session not found")

// Access returns the session and the user's effective role: the stored role, or the
// visitor role of a public session. A private session the user has no part in is
// ENOTFOUND, so its existence does not leak.
func (s *Service) Access(ctx context.Context, u *codebuddy.User, sessionID string) (*codebuddy.Session, string, error) {
	if u == nil {
		return nil, "", codebuddy.Errorf(codebuddy.EUNAUTHORIZED, "sign in first")
	}
	sess, err := s.store.Session(ctx, sessionID)
	if err != nil {
		if codebuddy.ErrorCode(err) == codebuddy.ENOTFOUND {
			return nil, "", errNoSession
		}
		return nil, "", err
	}
	role, err := s.store.Role(ctx, sessionID, u.ID)
	if err != nil {
		return nil, "", err
	}
	role = effectiveRole(sess, role)
	if role == "" {
		return nil, "", errNoSession
	}
	return sess, role, nil
}

// effectiveRole is what a user with the stored role may do: on a public session
// never less than a visitor, since leaving would give them the visitor role anyway
// (a viewer participant of a session whose visitors edit, or someone who opened a
// viewer link there, must not end up with fewer rights than a stranger).
func effectiveRole(sess *codebuddy.Session, stored string) string {
	if sess.IsPublic && codebuddy.RoleRank(sess.VisitorRole) > codebuddy.RoleRank(stored) {
		return sess.VisitorRole
	}
	return stored
}

// require is Access plus a minimum role; a visible session with too low a role is EFORBIDDEN.
func (s *Service) require(ctx context.Context, u *codebuddy.User, sessionID, minRole string) (*codebuddy.Session, string, error) {
	sess, role, err := s.Access(ctx, u, sessionID)
	if err != nil {
		return nil, "", err
	}
	if codebuddy.RoleRank(role) < codebuddy.RoleRank(minRole) {
		switch minRole {
		case codebuddy.RoleOwner:
			return nil, "", codebuddy.Errorf(codebuddy.EFORBIDDEN, "only the session's owner may do this")
		default:
			return nil, "", codebuddy.Errorf(codebuddy.EFORBIDDEN, "viewers cannot change this session")
		}
	}
	return sess, role, nil
}

// SessionInput creates or patches a session.
type SessionInput struct {
	Name        *string
	Language    *string
	IsPublic    *bool
	VisitorRole *string
}

// CreateSession creates a session owned by u with its language's starter files.
func (s *Service) CreateSession(ctx context.Context, u *codebuddy.User, in SessionInput) (*codebuddy.Session, error) {
	sess := &codebuddy.Session{OwnerID: u.ID, VisitorRole: codebuddy.RoleViewer}
	if in.Name != nil {
		sess.Name = *in.Name
	}
	if in.Language != nil {
		sess.Language = *in.Language
	}
	if in.IsPublic != nil {
		sess.IsPublic = *in.IsPublic
	}
	if in.VisitorRole != nil {
		sess.VisitorRole = *in.VisitorRole
	}
	if err := sess.Validate(); err != nil {
		return nil, err
	}
	starter, ok := s.starterFor(sess.Language)
	if !ok {
		return nil, codebuddy.FieldErrorf("language", "unknown language %q (see GET /api/languages)", sess.Language)
	}
	if err := s.store.CreateSession(ctx, sess, starter); err != nil {
		return nil, err
	}
	return sess, nil
}

func (s *Service) starterFor(language string) ([]*codebuddy.File, bool) {
	if s.starter == nil {
		return nil, true
	}
	return s.starter(language)
}

// ListSessions lists sessions visible to u.
func (s *Service) ListSessions(ctx context.Context, u *codebuddy.User, f codebuddy.SessionFilter) ([]*codebuddy.Session, error) {
	switch f.Scope {
	case "", codebuddy.ScopeAll, codebuddy.ScopeMine, codebuddy.ScopeShared, codebuddy.ScopePublic:
	default:
		return nil, codebuddy.FieldErrorf("scope", "must be mine, shared, public or all")
	}
	if utf8.RuneCountInString(f.Query) > 100 {
		return nil, codebuddy.FieldErrorf("q", "must be at most 100 characters")
	}
	f.UserID = u.ID
	return s.store.ListSessions(ctx, f)
}

// Roles returns the role u acts with in each of sessions (as Access would answer),
// keyed by session id; listings use it to show the caller's role.
func (s *Service) Roles(ctx context.Context, u *codebuddy.User, sessions []*codebuddy.Session) (map[string]string, error) {
	ids := make([]string, len(sessions))
	for i, sess := range sessions {
		ids[i] = sess.ID
	}
	stored, err := s.store.RolesOf(ctx, u.ID, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(sessions))
	for _, sess := range sessions {
		if role := effectiveRole(sess, stored[sess.ID]); role != "" {
			out[sess.ID] = role
		}
	}
	return out, nil
}

// UpdateSession changes name, language, visibility or visitor role (owner only).
func (s *Service) UpdateSession(ctx context.Context, u *codebuddy.User, id string, in SessionInput) (*codebuddy.Session, error) {
	sess, _, err := s.require(ctx, u, id, codebuddy.RoleOwner)
	if err != nil {
		return nil, err
	}
	if in.Name != nil {
		sess.Name = *in.Name
	}
	if in.Language != nil {
		if _, ok := s.starterFor(*in.Language); !ok {
			return nil, codebuddy.FieldErrorf("language", "unknown language %q", *in.Language)
		}
		sess.Language = *in.Language
	}
	if in.IsPublic != nil {
		sess.IsPublic = *in.IsPublic
	}
	if in.VisitorRole != nil {
		sess.VisitorRole = *in.VisitorRole
	}
	if err := s.store.UpdateSession(ctx, sess); err != nil {
		return nil, err
	}
	if in.IsPublic != nil || in.VisitorRole != nil {
		s.notifier.AccessChanged(ctx, sess.ID, "")
	}
	return sess, nil
}

// DeleteSession removes a session and everything in it (owner only).
func (s *Service) DeleteSession(ctx context.Context, u *codebuddy.User, id string) error {
	if _, _, err := s.require(ctx, u, id, codebuddy.RoleOwner); err != nil {
		return err
	}
	if err := s.store.DeleteSession(ctx, id); err != nil {
		return err
	}
	s.notifier.AccessChanged(ctx, id, "")
	return nil
}

// Participants lists who has access (any participant or visitor may look).
func (s *Service) Participants(ctx context.Context, u *codebuddy.User, id string) ([]*codebuddy.Participant, error) {
	if _, _, err := s.Access(ctx, u, id); err != nil {
		return nil, err
	}
	return s.store.Participants(ctx, id)
}

// SetRole changes a participant's role (owner only; the owner's own role is fixed).
func (s *Service) SetRole(ctx context.Context, u *codebuddy.User, id, userID, role string) error {
	sess, _, err := s.require(ctx, u, id, codebuddy.RoleOwner)
	if err != nil {
		return err
	}
	if role != codebuddy.RoleEditor && role != codebuddy.RoleViewer {
		return codebuddy.FieldErrorf("role", "must be editor or viewer")
	}
	if userID == sess.OwnerID {
		return codebuddy.Errorf(codebuddy.ECONFLICT, "the owner's role cannot change")
	}
	current, err := s.store.Role(ctx, id, userID)
	if err != nil {
		return err
	}
	if current == "" {
		return codebuddy.Errorf(codebuddy.ENOTFOUND, "participant not found")
	}
	if err := s.store.SetRole(ctx, id, userID, role); err != nil {
		return err
	}
	s.notifier.AccessChanged(ctx, id, userID)
	return nil
}

// RemoveParticipant removes userID: the owner may remove anyone else, and anyone may leave.
func (s *Service) RemoveParticipant(ctx context.Context, u *codebuddy.User, id, userID string) error {
	sess, role, err := s.Access(ctx, u, id)
	if err != nil {
		return err
	}
	if userID == sess.OwnerID {
		return codebuddy.Errorf(codebuddy.ECONFLICT, "the owner cannot leave their own session; delete it instead")
	}
	if userID != u.ID && role != codebuddy.RoleOwner {
		return codebuddy.Errorf(codebuddy.EFORBIDDEN, "only the session's owner may remove participants")
	}
	if err := s.store.RemoveParticipant(ctx, id, userID); err != nil {
		return err
	}
	s.notifier.AccessChanged(ctx, id, userID)
	return nil
}

// Invite limits.
const (
	MaxInviteTTL  = 90 * 24 * time.Hour
	MaxInviteUses = 1000
	InvitePrefix  = "inv_"
)

// CreateInvite makes a share link for role (owner only). The token is returned once.
func (s *Service) CreateInvite(ctx context.Context, u *codebuddy.User, id, role string, ttl time.Duration, maxUses *int) (*codebuddy.Invite, string, error) {
	if _, _, err := s.require(ctx, u, id, codebuddy.RoleOwner); err != nil {
		return nil, "", err
	}
	if role != codebuddy.RoleEditor && role != codebuddy.RoleViewer {
		return nil, "", codebuddy.FieldErrorf("role", "must be editor or viewer")
	}
	if ttl < 0 || ttl > MaxInviteTTL {
		return nil, "", codebuddy.FieldErrorf("expiresInHours", "must be between 0 (never) and %d hours", int(MaxInviteTTL/time.Hour))
	}
	if maxUses != nil && (*maxUses < 1 || *maxUses > MaxInviteUses) {
		return nil, "", codebuddy.FieldErrorf("maxUses", "must be between 1 and %d", MaxInviteUses)
	}
	secret, err := auth.NewSecret()
	if err != nil {
		return nil, "", err
	}
	token := InvitePrefix + strings.TrimPrefix(secret, auth.TokenPrefix)
	inv := &codebuddy.Invite{SessionID: id, CreatedBy: u.ID, Role: role, MaxUses: maxUses}
	if ttl > 0 {
		exp := s.now().Add(ttl)
		inv.ExpiresAt = &exp
	}
	if err := s.store.CreateInvite(ctx, inv, auth.HashToken(token)); err != nil {
		return nil, "", err
	}
	return inv, token, nil
}

// Invites lists a session's share links (owner only).
func (s *Service) Invites(ctx context.Context, u *codebuddy.User, id string) ([]*codebuddy.Invite, error) {
	if _, _, err := s.require(ctx, u, id, codebuddy.RoleOwner); err != nil {
		return nil, err
	}
	return s.store.Invites(ctx, id)
}

// RevokeInvite disables a share link (owner only).
func (s *Service) RevokeInvite(ctx context.Context, u *codebuddy.User, id, inviteID string) error {
	if _, _, err := s.require(ctx, u, id, codebuddy.RoleOwner); err != nil {
		return err
	}
	return s.store.RevokeInvite(ctx, id, inviteID, s.now())
}

// AcceptInvite makes u a participant with the invite's role and tells the owner.
func (s *Service) AcceptInvite(ctx context.Context, u *codebuddy.User, token string) (*codebuddy.Session, string, error) {
	if !strings.HasPrefix(token, InvitePrefix) || len(token) > 128 {
		return nil, "", codebuddy.Errorf(codebuddy.ENOTFOUND, "invite not found")
	}
	hash := auth.HashToken(token)
	// The role before decides whether the owner hears about it: opening a link
	// again must not notify again. A failed look-up only costs that check.
	var before string
	if inv, err := s.store.InviteByHash(ctx, hash); err == nil {
		before, _ = s.store.Role(ctx, inv.SessionID, u.ID)
	}
	inv, role, err := s.store.UseInvite(ctx, hash, u.ID, s.now())
	if err != nil {
		return nil, "", err
	}
	sess, err := s.store.Session(ctx, inv.SessionID)
	if err != nil {
		return nil, "", err
	}
	if role != before {
		s.notifier.AccessChanged(ctx, sess.ID, u.ID)
	}
	if role == inv.Role && role != before && u.ID != sess.OwnerID {
		s.notify(ctx, sess.OwnerID, codebuddy.NotifyInviteAccepted, sess,
			u.Username+" joined "+sess.Name, u.Username+" accepted your invite as "+role+".")
	}
	return sess, effectiveRole(sess, role), nil
}

func (s *Service) notify(ctx context.Context, userID, kind string, sess *codebuddy.Session, title, body string) {
	sid := sess.ID
	n := &codebuddy.Notification{UserID: userID, Kind: kind, Title: title, Body: body, SessionID: &sid}
	if err := s.store.CreateNotification(ctx, n); err != nil {
		return // a lost notification must not undo the action it reports
	}
	s.notifier.Notified(ctx, n)
}

// RequestAccess asks the owner of a session u cannot use yet for access. The session
// must exist; its owner gets a notification.
func (s *Service) RequestAccess(ctx context.Context, u *codebuddy.User, id, message string) (*codebuddy.AccessRequest, error) {
	if utf8.RuneCountInString(message) > codebuddy.MaxRequestMessage {
		return nil, codebuddy.FieldErrorf("message", "must be at most %d characters", codebuddy.MaxRequestMessage)
	}
	sess, err := s.store.Session(ctx, id)
	if err != nil {
		if codebuddy.ErrorCode(err) == codebuddy.ENOTFOUND {
			return nil, errNoSession
		}
		return nil, err
	}
	role, err := s.store.Role(ctx, id, u.ID)
	if err != nil {
		return nil, err
	}
	// A visitor already works with the visitor role; only a viewer's request means anything.
	role = effectiveRole(sess, role)
	if codebuddy.RoleRank(role) >= codebuddy.RoleRank(codebuddy.RoleEditor) {
		return nil, codebuddy.Errorf(codebuddy.ECONFLICT, "you already have edit access to this session")
	}
	r := &codebuddy.AccessRequest{SessionID: id, UserID: u.ID, Username: u.Username, Message: message}
	if err := s.store.CreateAccessRequest(ctx, r); err != nil {
		return nil, err
	}
	s.notify(ctx, sess.OwnerID, codebuddy.NotifyAccessRequested, sess,
		u.Username+" asks for access to "+sess.Name, message)
	return r, nil
}

// AccessRequests lists a session's requests (owner only); status "" means all.
func (s *Service) AccessRequests(ctx context.Context, u *codebuddy.User, id, status string) ([]*codebuddy.AccessRequest, error) {
	switch status {
	case "", codebuddy.RequestPending, codebuddy.RequestAccepted, codebuddy.RequestRejected:
	default:
		return nil, codebuddy.FieldErrorf("status", "must be pending, accepted or rejected")
	}
	if _, _, err := s.require(ctx, u, id, codebuddy.RoleOwner); err != nil {
		return nil, err
	}
	return s.store.AccessRequests(ctx, id, status)
}

// DecideAccessRequest accepts (granting editor) or rejects a request; only the owner
// of its session may. Those who cannot see the session get ENOTFOUND, its other
// participants and visitors EFORBIDDEN, as for every other owner-only action. The
// requester is notified.
func (s *Service) DecideAccessRequest(ctx context.Context, u *codebuddy.User, requestID, status string) (*codebuddy.AccessRequest, error) {
	if status != codebuddy.RequestAccepted && status != codebuddy.RequestRejected {
		return nil, codebuddy.FieldErrorf("status", "must be accepted or rejected")
	}
	r, err := s.store.AccessRequest(ctx, requestID)
	if err != nil {
		return nil, err
	}
	sess, role, err := s.Access(ctx, u, r.SessionID)
	if err != nil {
		if codebuddy.ErrorCode(err) == codebuddy.ENOTFOUND {
			return nil, codebuddy.Errorf(codebuddy.ENOTFOUND, "request not found")
		}
		return nil, err
	}
	if role != codebuddy.RoleOwner {
		return nil, codebuddy.Errorf(codebuddy.EFORBIDDEN, "only the session's owner may answer access requests")
	}
	r, err = s.store.DecideAccessRequest(ctx, requestID, status, s.now())
	if err != nil {
		return nil, err
	}
	if status == codebuddy.RequestAccepted {
		s.notifier.AccessChanged(ctx, sess.ID, r.UserID)
		s.notify(ctx, r.UserID, codebuddy.NotifyAccessAccepted, sess, "Access granted to "+sess.Name,
			u.Username+" accepted your request; you can now edit.")
	} else {
		s.notify(ctx, r.UserID, codebuddy.NotifyAccessRejected, sess, "Access to "+sess.Name+" declined",
			u.Username+" declined your request.")
	}
	return r, nil
}
