package sqlstore_test

import (
	"context"
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
