package codebuddy

import (
	"context"
	"time"
	"unicode/utf8"
)

// Account limits.
const (
	UsernameMinLen = 3
	UsernameMaxLen = 32
	PasswordMinLen = 8
	PasswordMaxLen = 256
	EmailMaxLen    = 254
)

// Themes a user can choose for the web client.
const (
	ThemeSystem = "system"
	ThemeLight  = "light"
	ThemeDark   = "dark"
)

// User is an account.
type User struct {
	ID        string
	Username  string
	Email     string
	Theme     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ValidateUsername checks the 3–32 characters of [A-Za-z0-9_.-] rule.
func ValidateUsername(name string) error {
	if len(name) < UsernameMinLen || len(name) > UsernameMaxLen {
		return FieldErrorf("username", "must be %d to %d characters long", UsernameMinLen, UsernameMaxLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return FieldErrorf("username", "may contain only letters, digits, '_', '.' and '-'")
		}
	}
	return nil
}

// ValidatePassword checks the 8–256 characters rule (characters, not bytes).
func ValidatePassword(password string) error {
	if !utf8.ValidString(password) {
		return FieldErrorf("password", "must be valid UTF-8")
	}
	n := utf8.RuneCountInString(password)
	if n < PasswordMinLen || n > PasswordMaxLen {
		return FieldErrorf("password", "must be %d to %d characters long", PasswordMinLen, PasswordMaxLen)
	}
	return nil
}

// ValidateEmail does the cheap structural check; delivery is what proves an address.
func ValidateEmail(email string) error {
	if email == "" {
		return nil
	}
	if len(email) > EmailMaxLen {
		return FieldErrorf("email", "must be at most %d bytes", EmailMaxLen)
	}
	at := -1
	for i := 0; i < len(email); i++ {
		c := email[i]
		if c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '"' {
			return FieldErrorf("email", "must not contain spaces, quotes or angle brackets")
		}
		if c == '@' {
			if at >= 0 {
				return FieldErrorf("email", "must contain exactly one '@'")
			}
			at = i
		}
	}
	if at <= 0 || at == len(email)-1 {
		return FieldErrorf("email", "must look like name@example.org")
	}
	return nil
}

// ValidateTheme accepts the three theme names.
func ValidateTheme(theme string) error {
	switch theme {
	case ThemeSystem, ThemeLight, ThemeDark:
		return nil
	}
	return FieldErrorf("theme", "must be one of system, light, dark")
}

// Validate checks a user before it is stored.
func (u *User) Validate() error {
	if err := ValidateUsername(u.Username); err != nil {
		return err
	}
	if err := ValidateEmail(u.Email); err != nil {
		return err
	}
	return ValidateTheme(u.Theme)
}

// Token kinds: a browser login (cookie) or a personal API token (Bearer).
const (
	TokenSession = "session"
	TokenAPI     = "api"
)

// TokenNameMaxLen bounds the label of a personal API token.
const TokenNameMaxLen = 100

// Token is an opaque credential. Only its hash is stored; the secret is shown once.
type Token struct {
	ID         string
	UserID     string
	Kind       string
	Name       string
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
}

// UserStore persists accounts.
type UserStore interface {
	// CreateUser stores u (ID and timestamps set by the caller); ECONFLICT when the username is taken.
	CreateUser(ctx context.Context, u *User, passwordHash string) error
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByUsername returns the user and its password hash; ENOTFOUND when absent.
	UserByUsername(ctx context.Context, username string) (*User, string, error)
	UpdateUser(ctx context.Context, u *User) error
	SetPasswordHash(ctx context.Context, userID, hash string) error
}

// TokenStore persists hashed tokens.
type TokenStore interface {
	CreateToken(ctx context.Context, t *Token, hash []byte) error
	// UserByTokenHash resolves a live token; EUNAUTHORIZED when unknown or expired at now.
	UserByTokenHash(ctx context.Context, hash []byte, now time.Time) (*User, *Token, error)
	TouchToken(ctx context.Context, id string, now time.Time) error
	Tokens(ctx context.Context, userID, kind string) ([]*Token, error)
	// DeleteToken revokes one of the user's tokens; ENOTFOUND when it is not theirs.
	DeleteToken(ctx context.Context, userID, tokenID string) error
	DeleteUserTokens(ctx context.Context, userID string) error
	DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error)
}
