package sqlstore_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/sqlstore"
	"github.com/codebuddy-dev/codebuddy/sqlstore/sqlstoretest"
)

func TestUserTokenRoundTrip(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u := &codebuddy.User{Username: "Alice", Email: "a@example.org"}
		if err := db.CreateUser(ctx, u, "hash"); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateUser(ctx, &codebuddy.User{Username: "alice"}, "h"); codebuddy.ErrorCode(err) != codebuddy.ECONFLICT {
			t.Fatalf("duplicate username (other case): got %v, want conflict", err)
		}
		got, hash, err := db.UserByUsername(ctx, "ALICE")
		if err != nil || hash != "hash" || got.ID != u.ID || !got.CreatedAt.Equal(u.CreatedAt) {
			t.Fatalf("UserByUsername = %+v %q %v; want %+v", got, hash, err, u)
		}
		exp := db.Now().Add(time.Hour)
		tok := &codebuddy.Token{UserID: u.ID, Kind: codebuddy.TokenSession, ExpiresAt: &exp}
		if err := db.CreateToken(ctx, tok, []byte("h1")); err != nil {
			t.Fatal(err)
		}
		gu, gt, err := db.UserByTokenHash(ctx, []byte("h1"), db.Now())
		if err != nil || gu.ID != u.ID || gt.ID != tok.ID || !gt.ExpiresAt.Equal(exp) {
			t.Fatalf("UserByTokenHash = %+v %+v %v", gu, gt, err)
		}
		if _, _, err := db.UserByTokenHash(ctx, []byte("h1"), exp); codebuddy.ErrorCode(err) != codebuddy.EUNAUTHORIZED {
			t.Fatalf("expired token: got %v, want unauthorized", err)
		}
	})
}

func TestUsersConformance(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		clock := withClock(db)
		u := &codebuddy.User{Username: "Bob.Smith", Email: "bob@example.org"}
		if err := db.CreateUser(ctx, u, "h1"); err != nil {
			t.Fatal(err)
		}
		if u.ID == "" || u.Theme != codebuddy.ThemeSystem || u.CreatedAt.IsZero() || !u.UpdatedAt.Equal(u.CreatedAt) {
			t.Fatalf("defaults not filled: %+v", u)
		}
		wantField(t, "invalid user", db.CreateUser(ctx, &codebuddy.User{Username: "x y"}, "h"), codebuddy.EINVALID, "username")
		wantField(t, "conflict", db.CreateUser(ctx, &codebuddy.User{Username: "BOB.SMITH"}, "h"), codebuddy.ECONFLICT, "username")

		got, err := db.UserByID(ctx, u.ID)
		if err != nil || got.Username != "Bob.Smith" || got.Email != "bob@example.org" {
			t.Fatalf("UserByID = %+v %v", got, err)
		}
		_, err = db.UserByID(ctx, "missing")
		wantCode(t, "UserByID missing", err, codebuddy.ENOTFOUND)
		_, _, err = db.UserByUsername(ctx, "nobody")
		wantCode(t, "UserByUsername missing", err, codebuddy.ENOTFOUND)
		// A quote in a name is data, not SQL.
		_, _, err = db.UserByUsername(ctx, "' OR 1=1 --")
		wantCode(t, "UserByUsername injection", err, codebuddy.ENOTFOUND)

		clock.t = clock.t.Add(time.Hour)
		got.Email, got.Theme = "", codebuddy.ThemeDark
		if err := db.UpdateUser(ctx, got); err != nil {
			t.Fatal(err)
		}
		again, hash, _ := db.UserByUsername(ctx, "bob.smith")
		if again.Email != "" || again.Theme != codebuddy.ThemeDark || !again.UpdatedAt.Equal(clock.t) || hash != "h1" {
			t.Fatalf("after update: %+v %q", again, hash)
		}
		wantField(t, "update invalid", db.UpdateUser(ctx, &codebuddy.User{ID: u.ID, Username: "Bob.Smith", Theme: "neon"}), codebuddy.EINVALID, "theme")
		wantCode(t, "update missing", db.UpdateUser(ctx, &codebuddy.User{ID: "missing", Username: "ghost", Theme: "dark"}), codebuddy.ENOTFOUND)

		if err := db.SetPasswordHash(ctx, u.ID, "h2"); err != nil {
			t.Fatal(err)
		}
		if _, hash, _ := db.UserByUsername(ctx, "BOB.smith"); hash != "h2" {
			t.Fatalf("hash after SetPasswordHash = %q", hash)
		}
		wantCode(t, "set password missing", db.SetPasswordHash(ctx, "missing", "h"), codebuddy.ENOTFOUND)
	})
}

func TestTokensConformance(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		clock := withClock(db)
		alice, bob := newUser(t, db, "alice"), newUser(t, db, "bob")
		now := clock.t
		soon, later := now.Add(time.Hour), now.Add(48*time.Hour)
		mk := func(u *codebuddy.User, kind, name string, exp *time.Time, hash string) *codebuddy.Token {
			t.Helper()
			tok := &codebuddy.Token{UserID: u.ID, Kind: kind, Name: name, ExpiresAt: exp}
			if err := db.CreateToken(ctx, tok, []byte(hash)); err != nil {
				t.Fatalf("create token %s: %v", name, err)
			}
			return tok
		}
		login := mk(alice, codebuddy.TokenSession, "", &soon, "login")
		api1 := mk(alice, codebuddy.TokenAPI, "ci", &later, "api1")
		api2 := mk(alice, codebuddy.TokenAPI, "forever", nil, "api2")
		bobs := mk(bob, codebuddy.TokenAPI, "bob", nil, "bob")
		// The step clock moves on every reading: CreatedAt comes from it, after now.
		if !login.CreatedAt.After(now) || login.ID == "" {
			t.Fatalf("token defaults: %+v", login)
		}
		wantCode(t, "token of unknown user", db.CreateToken(ctx, &codebuddy.Token{UserID: "missing", Kind: codebuddy.TokenAPI}, []byte("x")), codebuddy.ENOTFOUND)

		u, tok, err := db.UserByTokenHash(ctx, []byte("api2"), now)
		if err != nil || u.ID != alice.ID || tok.ID != api2.ID || tok.Name != "forever" || tok.ExpiresAt != nil || tok.LastUsedAt != nil {
			t.Fatalf("resolve api2 = %+v %+v %v", u, tok, err)
		}
		_, _, err = db.UserByTokenHash(ctx, []byte("nope"), now)
		wantCode(t, "unknown hash", err, codebuddy.EUNAUTHORIZED)
		// Expiry is exclusive: at expires_at the token is dead.
		if _, _, err := db.UserByTokenHash(ctx, []byte("login"), soon.Add(-time.Microsecond)); err != nil {
			t.Fatalf("just before expiry: %v", err)
		}
		_, _, err = db.UserByTokenHash(ctx, []byte("login"), soon)
		wantCode(t, "at expiry", err, codebuddy.EUNAUTHORIZED)

		used := now.Add(time.Minute)
		if err := db.TouchToken(ctx, api1.ID, used); err != nil {
			t.Fatal(err)
		}
		if _, tok, _ := db.UserByTokenHash(ctx, []byte("api1"), now); tok.LastUsedAt == nil || !tok.LastUsedAt.Equal(used) {
			t.Fatalf("last used %v, want %v", tok.LastUsedAt, used)
		}

		list, err := db.Tokens(ctx, alice.ID, codebuddy.TokenAPI)
		if err != nil || len(list) != 2 || list[0].ID != api1.ID || list[1].ID != api2.ID || !list[0].ExpiresAt.Equal(later) {
			t.Fatalf("Tokens(api) = %+v %v", list, err)
		}
		if list, _ := db.Tokens(ctx, alice.ID, codebuddy.TokenSession); len(list) != 1 || list[0].ID != login.ID {
			t.Fatalf("Tokens(session) = %+v", list)
		}

		wantCode(t, "delete other's token", db.DeleteToken(ctx, bob.ID, api1.ID), codebuddy.ENOTFOUND)
		if err := db.DeleteToken(ctx, alice.ID, api1.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "delete twice", db.DeleteToken(ctx, alice.ID, api1.ID), codebuddy.ENOTFOUND)
		_, _, err = db.UserByTokenHash(ctx, []byte("api1"), now)
		wantCode(t, "deleted token", err, codebuddy.EUNAUTHORIZED)

		n, err := db.DeleteExpiredTokens(ctx, soon)
		if err != nil || n != 1 || count(t, db, "tokens", "user_id = ?", alice.ID) != 1 {
			t.Fatalf("DeleteExpiredTokens = %d %v", n, err)
		}
		if err := db.DeleteUserTokens(ctx, alice.ID); err != nil {
			t.Fatal(err)
		}
		if count(t, db, "tokens", "user_id = ?", alice.ID) != 0 || count(t, db, "tokens", "user_id = ?", bob.ID) != 1 {
			t.Fatal("DeleteUserTokens removed the wrong rows")
		}

		// Deleting a user row removes its tokens (ON DELETE CASCADE).
		if err := db.ExecRaw(ctx, "DELETE FROM users WHERE id = ?", bob.ID); err != nil {
			t.Fatal(err)
		}
		if count(t, db, "tokens", "id = ?", bobs.ID) != 0 {
			t.Fatal("token outlived its user")
		}
	})
}

func TestMigrations(t *testing.T) {
	sqlstoretest.ForEach(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		st, err := db.MigrationStatus(ctx)
		if err != nil || len(st) < 3 {
			t.Fatalf("MigrationStatus = %v %v", st, err)
		}
		for _, line := range st {
			if !strings.Contains(line, "applied") || !strings.Contains(line, ".sql") {
				t.Errorf("status line %q", line)
			}
		}
		if !strings.HasPrefix(st[0], "00001 ") || !strings.Contains(st[0], "00001_init.sql") {
			t.Errorf("first line %q", st[0])
		}
		// Re-running is a no-op and keeps data.
		newUser(t, db, "keeper")
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if count(t, db, "users", "") != 1 {
			t.Fatal("re-running migrations changed data")
		}
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if db.Engine() != sqlstore.SQLite && db.Engine() != sqlstore.Postgres {
			t.Fatalf("Engine %q", db.Engine())
		}
	})
}

func TestSQLiteReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlstore.Open(ctx, sqlstore.Options{DataDir: dir, ReadConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	newUser(t, db, "alice")
	db.Close()
	db, err = sqlstore.Open(ctx, sqlstore.Options{URL: "sqlite:" + dir + "/codebuddy.db"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, _, err := db.UserByUsername(ctx, "alice"); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for name, o := range map[string]sqlstore.Options{
		"scheme":      {URL: "mysql://x"},
		"no data dir": {},
		"unreachable": {URL: "postgres://nobody@127.0.0.1:1/x?connect_timeout=1"},
		"data dir is a file": {DataDir: func() string {
			f := t.TempDir() + "/file"
			os.WriteFile(f, nil, 0o600)
			return f
		}()},
	} {
		if db, err := sqlstore.Open(ctx, o); err == nil {
			db.Close()
			t.Errorf("%s: Open succeeded", name)
		}
	}
}

// TestConcurrentOpenPostgres: two nodes starting at once on an empty schema both
// come up; the advisory lock makes them take turns migrating.
func TestConcurrentOpenPostgres(t *testing.T) {
	if os.Getenv(sqlstoretest.PostgresURLEnv) == "" {
		sqlstoretest.Engines(t) // fails under CODEBUDDY_TEST_REQUIRE_POSTGRES, logs otherwise
		return
	}
	u := sqlstoretest.SchemaURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	dbs := make([]*sqlstore.DB, 3)
	errs := make([]error, 3)
	for i := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = sqlstore.Open(ctx, sqlstore.Options{URL: u})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	newUser(t, dbs[0], "alice")
	if _, _, err := dbs[2].UserByUsername(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
}
