package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/codebuddy-dev/codebuddy"
)

var (
	_ codebuddy.UserStore  = (*DB)(nil)
	_ codebuddy.TokenStore = (*DB)(nil)
)

type userRow struct {
	bun.BaseModel `bun:"table:users"`

	ID           string    `bun:"id,pk"`
	Username     string    `bun:"username"`
	Email        string    `bun:"email"`
	PasswordHash string    `bun:"password_hash"`
	Theme        string    `bun:"theme"`
	CreatedAt    time.Time `bun:"created_at"`
	UpdatedAt    time.Time `bun:"updated_at"`
}

func (r *userRow) domain() *codebuddy.User {
	return &codebuddy.User{ID: r.ID, Username: r.Username, Email: r.Email, Theme: r.Theme,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// CreateUser implements codebuddy.UserStore.
func (db *DB) CreateUser(ctx context.Context, u *codebuddy.User, passwordHash string) error {
	if u.ID == "" {
		u.ID = db.NewID()
	}
	if u.Theme == "" {
		u.Theme = codebuddy.ThemeSystem
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = db.Now()
		u.UpdatedAt = u.CreatedAt
	}
	if err := u.Validate(); err != nil {
		return err
	}
	row := &userRow{ID: u.ID, Username: u.Username, Email: u.Email, PasswordHash: passwordHash,
		Theme: u.Theme, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	if _, err := db.write.NewInsert().Model(row).Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return &codebuddy.Error{Code: codebuddy.ECONFLICT, Field: "username", Message: "this username is taken"}
		}
		return fmt.Errorf("insert user: %w", err)
	}
	return nil
}

// UserByID implements codebuddy.UserStore.
func (db *DB) UserByID(ctx context.Context, id string) (*codebuddy.User, error) {
	var row userRow
	if err := db.read.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		if isNoRows(err) {
			return nil, codebuddy.Errorf(codebuddy.ENOTFOUND, "user not found")
		}
		return nil, fmt.Errorf("select user: %w", err)
	}
	return row.domain(), nil
}

// UserByUsername implements codebuddy.UserStore; usernames compare case-insensitively.
func (db *DB) UserByUsername(ctx context.Context, username string) (*codebuddy.User, string, error) {
	var row userRow
	err := db.read.NewSelect().Model(&row).Where("lower(username) = ?", strings.ToLower(username)).Scan(ctx)
	if err != nil {
		if isNoRows(err) {
			return nil, "", codebuddy.Errorf(codebuddy.ENOTFOUND, "user not found")
		}
		return nil, "", fmt.Errorf("select user by name: %w", err)
	}
	return row.domain(), row.PasswordHash, nil
}

// UpdateUser implements codebuddy.UserStore (email and theme).
func (db *DB) UpdateUser(ctx context.Context, u *codebuddy.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	u.UpdatedAt = db.Now()
	res, err := db.write.NewUpdate().Table("users").
		Set("email = ?", u.Email).Set("theme = ?", u.Theme).Set("updated_at = ?", u.UpdatedAt).
		Where("id = ?", u.ID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	return mustAffect(res, "user not found")
}

// SetPasswordHash implements codebuddy.UserStore.
func (db *DB) SetPasswordHash(ctx context.Context, userID, hash string) error {
	res, err := db.write.NewUpdate().Table("users").
		Set("password_hash = ?", hash).Set("updated_at = ?", db.Now()).
		Where("id = ?", userID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return mustAffect(res, "user not found")
}

type tokenRow struct {
	bun.BaseModel `bun:"table:tokens"`

	ID         string     `bun:"id,pk"`
	UserID     string     `bun:"user_id"`
	Kind       string     `bun:"kind"`
	Name       string     `bun:"name"`
	Hash       []byte     `bun:"hash"`
	CreatedAt  time.Time  `bun:"created_at"`
	ExpiresAt  *time.Time `bun:"expires_at"`
	LastUsedAt *time.Time `bun:"last_used_at"`
}

func (r *tokenRow) domain() *codebuddy.Token {
	return &codebuddy.Token{ID: r.ID, UserID: r.UserID, Kind: r.Kind, Name: r.Name,
		CreatedAt: r.CreatedAt.UTC(), ExpiresAt: utcPtr(r.ExpiresAt), LastUsedAt: utcPtr(r.LastUsedAt)}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// CreateToken implements codebuddy.TokenStore.
func (db *DB) CreateToken(ctx context.Context, t *codebuddy.Token, hash []byte) error {
	if t.ID == "" {
		t.ID = db.NewID()
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = db.Now()
	}
	row := &tokenRow{ID: t.ID, UserID: t.UserID, Kind: t.Kind, Name: t.Name, Hash: hash,
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
	if _, err := db.write.NewInsert().Model(row).Exec(ctx); err != nil {
		if isForeignKeyViolation(err) {
			return codebuddy.Errorf(codebuddy.ENOTFOUND, "user not found")
		}
		return fmt.Errorf("insert token: %w", err)
	}
	return nil
}

// UserByTokenHash implements codebuddy.TokenStore. It runs on every authenticated
// request, so it is one round trip through a statement prepared once per connection.
func (db *DB) UserByTokenHash(ctx context.Context, hash []byte, now time.Time) (*codebuddy.User, *codebuddy.Token, error) {
	stmt, err := db.tokenQuery(ctx)
	if err != nil {
		return nil, nil, err
	}
	var u userRow
	var tok codebuddy.Token
	var expires, lastUsed sql.NullTime
	err = stmt.QueryRowContext(ctx, hash).Scan(&u.ID, &u.Username, &u.Email, &u.Theme, &u.CreatedAt, &u.UpdatedAt,
		&tok.ID, &tok.Kind, &tok.Name, &tok.CreatedAt, &expires, &lastUsed)
	if err != nil {
		if isNoRows(err) {
			return nil, nil, codebuddy.Errorf(codebuddy.EUNAUTHORIZED, "invalid or revoked token")
		}
		return nil, nil, fmt.Errorf("select token: %w", err)
	}
	if expires.Valid && !now.Before(expires.Time) {
		return nil, nil, codebuddy.Errorf(codebuddy.EUNAUTHORIZED, "token expired")
	}
	tok.UserID, tok.CreatedAt = u.ID, tok.CreatedAt.UTC()
	if expires.Valid {
		tok.ExpiresAt = utcPtr(&expires.Time)
	}
	if lastUsed.Valid {
		tok.LastUsedAt = utcPtr(&lastUsed.Time)
	}
	return u.domain(), &tok, nil
}

func (db *DB) tokenQuery(ctx context.Context) (*sql.Stmt, error) {
	db.tokenMu.Lock()
	defer db.tokenMu.Unlock()
	if db.tokenStmt != nil {
		return db.tokenStmt, nil
	}
	ph := "?"
	if db.engine == Postgres {
		ph = "$1"
	}
	stmt, err := db.read.DB.PrepareContext(ctx, `SELECT u.id, u.username, u.email, u.theme, u.created_at, u.updated_at,
		t.id, t.kind, t.name, t.created_at, t.expires_at, t.last_used_at
		FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = `+ph)
	if err != nil {
		return nil, fmt.Errorf("prepare token query: %w", err)
	}
	db.tokenStmt = stmt
	return stmt, nil
}

// TouchToken implements codebuddy.TokenStore.
func (db *DB) TouchToken(ctx context.Context, id string, now time.Time) error {
	if _, err := db.write.NewUpdate().Table("tokens").Set("last_used_at = ?", now).Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("touch token: %w", err)
	}
	return nil
}

// Tokens implements codebuddy.TokenStore.
func (db *DB) Tokens(ctx context.Context, userID, kind string) ([]*codebuddy.Token, error) {
	var rows []tokenRow
	if err := db.read.NewSelect().Model(&rows).Where("user_id = ? AND kind = ?", userID, kind).OrderExpr("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]*codebuddy.Token, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// DeleteToken implements codebuddy.TokenStore.
func (db *DB) DeleteToken(ctx context.Context, userID, tokenID string) error {
	res, err := db.write.NewDelete().Table("tokens").Where("id = ? AND user_id = ?", tokenID, userID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	return mustAffect(res, "token not found")
}

// DeleteUserTokens implements codebuddy.TokenStore.
func (db *DB) DeleteUserTokens(ctx context.Context, userID string) error {
	if _, err := db.write.NewDelete().Table("tokens").Where("user_id = ?", userID).Exec(ctx); err != nil {
		return fmt.Errorf("delete user tokens: %w", err)
	}
	return nil
}

// DeleteExpiredTokens implements codebuddy.TokenStore.
func (db *DB) DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.write.NewDelete().Table("tokens").Where("expires_at IS NOT NULL AND expires_at <= ?", now).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete expired tokens: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
