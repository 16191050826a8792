package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/codebuddy-dev/codebuddy"
)

var (
	_ codebuddy.SessionStore      = (*DB)(nil)
	_ codebuddy.FileStore         = (*DB)(nil)
	_ codebuddy.MessageStore      = (*DB)(nil)
	_ codebuddy.NotificationStore = (*DB)(nil)
)

type sessionRow struct {
	bun.BaseModel `bun:"table:sessions"`

	ID          string    `bun:"id,pk"`
	Name        string    `bun:"name"`
	Language    string    `bun:"language"`
	IsPublic    bool      `bun:"is_public"`
	VisitorRole string    `bun:"visitor_role"`
	OwnerID     string    `bun:"owner_id"`
	CreatedAt   time.Time `bun:"created_at"`
	UpdatedAt   time.Time `bun:"updated_at"`
}

func (r *sessionRow) domain() *codebuddy.Session {
	return &codebuddy.Session{ID: r.ID, Name: r.Name, Language: r.Language, IsPublic: r.IsPublic,
		VisitorRole: r.VisitorRole, OwnerID: r.OwnerID, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

type participantRow struct {
	bun.BaseModel `bun:"table:participants"`

	SessionID string    `bun:"session_id,pk"`
	UserID    string    `bun:"user_id,pk"`
	Role      string    `bun:"role"`
	CreatedAt time.Time `bun:"created_at"`
}

// CreateSession implements codebuddy.SessionStore.
func (db *DB) CreateSession(ctx context.Context, s *codebuddy.Session, starter []*codebuddy.File) error {
	if s.ID == "" {
		s.ID = db.NewID()
	}
	now := db.Now()
	s.CreatedAt, s.UpdatedAt = now, now
	if err := s.Validate(); err != nil {
		return err
	}
	// The caller gets back what is stored, so a trimmed name is trimmed for it too.
	s.Name = strings.TrimSpace(s.Name)
	row := &sessionRow{ID: s.ID, Name: s.Name, Language: s.Language, IsPublic: s.IsPublic,
		VisitorRole: s.VisitorRole, OwnerID: s.OwnerID, CreatedAt: now, UpdatedAt: now}
	return db.write.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			if isForeignKeyViolation(err) {
				return codebuddy.Errorf(codebuddy.ENOTFOUND, "owner not found")
			}
			return fmt.Errorf("insert session: %w", err)
		}
		p := &participantRow{SessionID: s.ID, UserID: s.OwnerID, Role: codebuddy.RoleOwner, CreatedAt: now}
		if _, err := tx.NewInsert().Model(p).Exec(ctx); err != nil {
			return fmt.Errorf("insert owner: %w", err)
		}
		for _, f := range starter {
			f.SessionID = s.ID
			if f.ID == "" {
				f.ID = db.NewID()
			}
			f.CreatedAt, f.UpdatedAt = now, now
			if _, err := tx.NewInsert().Model(fileRowOf(f)).Exec(ctx); err != nil {
				return fmt.Errorf("insert starter file: %w", err)
			}
		}
		return nil
	})
}

// Session implements codebuddy.SessionStore.
func (db *DB) Session(ctx context.Context, id string) (*codebuddy.Session, error) {
	var row sessionRow
	if err := db.read.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		if isNoRows(err) {
			return nil, codebuddy.Errorf(codebuddy.ENOTFOUND, "session not found")
		}
		return nil, fmt.Errorf("select session: %w", err)
	}
	return row.domain(), nil
}

// UpdateSession implements codebuddy.SessionStore.
func (db *DB) UpdateSession(ctx context.Context, s *codebuddy.Session) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s.UpdatedAt = db.Now()
	s.Name = strings.TrimSpace(s.Name)
	res, err := db.write.NewUpdate().Table("sessions").
		Set("name = ?", s.Name).Set("language = ?", s.Language).Set("is_public = ?", s.IsPublic).
		Set("visitor_role = ?", s.VisitorRole).Set("updated_at = ?", s.UpdatedAt).
		Where("id = ?", s.ID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("update session: %w", err)
	}
	return mustAffect(res, "session not found")
}

// DeleteSession implements codebuddy.SessionStore; foreign keys cascade to every
// dependent row (participants, invites, requests, files and their log, messages, notifications).
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	res, err := db.write.NewDelete().Table("sessions").Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return mustAffect(res, "session not found")
}

// ListSessions implements codebuddy.SessionStore.
func (db *DB) ListSessions(ctx context.Context, f codebuddy.SessionFilter) ([]*codebuddy.Session, error) {
	var rows []sessionRow
	q := db.read.NewSelect().Model(&rows)
	switch f.Scope {
	case codebuddy.ScopeMine:
		q = q.Where("owner_id = ?", f.UserID)
	case codebuddy.ScopeShared:
		q = q.Where("owner_id <> ? AND id IN (SELECT session_id FROM participants WHERE user_id = ?)", f.UserID, f.UserID)
	case codebuddy.ScopePublic:
		q = q.Where("is_public")
	default:
		q = q.Where("is_public OR id IN (SELECT session_id FROM participants WHERE user_id = ?)", f.UserID)
	}
	if f.Query != "" {
		// The database lowers both sides: lowering the query in Go (full Unicode) while
		// SQLite's lower() folds only ASCII made a name with "É" unfindable even when
		// typed exactly. Non-ASCII case folding is then PostgreSQL's alone.
		q = q.Where("lower(name) LIKE lower(?) ESCAPE '\\'", "%"+escapeLike(f.Query)+"%")
	}
	// A page plus one row is allowed: callers ask for one more to learn whether
	// another page follows (capping that at a page hid the next page of full pages).
	limit := f.Limit
	if limit <= 0 || limit > codebuddy.MaxPageSize+1 {
		limit = codebuddy.MaxPageSize
	}
	if err := q.OrderExpr("updated_at DESC, id DESC").Limit(int64(limit)).Offset(int64(max(0, f.Offset))).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	out := make([]*codebuddy.Session, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// Role implements codebuddy.SessionStore.
func (db *DB) Role(ctx context.Context, sessionID, userID string) (string, error) {
	var role string
	err := db.read.NewSelect().Table("participants").Column("role").
		Where("session_id = ? AND user_id = ?", sessionID, userID).Scan(ctx, &role)
	if err != nil {
		if isNoRows(err) {
			return "", nil
		}
		return "", fmt.Errorf("select role: %w", err)
	}
	return role, nil
}

// RolesOf returns userID's stored role in each of sessionIDs that has one, in one
// query, so that a listing can say the caller's role without a query per session.
func (db *DB) RolesOf(ctx context.Context, userID string, sessionIDs []string) (map[string]string, error) {
	out := make(map[string]string, len(sessionIDs))
	if len(sessionIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		SessionID string `bun:"session_id"`
		Role      string `bun:"role"`
	}
	err := db.read.NewSelect().Table("participants").Column("session_id", "role").
		Where("user_id = ? AND session_id IN (?)", userID, bun.In(sessionIDs)).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("select roles: %w", err)
	}
	for _, r := range rows {
		out[r.SessionID] = r.Role
	}
	return out, nil
}

// Participants implements codebuddy.SessionStore.
func (db *DB) Participants(ctx context.Context, sessionID string) ([]*codebuddy.Participant, error) {
	var rows []struct {
		UserID    string    `bun:"user_id"`
		Username  string    `bun:"username"`
		Role      string    `bun:"role"`
		CreatedAt time.Time `bun:"created_at"`
	}
	err := db.read.NewRaw(`SELECT p.user_id, u.username, p.role, p.created_at FROM participants p
		JOIN users u ON u.id = p.user_id WHERE p.session_id = ? ORDER BY p.created_at, u.username`, sessionID).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("list participants: %w", err)
	}
	out := make([]*codebuddy.Participant, len(rows))
	for i, r := range rows {
		out[i] = &codebuddy.Participant{SessionID: sessionID, UserID: r.UserID, Username: r.Username, Role: r.Role, JoinedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// SetRole implements codebuddy.SessionStore (insert or change).
func (db *DB) SetRole(ctx context.Context, sessionID, userID, role string) error {
	p := &participantRow{SessionID: sessionID, UserID: userID, Role: role, CreatedAt: db.Now()}
	_, err := db.write.NewInsert().Model(p).On("CONFLICT (session_id, user_id) DO UPDATE").Set("role = EXCLUDED.role").Exec(ctx)
	if err != nil {
		if isForeignKeyViolation(err) {
			return codebuddy.Errorf(codebuddy.ENOTFOUND, "session or user not found")
		}
		return fmt.Errorf("set role: %w", err)
	}
	return nil
}

// RemoveParticipant implements codebuddy.SessionStore.
func (db *DB) RemoveParticipant(ctx context.Context, sessionID, userID string) error {
	res, err := db.write.NewDelete().Table("participants").Where("session_id = ? AND user_id = ?", sessionID, userID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("remove participant: %w", err)
	}
	return mustAffect(res, "participant not found")
}

type inviteRow struct {
	bun.BaseModel `bun:"table:invites"`

	ID        string     `bun:"id,pk"`
	SessionID string     `bun:"session_id"`
	CreatedBy string     `bun:"created_by"`
	Hash      []byte     `bun:"hash"`
	Role      string     `bun:"role"`
	ExpiresAt *time.Time `bun:"expires_at"`
	MaxUses   *int       `bun:"max_uses"`
	Uses      int        `bun:"uses"`
	RevokedAt *time.Time `bun:"revoked_at"`
	CreatedAt time.Time  `bun:"created_at"`
}

func (r *inviteRow) domain() *codebuddy.Invite {
	return &codebuddy.Invite{ID: r.ID, SessionID: r.SessionID, CreatedBy: r.CreatedBy, Role: r.Role,
		ExpiresAt: utcPtr(r.ExpiresAt), MaxUses: r.MaxUses, Uses: r.Uses, RevokedAt: utcPtr(r.RevokedAt), CreatedAt: r.CreatedAt.UTC()}
}

// CreateInvite implements codebuddy.SessionStore.
func (db *DB) CreateInvite(ctx context.Context, inv *codebuddy.Invite, hash []byte) error {
	if inv.ID == "" {
		inv.ID = db.NewID()
	}
	inv.CreatedAt = db.Now()
	row := &inviteRow{ID: inv.ID, SessionID: inv.SessionID, CreatedBy: inv.CreatedBy, Hash: hash, Role: inv.Role,
		ExpiresAt: inv.ExpiresAt, MaxUses: inv.MaxUses, CreatedAt: inv.CreatedAt}
	if _, err := db.write.NewInsert().Model(row).Exec(ctx); err != nil {
		if isForeignKeyViolation(err) {
			return codebuddy.Errorf(codebuddy.ENOTFOUND, "session not found")
		}
		return fmt.Errorf("insert invite: %w", err)
	}
	return nil
}

// Invites implements codebuddy.SessionStore.
func (db *DB) Invites(ctx context.Context, sessionID string) ([]*codebuddy.Invite, error) {
	var rows []inviteRow
	if err := db.read.NewSelect().Model(&rows).Where("session_id = ?", sessionID).OrderExpr("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list invites: %w", err)
	}
	out := make([]*codebuddy.Invite, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// RevokeInvite implements codebuddy.SessionStore.
func (db *DB) RevokeInvite(ctx context.Context, sessionID, inviteID string, now time.Time) error {
	res, err := db.write.NewUpdate().Table("invites").Set("revoked_at = ?", now).
		Where("id = ? AND session_id = ? AND revoked_at IS NULL", inviteID, sessionID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("revoke invite: %w", err)
	}
	return mustAffect(res, "invite not found")
}

// InviteByHash returns the invite with this token hash, whether usable or not;
// the workspace uses it to tell a first acceptance from a repeated one.
func (db *DB) InviteByHash(ctx context.Context, hash []byte) (*codebuddy.Invite, error) {
	var row inviteRow
	if err := db.read.NewSelect().Model(&row).Where("hash = ?", hash).Scan(ctx); err != nil {
		if isNoRows(err) {
			return nil, codebuddy.Errorf(codebuddy.ENOTFOUND, "invite not found")
		}
		return nil, fmt.Errorf("select invite: %w", err)
	}
	return row.domain(), nil
}

// UseInvite implements codebuddy.SessionStore.
func (db *DB) UseInvite(ctx context.Context, hash []byte, userID string, now time.Time) (*codebuddy.Invite, string, error) {
	var inv *codebuddy.Invite
	var role string
	err := db.write.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var row inviteRow
		if err := tx.NewSelect().Model(&row).Where("hash = ?", hash).Scan(ctx); err != nil {
			if isNoRows(err) {
				return codebuddy.Errorf(codebuddy.ENOTFOUND, "invite not found")
			}
			return fmt.Errorf("select invite: %w", err)
		}
		inv = row.domain()
		if row.RevokedAt != nil {
			return codebuddy.Errorf(codebuddy.ENOTFOUND, "this invite was revoked")
		}
		if row.ExpiresAt != nil && !now.Before(*row.ExpiresAt) {
			return codebuddy.Errorf(codebuddy.ENOTFOUND, "this invite has expired")
		}
		var current string
		err := tx.NewSelect().Table("participants").Column("role").
			Where("session_id = ? AND user_id = ?", row.SessionID, userID).Scan(ctx, &current)
		if err != nil && !isNoRows(err) {
			return fmt.Errorf("select role: %w", err)
		}
		if codebuddy.RoleRank(current) >= codebuddy.RoleRank(row.Role) {
			role = current // already has at least this role: nothing to consume
			return nil
		}
		res, err := tx.NewUpdate().Table("invites").Set("uses = uses + 1").
			Where("id = ? AND (max_uses IS NULL OR uses < max_uses)", row.ID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("use invite: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return codebuddy.Errorf(codebuddy.ENOTFOUND, "this invite has been used up")
		}
		inv.Uses++
		p := &participantRow{SessionID: row.SessionID, UserID: userID, Role: row.Role, CreatedAt: now}
		if _, err := tx.NewInsert().Model(p).On("CONFLICT (session_id, user_id) DO UPDATE").Set("role = EXCLUDED.role").Exec(ctx); err != nil {
			return fmt.Errorf("add participant: %w", err)
		}
		role = row.Role
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return inv, role, nil
}

type requestRow struct {
	bun.BaseModel `bun:"table:access_requests"`

	ID        string     `bun:"id,pk"`
	SessionID string     `bun:"session_id"`
	UserID    string     `bun:"user_id"`
	Status    string     `bun:"status"`
	Message   string     `bun:"message"`
	CreatedAt time.Time  `bun:"created_at"`
	DecidedAt *time.Time `bun:"decided_at"`
	Username  string     `bun:"username,scanonly"`
}

func (r *requestRow) domain() *codebuddy.AccessRequest {
	return &codebuddy.AccessRequest{ID: r.ID, SessionID: r.SessionID, UserID: r.UserID, Username: r.Username,
		Status: r.Status, Message: r.Message, CreatedAt: r.CreatedAt.UTC(), DecidedAt: utcPtr(r.DecidedAt)}
}

// CreateAccessRequest implements codebuddy.SessionStore.
func (db *DB) CreateAccessRequest(ctx context.Context, r *codebuddy.AccessRequest) error {
	if r.ID == "" {
		r.ID = db.NewID()
	}
	r.CreatedAt = db.Now()
	r.Status = codebuddy.RequestPending
	row := &requestRow{ID: r.ID, SessionID: r.SessionID, UserID: r.UserID, Status: r.Status, Message: r.Message, CreatedAt: r.CreatedAt}
	if _, err := db.write.NewInsert().Model(row).Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return codebuddy.Errorf(codebuddy.ECONFLICT, "you already have a pending request for this session")
		}
		if isForeignKeyViolation(err) {
			return codebuddy.Errorf(codebuddy.ENOTFOUND, "session not found")
		}
		return fmt.Errorf("insert access request: %w", err)
	}
	return nil
}

func (db *DB) selectRequests(ctx context.Context, idb bun.IDB, where string, args ...any) ([]requestRow, error) {
	var rows []requestRow
	err := idb.NewRaw(`SELECT r.id, r.session_id, r.user_id, r.status, r.message, r.created_at, r.decided_at, u.username
		FROM access_requests r JOIN users u ON u.id = r.user_id WHERE `+where+` ORDER BY r.id`, args...).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("select access requests: %w", err)
	}
	return rows, nil
}

// AccessRequest implements codebuddy.SessionStore.
func (db *DB) AccessRequest(ctx context.Context, id string) (*codebuddy.AccessRequest, error) {
	rows, err := db.selectRequests(ctx, db.read, "r.id = ?", id)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, codebuddy.Errorf(codebuddy.ENOTFOUND, "request not found")
	}
	return rows[0].domain(), nil
}

// AccessRequests implements codebuddy.SessionStore; status "" lists all.
func (db *DB) AccessRequests(ctx context.Context, sessionID, status string) ([]*codebuddy.AccessRequest, error) {
	var rows []requestRow
	var err error
	if status == "" {
		rows, err = db.selectRequests(ctx, db.read, "r.session_id = ?", sessionID)
	} else {
		rows, err = db.selectRequests(ctx, db.read, "r.session_id = ? AND r.status = ?", sessionID, status)
	}
	if err != nil {
		return nil, err
	}
	out := make([]*codebuddy.AccessRequest, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// DecideAccessRequest implements codebuddy.SessionStore.
func (db *DB) DecideAccessRequest(ctx context.Context, id, status string, now time.Time) (*codebuddy.AccessRequest, error) {
	var out *codebuddy.AccessRequest
	err := db.write.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Table("access_requests").Set("status = ?", status).Set("decided_at = ?", now).
			Where("id = ? AND status = ?", id, codebuddy.RequestPending).Exec(ctx)
		if err != nil {
			return fmt.Errorf("decide request: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return codebuddy.Errorf(codebuddy.ECONFLICT, "this request was already answered")
		}
		rows, err := db.selectRequests(ctx, tx, "r.id = ?", id)
		if err != nil {
			return err
		}
		out = rows[0].domain()
		if status == codebuddy.RequestAccepted {
			var current string
			err := tx.NewSelect().Table("participants").Column("role").
				Where("session_id = ? AND user_id = ?", out.SessionID, out.UserID).Scan(ctx, &current)
			if err != nil && !isNoRows(err) {
				return fmt.Errorf("select role: %w", err)
			}
			if codebuddy.RoleRank(current) < codebuddy.RoleRank(codebuddy.RoleEditor) {
				p := &participantRow{SessionID: out.SessionID, UserID: out.UserID, Role: codebuddy.RoleEditor, CreatedAt: now}
				if _, err := tx.NewInsert().Model(p).On("CONFLICT (session_id, user_id) DO UPDATE").Set("role = EXCLUDED.role").Exec(ctx); err != nil {
					return fmt.Errorf("grant access: %w", err)
				}
			}
		}
		return nil
	})
	return out, err
}
