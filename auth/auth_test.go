package auth_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/auth"
	"github.com/codebuddy-dev/codebuddy/sqlstore"
	"github.com/codebuddy-dev/codebuddy/sqlstore/sqlstoretest"
)

var cheap = &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

type fixture struct {
	db   *sqlstore.DB
	svc  *auth.Service
	skew atomic.Int64
}

func (f *fixture) now() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond).Add(time.Duration(f.skew.Load()))
}

func newFixture(t *testing.T, db *sqlstore.DB, o auth.Options) *fixture {
	f := &fixture{db: db}
	db.Now = f.now
	o.Users, o.Tokens, o.Now = db, db, f.now
	if o.Params == nil {
		o.Params = cheap
	}
	svc, err := auth.New(o)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if codebuddy.ErrorCode(err) != code {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
}

func TestAccountLifecycle(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		f := newFixture(t, db, auth.Options{SessionTTL: time.Hour})
		if f.svc.SessionTTL() != time.Hour {
			t.Fatalf("SessionTTL %v", f.svc.SessionTTL())
		}
		u, secret, err := f.svc.Register(ctx, "alice", "correct horse", " a@example.org ")
		if err != nil || u.Email != "a@example.org" || u.Theme != codebuddy.ThemeSystem || !strings.HasPrefix(secret, auth.TokenPrefix) {
			t.Fatalf("Register = %+v %q %v", u, secret, err)
		}
		_, _, err = f.svc.Register(ctx, "ALICE", "correct horse", "")
		wantCode(t, "duplicate", err, codebuddy.ECONFLICT)
		_, _, err = f.svc.Register(ctx, "x", "correct horse", "")
		wantCode(t, "short name", err, codebuddy.EINVALID)
		_, _, err = f.svc.Register(ctx, "bobby", "short", "")
		wantCode(t, "short password", err, codebuddy.EINVALID)
		_, err = f.svc.CreateUser(ctx, "bo b", "correct horse", "")
		wantCode(t, "admin bad name", err, codebuddy.EINVALID)
		_, err = f.svc.CreateUser(ctx, "bobby", "short", "")
		wantCode(t, "admin short password", err, codebuddy.EINVALID)
		_, err = f.svc.CreateUser(ctx, "alice", "correct horse", "")
		wantCode(t, "admin duplicate", err, codebuddy.ECONFLICT)
		if _, err := f.svc.CreateUser(ctx, "bobby", "correct horse", ""); err != nil {
			t.Fatal(err)
		}

		got, tok, err := f.svc.Authenticate(ctx, secret)
		if err != nil || got.ID != u.ID || tok.Kind != codebuddy.TokenSession || tok.ExpiresAt == nil {
			t.Fatalf("Authenticate = %+v %+v %v", got, tok, err)
		}
		for _, bad := range []string{"", "nope", auth.TokenPrefix + "x", auth.TokenPrefix + strings.Repeat("a", 200)} {
			_, _, err := f.svc.Authenticate(ctx, bad)
			wantCode(t, "bad secret "+bad, err, codebuddy.EUNAUTHORIZED)
		}

		// Login tokens expire after the session TTL.
		f.skew.Add(int64(time.Hour + time.Second))
		_, _, err = f.svc.Authenticate(ctx, secret)
		wantCode(t, "expired", err, codebuddy.EUNAUTHORIZED)

		_, s2, err := f.svc.Login(ctx, "1.2.3.4", "Alice", "correct horse")
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Logout(ctx, s2); err != nil {
			t.Fatal(err)
		}
		_, _, err = f.svc.Authenticate(ctx, s2)
		wantCode(t, "after logout", err, codebuddy.EUNAUTHORIZED)
		wantCode(t, "logout twice", f.svc.Logout(ctx, s2), codebuddy.EUNAUTHORIZED)

		// ResetPassword revokes everything and swaps the password.
		_, s3, _ := f.svc.Login(ctx, "1.2.3.4", "alice", "correct horse")
		_, api, err := f.svc.CreateAPIToken(ctx, u.ID, "ci", 0)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, "reset short", f.svc.ResetPassword(ctx, "alice", "short"), codebuddy.EINVALID)
		wantCode(t, "reset unknown", f.svc.ResetPassword(ctx, "nobody", "long enough"), codebuddy.ENOTFOUND)
		if err := f.svc.ResetPassword(ctx, "alice", "a new password"); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{s3, api} {
			_, _, err := f.svc.Authenticate(ctx, s)
			wantCode(t, "after reset", err, codebuddy.EUNAUTHORIZED)
		}
		_, _, err = f.svc.Login(ctx, "1.2.3.4", "alice", "correct horse")
		wantCode(t, "old password", err, codebuddy.EUNAUTHORIZED)
		if _, _, err := f.svc.Login(ctx, "1.2.3.4", "alice", "a new password"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLoginInputs(t *testing.T) {
	f := newFixture(t, sqlstoretest.Open(t, sqlstore.SQLite), auth.Options{})
	ctx := context.Background()
	f.svc.Register(ctx, "alice", "correct horse", "")
	for _, c := range []struct{ name, user, pw, code string }{
		{"empty user", "", "x", codebuddy.EINVALID},
		{"empty password", "alice", "", codebuddy.EINVALID},
		{"huge password", "alice", strings.Repeat("p", 4*codebuddy.PasswordMaxLen+1), codebuddy.EINVALID},
		{"nul in name", "al\x00ice", "correct horse", codebuddy.EUNAUTHORIZED},
		{"name too long", strings.Repeat("a", 300), "correct horse", codebuddy.EUNAUTHORIZED},
		{"unknown", "nobody", "correct horse", codebuddy.EUNAUTHORIZED},
	} {
		_, _, err := f.svc.Login(ctx, "ip", c.user, c.pw)
		wantCode(t, c.name, err, c.code)
	}
}

func TestFailedLoginLimit(t *testing.T) {
	f := newFixture(t, sqlstoretest.Open(t, sqlstore.SQLite), auth.Options{})
	ctx := context.Background()
	f.svc.Register(ctx, "alice", "correct horse", "")
	for i := range 5 {
		_, _, err := f.svc.Login(ctx, "1.1.1.1", "alice", "wrong one")
		wantCode(t, "failure", err, codebuddy.EUNAUTHORIZED)
		if i == 2 {
			// Successes do not count.
			if _, _, err := f.svc.Login(ctx, "1.1.1.1", "alice", "correct horse"); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, _, err := f.svc.Login(ctx, "1.1.1.1", "ALICE", "correct horse")
	var de *codebuddy.Error
	wantCode(t, "sixth", err, codebuddy.ERATELIMITED)
	if de = err.(*codebuddy.Error); de.RetryAfterSeconds < 1 {
		t.Fatalf("RetryAfterSeconds %d", de.RetryAfterSeconds)
	}
	// Another address, or another name, is not blocked.
	if _, _, err := f.svc.Login(ctx, "2.2.2.2", "alice", "correct horse"); err != nil {
		t.Fatalf("other address: %v", err)
	}
}

func TestAPITokenRules(t *testing.T) {
	f := newFixture(t, sqlstoretest.Open(t, sqlstore.SQLite), auth.Options{})
	ctx := context.Background()
	u, _, _ := f.svc.Register(ctx, "alice", "correct horse", "")
	for _, c := range []struct {
		name string
		ttl  time.Duration
	}{{"", 0}, {"   ", 0}, {strings.Repeat("n", codebuddy.TokenNameMaxLen+1), 0}, {"ok", -time.Hour}, {"ok", auth.MaxAPITokenTTL + time.Hour}} {
		_, _, err := f.svc.CreateAPIToken(ctx, u.ID, c.name, c.ttl)
		wantCode(t, "token "+c.name, err, codebuddy.EINVALID)
	}
	tok, secret, err := f.svc.CreateAPIToken(ctx, u.ID, "  ci  ", 24*time.Hour)
	if err != nil || tok.Name != "ci" || tok.ExpiresAt == nil || tok.Kind != codebuddy.TokenAPI {
		t.Fatalf("CreateAPIToken = %+v %v", tok, err)
	}
	if err := f.svc.Touch(ctx, tok.ID, f.now()); err != nil {
		t.Fatal(err)
	}
	toks, err := f.svc.APITokens(ctx, u.ID)
	if err != nil || len(toks) != 1 || toks[0].LastUsedAt == nil {
		t.Fatalf("APITokens = %+v %v", toks, err)
	}
	for i := 1; i < auth.MaxAPITokensPerUser; i++ {
		if _, _, err := f.svc.CreateAPIToken(ctx, u.ID, "t", 0); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err = f.svc.CreateAPIToken(ctx, u.ID, "one too many", 0)
	wantCode(t, "51st token", err, codebuddy.ECONFLICT)
	wantCode(t, "revoke other's", f.svc.RevokeAPIToken(ctx, "someone-else", tok.ID), codebuddy.ENOTFOUND)
	if err := f.svc.RevokeAPIToken(ctx, u.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.svc.Authenticate(ctx, secret)
	wantCode(t, "revoked", err, codebuddy.EUNAUTHORIZED)
}

// TestHashConcurrencyBound: with one slot, a hash waiting behind another gives up
// when its context ends, answering EUNAVAILABLE with a retry hint.
func TestHashConcurrencyBound(t *testing.T) {
	slow := &argon2id.Params{Memory: 64 * 1024, Iterations: 3, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	f := newFixture(t, sqlstoretest.Open(t, sqlstore.SQLite), auth.Options{HashConcurrency: 1, Params: slow})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
			defer cancel()
			_, err := f.svc.HashPassword(ctx, "correct horse")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	var busy int
	for err := range errs {
		if codebuddy.ErrorCode(err) == codebuddy.EUNAVAILABLE {
			busy++
			if err.(*codebuddy.Error).RetryAfterSeconds < 1 {
				t.Errorf("no retry hint: %v", err)
			}
		} else if err != nil {
			t.Errorf("unexpected %v", err)
		}
	}
	if busy == 0 {
		t.Fatal("eight concurrent hashes with one slot and a 5 ms deadline: none waited out")
	}
}

func TestSecrets(t *testing.T) {
	a, err := auth.NewSecret()
	b, _ := auth.NewSecret()
	if err != nil || a == b || !strings.HasPrefix(a, auth.TokenPrefix) || len(a) != len(auth.TokenPrefix)+43 {
		t.Fatalf("NewSecret = %q %q %v", a, b, err)
	}
	if string(auth.HashToken(a)) == string(auth.HashToken(b)) || len(auth.HashToken(a)) != 32 {
		t.Fatal("HashToken")
	}
}
