// Package auth implements accounts on top of the user and token stores: argon2id
// password hashing with bounded concurrency, opaque login and API tokens stored as
// SHA-256 hashes, and the failed-login limit.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/ratelimit"
)

// TokenPrefix marks CodeBuddy secrets so scanners and people recognise them.
const TokenPrefix = "cb_"

// Options configure the service.
type Options struct {
	Users  codebuddy.UserStore
	Tokens codebuddy.TokenStore
	// Failures limits failed logins per client IP and username (5 per hour by default).
	Failures *ratelimit.Window
	// SessionTTL is how long a browser login lasts (default 30 days).
	SessionTTL time.Duration
	// HashConcurrency bounds simultaneous argon2id hashes (~64 MiB each); default 2.
	HashConcurrency int
	// Params are the argon2id parameters; nil means argon2id.DefaultParams.
	Params *argon2id.Params
	Now    func() time.Time
}

// Service is the account service.
type Service struct {
	users      codebuddy.UserStore
	tokens     codebuddy.TokenStore
	failures   *ratelimit.Window
	sessionTTL time.Duration
	params     *argon2id.Params
	hashSlots  chan struct{}
	now        func() time.Time
	dummyHash  string
}

// New returns the service.
func New(o Options) (*Service, error) {
	s := &Service{users: o.Users, tokens: o.Tokens, failures: o.Failures, sessionTTL: o.SessionTTL,
		params: o.Params, now: o.Now}
	if s.sessionTTL <= 0 {
		s.sessionTTL = 30 * 24 * time.Hour
	}
	if s.params == nil {
		s.params = argon2id.DefaultParams
	}
	if s.now == nil {
		s.now = func() time.Time { return time.Now().UTC() }
	}
	if s.failures == nil {
		s.failures = ratelimit.NewWindow(nil, 5, time.Hour, s.now)
	}
	n := o.HashConcurrency
	if n <= 0 {
		n = 2
	}
	s.hashSlots = make(chan struct{}, n)
	// Unknown usernames are checked against this hash so that their answer takes
	// as long as a wrong password's.
	h, err := argon2id.CreateHash("codebuddy-timing-equaliser", s.params)
	if err != nil {
		return nil, fmt.Errorf("argon2id: %w", err)
	}
	s.dummyHash = h
	return s, nil
}

func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.hashSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &codebuddy.Error{Code: codebuddy.EUNAVAILABLE, Message: "the server is busy, try again", RetryAfterSeconds: 1}
	}
}

func (s *Service) release() { <-s.hashSlots }

// HashPassword validates and hashes a password, waiting for a hashing slot.
func (s *Service) HashPassword(ctx context.Context, password string) (string, error) {
	if err := codebuddy.ValidatePassword(password); err != nil {
		return "", err
	}
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()
	h, err := argon2id.CreateHash(password, s.params)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

func (s *Service) checkPassword(ctx context.Context, password, hash string) (bool, error) {
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer s.release()
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	if err != nil {
		return false, fmt.Errorf("compare password: %w", err)
	}
	return ok, nil
}

// Register creates an account and logs it in, returning the login secret.
func (s *Service) Register(ctx context.Context, username, password, email string) (*codebuddy.User, string, error) {
	u := &codebuddy.User{Username: username, Email: strings.TrimSpace(email), Theme: codebuddy.ThemeSystem}
	if err := u.Validate(); err != nil {
		return nil, "", err
	}
	hash, err := s.HashPassword(ctx, password)
	if err != nil {
		return nil, "", err
	}
	if err := s.users.CreateUser(ctx, u, hash); err != nil {
		return nil, "", err
	}
	secret, _, err := s.issue(ctx, u.ID, codebuddy.TokenSession, "", s.sessionTTL)
	if err != nil {
		return nil, "", err
	}
	return u, secret, nil
}

// CreateUser creates an account without logging in (the admin command).
func (s *Service) CreateUser(ctx context.Context, username, password, email string) (*codebuddy.User, error) {
	u := &codebuddy.User{Username: username, Email: strings.TrimSpace(email), Theme: codebuddy.ThemeSystem}
	if err := u.Validate(); err != nil {
		return nil, err
	}
	hash, err := s.HashPassword(ctx, password)
	if err != nil {
		return nil, err
	}
	if err := s.users.CreateUser(ctx, u, hash); err != nil {
		return nil, err
	}
	return u, nil
}

// ResetPassword sets a new password and revokes every token of the user.
func (s *Service) ResetPassword(ctx context.Context, username, password string) error {
	u, _, err := s.users.UserByUsername(ctx, username)
	if err != nil {
		return err
	}
	hash, err := s.HashPassword(ctx, password)
	if err != nil {
		return err
	}
	if err := s.users.SetPasswordHash(ctx, u.ID, hash); err != nil {
		return err
	}
	return s.tokens.DeleteUserTokens(ctx, u.ID)
}

func failureKey(clientIP, username string) string {
	return "login:" + clientIP + ":" + strings.ToLower(username)
}

// Login checks a password. Failed attempts count per client IP and username; once
// the limit is reached every attempt (right or wrong) answers ERATELIMITED until the
// window slides, and successful logins never count.
func (s *Service) Login(ctx context.Context, clientIP, username, password string) (*codebuddy.User, string, error) {
	if username == "" {
		return nil, "", codebuddy.FieldErrorf("username", "is required")
	}
	if password == "" {
		return nil, "", codebuddy.FieldErrorf("password", "is required")
	}
	if len(password) > 4*codebuddy.PasswordMaxLen {
		return nil, "", codebuddy.FieldErrorf("password", "is too long")
	}
	key := failureKey(clientIP, username)
	blocked, retry, err := s.failures.Blocked(key)
	if err != nil {
		return nil, "", err
	}
	if blocked {
		return nil, "", &codebuddy.Error{Code: codebuddy.ERATELIMITED,
			Message: "too many failed logins, try again later", RetryAfterSeconds: int(retry.Round(time.Second) / time.Second)}
	}
	// A name no account can have is not looked up: it may hold bytes the database
	// refuses (PostgreSQL rejects NUL in text), which would surface as a 500.
	var u *codebuddy.User
	var hash string
	if codebuddy.ValidateUsername(username) == nil {
		u, hash, err = s.users.UserByUsername(ctx, username)
		if err != nil && codebuddy.ErrorCode(err) != codebuddy.ENOTFOUND {
			return nil, "", err
		}
	}
	if u == nil {
		hash = s.dummyHash
	}
	ok, err := s.checkPassword(ctx, password, hash)
	if err != nil {
		return nil, "", err
	}
	if !ok || u == nil {
		if err := s.failures.Add(key); err != nil {
			return nil, "", err
		}
		return nil, "", codebuddy.Errorf(codebuddy.EUNAUTHORIZED, "wrong username or password")
	}
	secret, _, err := s.issue(ctx, u.ID, codebuddy.TokenSession, "", s.sessionTTL)
	if err != nil {
		return nil, "", err
	}
	return u, secret, nil
}

// Authenticate resolves a login or API token secret to its user.
func (s *Service) Authenticate(ctx context.Context, secret string) (*codebuddy.User, *codebuddy.Token, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 128 {
		return nil, nil, codebuddy.Errorf(codebuddy.EUNAUTHORIZED, "invalid or revoked token")
	}
	return s.tokens.UserByTokenHash(ctx, HashToken(secret), s.now())
}

// Logout revokes the token behind secret.
func (s *Service) Logout(ctx context.Context, secret string) error {
	_, tok, err := s.Authenticate(ctx, secret)
	if err != nil {
		return err
	}
	return s.tokens.DeleteToken(ctx, tok.UserID, tok.ID)
}

// API token limits.
const (
	MaxAPITokensPerUser = 50
	MaxAPITokenTTL      = 366 * 24 * time.Hour
)

// CreateAPIToken issues a personal token for scripts; ttl 0 means it never expires.
func (s *Service) CreateAPIToken(ctx context.Context, userID, name string, ttl time.Duration) (*codebuddy.Token, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > codebuddy.TokenNameMaxLen {
		return nil, "", codebuddy.FieldErrorf("name", "must be 1 to %d bytes", codebuddy.TokenNameMaxLen)
	}
	if ttl < 0 || ttl > MaxAPITokenTTL {
		return nil, "", codebuddy.FieldErrorf("expiresInDays", "must be between 0 (never) and 366 days")
	}
	existing, err := s.tokens.Tokens(ctx, userID, codebuddy.TokenAPI)
	if err != nil {
		return nil, "", err
	}
	if len(existing) >= MaxAPITokensPerUser {
		return nil, "", codebuddy.Errorf(codebuddy.ECONFLICT, "at most %d API tokens per account; revoke one first", MaxAPITokensPerUser)
	}
	secret, tok, err := s.issue(ctx, userID, codebuddy.TokenAPI, name, ttl)
	if err != nil {
		return nil, "", err
	}
	return tok, secret, nil
}

// APITokens lists the user's personal tokens (never their secrets).
func (s *Service) APITokens(ctx context.Context, userID string) ([]*codebuddy.Token, error) {
	return s.tokens.Tokens(ctx, userID, codebuddy.TokenAPI)
}

// RevokeAPIToken deletes one of the user's tokens; ENOTFOUND when it is not theirs.
func (s *Service) RevokeAPIToken(ctx context.Context, userID, tokenID string) error {
	return s.tokens.DeleteToken(ctx, userID, tokenID)
}

func (s *Service) issue(ctx context.Context, userID, kind, name string, ttl time.Duration) (string, *codebuddy.Token, error) {
	secret, err := NewSecret()
	if err != nil {
		return "", nil, err
	}
	tok := &codebuddy.Token{UserID: userID, Kind: kind, Name: name, CreatedAt: s.now()}
	if ttl > 0 {
		exp := tok.CreatedAt.Add(ttl)
		tok.ExpiresAt = &exp
	}
	if err := s.tokens.CreateToken(ctx, tok, HashToken(secret)); err != nil {
		return "", nil, err
	}
	return secret, tok, nil
}

// Touch records that a token was used.
func (s *Service) Touch(ctx context.Context, tokenID string, now time.Time) error {
	return s.tokens.TouchToken(ctx, tokenID, now)
}

// SessionTTL is the lifetime of browser logins.
func (s *Service) SessionTTL() time.Duration { return s.sessionTTL }

// NewSecret returns a fresh random token secret.
func NewSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", errors.New("no randomness available")
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// HashToken is how secrets are stored: SHA-256 suffices for 256-bit random secrets.
func HashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}
