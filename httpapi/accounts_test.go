package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/codebuddy-dev/codebuddy/httpapi"
)

func TestRegisterScenarios(t *testing.T) {
	apiForEach(t, func(t *testing.T, env *apiEnv) {
		env.Register("taken")
		long := strings.Repeat("a", 33)
		env.Run(t, []apiScenario{
			{Name: "ok", Method: "POST", URL: "/api/register", Status: 201,
				Body: map[string]any{"username": "new.user-1", "password": "12345678", "email": "n@example.org"},
				JSON: map[string]any{"username": "new.user-1", "email": "n@example.org", "theme": "system"},
				Check: func(t *testing.T, r *apiResp) {
					c := r.Header.Get("Set-Cookie")
					if !strings.Contains(c, httpapi.SessionCookie+"=cb_") || !strings.Contains(c, "HttpOnly") ||
						!strings.Contains(c, "SameSite=Lax") || strings.Contains(c, "Secure") {
						t.Errorf("Set-Cookie = %q", c)
					}
				}},
			{Name: "injection password accepted", Method: "POST", URL: "/api/register", Status: 201,
				Body: map[string]any{"username": "lit", "password": "' OR 1=1 --"}},
			{Name: "script email refused", Method: "POST", URL: "/api/register", Status: 422, Problem: field("email"),
				Body: map[string]any{"username": "scripted", "password": "12345678", "email": "<script>alert(1)</script>@x.org"}},
			{Name: "duplicate other case", Method: "POST", URL: "/api/register", Status: 409, Problem: field(""),
				Body: map[string]any{"username": "TAKEN", "password": "12345678"}},
			{Name: "malformed json", Method: "POST", URL: "/api/register", Body: `{"username":`, Status: 400, Problem: field("")},
			{Name: "not an object", Method: "POST", URL: "/api/register", Body: `[1,2]`, Status: 422, Problem: field("")},
			{Name: "wrong type", Method: "POST", URL: "/api/register", Body: `{"username":5,"password":"12345678"}`,
				Status: 422, Problem: field("username")},
			{Name: "empty body", Method: "POST", URL: "/api/register", Body: ``, Status: 400, Problem: field("")},
			{Name: "missing username", Method: "POST", URL: "/api/register", Status: 422, Problem: field("username"),
				Body: map[string]any{"password": "12345678"}},
			{Name: "missing password", Method: "POST", URL: "/api/register", Status: 422, Problem: field("password"),
				Body: map[string]any{"username": "nopass"}},
			{Name: "short username", Method: "POST", URL: "/api/register", Status: 422, Problem: field("username"),
				Body: map[string]any{"username": "ab", "password": "12345678"}},
			{Name: "oversize username", Method: "POST", URL: "/api/register", Status: 422, Problem: field("username"),
				Body: map[string]any{"username": long, "password": "12345678"}},
			{Name: "bad username chars", Method: "POST", URL: "/api/register", Status: 422, Problem: field("username"),
				Body: map[string]any{"username": "a b<script>", "password": "12345678"}},
			{Name: "injection username refused", Method: "POST", URL: "/api/register", Status: 422, Problem: field("username"),
				Body: map[string]any{"username": "' OR 1=1 --", "password": "12345678"}},
			{Name: "short password", Method: "POST", URL: "/api/register", Status: 422, Problem: field("password"),
				Body: map[string]any{"username": "shortpw", "password": "1234567"}},
			{Name: "oversize password", Method: "POST", URL: "/api/register", Status: 422, Problem: field("password"),
				Body: map[string]any{"username": "longpw", "password": strings.Repeat("p", 257)}},
			{Name: "oversize email", Method: "POST", URL: "/api/register", Status: 422, Problem: field("email"),
				Body: map[string]any{"username": "longmail", "password": "12345678", "email": strings.Repeat("e", 250) + "@x.org"}},
			{Name: "oversize body", Method: "POST", URL: "/api/register", Status: 413, Problem: field(""),
				Body: map[string]any{"username": "big", "password": "12345678", "email": strings.Repeat("x", 70000)}},
			{Name: "wrong content type", Method: "POST", URL: "/api/register", Status: 415,
				Headers: []string{"Content-Type", "text/plain"}, Body: `{"username":"ctype","password":"12345678"}`},
		})
		// The injection password is a password like any other: it signs in, a near miss does not.
		c := env.Anon()
		if r := c.Do("POST", "/api/login", map[string]string{"username": "lit", "password": "' OR 1=1 --"}); r.Status != 200 {
			t.Fatalf("login with injection password: %d %s", r.Status, r.Body)
		}
		if r := c.Do("POST", "/api/login", map[string]string{"username": "lit", "password": "' OR 1=2 --"}); r.Status != 401 {
			t.Fatalf("login with another injection: %d %s", r.Status, r.Body)
		}
	}, withEnv("CODEBUDDY_MAX_BODY_BYTES", "65536"))
}

func TestChunkedOversizeBodyIs413(t *testing.T) {
	env := newAPIEnv(t, "sqlite", withEnv("CODEBUDDY_MAX_BODY_BYTES", "2048"))
	c := env.Anon()
	// An io.Reader body has no Content-Length, so the limit is met while reading.
	body := strings.NewReader(`{"username":"chunky","password":"12345678","email":"` + strings.Repeat("x", 4000) + `"}`)
	r := c.Do("POST", "/api/register", onlyReader{body})
	if r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %s", r.Status, r.Body)
	}
	parseProblem(t, r)
}

// onlyReader hides a reader's Len so net/http sends the body chunked.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestLoginScenarios(t *testing.T) {
	apiForEach(t, func(t *testing.T, env *apiEnv) {
		alice := env.Register("alice")
		env.Run(t, []apiScenario{
			{Name: "ok other case", Method: "POST", URL: "/api/login", Status: 200,
				Body: map[string]string{"username": "ALICE", "password": testPassword},
				JSON: map[string]any{"id": alice.User.ID, "username": "alice"},
				Check: func(t *testing.T, r *apiResp) {
					if !strings.Contains(r.Header.Get("Set-Cookie"), httpapi.SessionCookie+"=cb_") {
						t.Errorf("no login cookie: %q", r.Header.Get("Set-Cookie"))
					}
				}},
			{Name: "wrong password", Method: "POST", URL: "/api/login", Status: 401, Problem: field(""),
				Body: map[string]string{"username": "alice", "password": "wrong password"}, NotContains: []string{"Set-Cookie"}},
			{Name: "unknown user", Method: "POST", URL: "/api/login", Status: 401, Problem: field(""),
				Body: map[string]string{"username": "nobody", "password": testPassword}},
			{Name: "injection", Method: "POST", URL: "/api/login", Status: 401, Problem: field(""),
				Body: map[string]string{"username": "alice' OR 1=1 --", "password": "' OR 1=1 --"}},
			{Name: "missing password", Method: "POST", URL: "/api/login", Status: 422, Problem: field("password"),
				Body: map[string]string{"username": "alice"}},
			{Name: "empty username", Method: "POST", URL: "/api/login", Status: 422, Problem: field("username"),
				Body: map[string]string{"username": "", "password": "x"}},
			{Name: "oversize password", Method: "POST", URL: "/api/login", Status: 422, Problem: field("password"),
				Body: map[string]string{"username": "alice", "password": strings.Repeat("p", 1025)}},
			{Name: "malformed", Method: "POST", URL: "/api/login", Status: 400, Body: `{"username":"alice",}`, Problem: field("")},
		})
	})
}

func TestSixthFailedLoginIs429(t *testing.T) {
	apiForEach(t, func(t *testing.T, env *apiEnv) {
		env.Register("bob")
		c := env.Anon()
		login := func(pw string) *apiResp {
			return c.Do("POST", "/api/login", map[string]string{"username": "bob", "password": pw})
		}
		for i := range 4 {
			if r := login("wrong password"); r.Status != 401 {
				t.Fatalf("failure %d: %d %s", i+1, r.Status, r.Body)
			}
		}
		// Successful logins in between do not count.
		for range 3 {
			if r := login(testPassword); r.Status != 200 {
				t.Fatalf("good login after 4 failures: %d %s", r.Status, r.Body)
			}
		}
		if r := login("wrong password"); r.Status != 401 {
			t.Fatalf("fifth failure: %d %s", r.Status, r.Body)
		}
		for _, pw := range []string{"wrong password", testPassword} {
			r := login(pw)
			if r.Status != http.StatusTooManyRequests {
				t.Fatalf("after five failures (%q): %d %s", pw, r.Status, r.Body)
			}
			parseProblem(t, r)
			if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 3600 {
				t.Fatalf("Retry-After = %q", r.Header.Get("Retry-After"))
			}
		}
		// Another username from the same address is not blocked.
		env.Register("carol")
		if r := c.Do("POST", "/api/login", map[string]string{"username": "carol", "password": testPassword}); r.Status != 200 {
			t.Fatalf("other user blocked: %d", r.Status)
		}
		// After the window has slid by, bob may try again.
		env.Advance(2 * time.Hour)
		if r := login(testPassword); r.Status != 200 {
			t.Fatalf("after two hours: %d %s", r.Status, r.Body)
		}
	})
}

func TestUserAndLogout(t *testing.T) {
	apiForEach(t, func(t *testing.T, env *apiEnv) {
		alice := env.Register("alice")
		cookie := alice.Cookie()
		env.Run(t, []apiScenario{
			{Name: "anonymous user", URL: "/api/user", Status: 401, Problem: field("")},
			{Name: "cookie user", URL: "/api/user", Client: alice, Status: 200, JSON: map[string]any{"username": "alice"}},
			{Name: "garbage bearer", URL: "/api/user", Client: env.Bearer("cb_nonsense"), Status: 401, Contains: []string{"invalid or revoked"}},
			{Name: "bearer without prefix", URL: "/api/user", Client: env.Bearer("' OR 1=1 --"), Status: 401},
			{Name: "overlong bearer", URL: "/api/user", Client: env.Bearer("cb_" + strings.Repeat("a", 500)), Status: 401},
			{Name: "login cookie as bearer", URL: "/api/user", Client: env.Bearer(cookie), Status: 200,
				JSON: map[string]any{"id": alice.User.ID}},
			{Name: "basic auth is no credential", URL: "/api/user", Headers: []string{"Authorization", "Basic YTpi"}, Status: 401},
			// An Authorization header is the credential when present; the cookie is not a fallback.
			{Name: "bad bearer beside a good cookie", URL: "/api/user", Client: alice,
				Headers: []string{"Authorization", "Bearer cb_revoked"}, Status: 401, Problem: field("")},
			{Name: "patch theme", Method: "PATCH", URL: "/api/user", Client: alice, Body: map[string]any{"theme": "dark"},
				Status: 200, JSON: map[string]any{"theme": "dark", "username": "alice"}},
			{Name: "patch email", Method: "PATCH", URL: "/api/user", Client: alice,
				Body: map[string]any{"email": "o'brien+x@e.org"}, Status: 200,
				Check: func(t *testing.T, r *apiResp) {
					var u httpapi.User
					r.Decode(t, &u)
					if u.Email != "o'brien+x@e.org" || u.Theme != "dark" {
						t.Errorf("user %+v", u)
					}
				}},
			{Name: "patch script email refused", Method: "PATCH", URL: "/api/user", Client: alice,
				Body: map[string]any{"email": "<script>x</script>@e.org"}, Status: 422, Problem: field("email")},
			{Name: "patch bad theme", Method: "PATCH", URL: "/api/user", Client: alice, Body: map[string]any{"theme": "neon"},
				Status: 422, Problem: field("theme")},
			{Name: "patch oversize email", Method: "PATCH", URL: "/api/user", Client: alice,
				Body: map[string]any{"email": strings.Repeat("e", 255)}, Status: 422, Problem: field("email")},
			{Name: "patch anonymous", Method: "PATCH", URL: "/api/user", Body: map[string]any{"theme": "dark"}, Status: 401},
			{Name: "user read back", URL: "/api/user", Client: alice, Status: 200,
				JSON: map[string]any{"theme": "dark", "email": "o'brien+x@e.org"}},
		})
		// Logout clears the cookie and revokes the token server-side.
		r := alice.Do("POST", "/api/logout", nil)
		if r.Status != 204 || !strings.Contains(r.Header.Get("Set-Cookie"), "Max-Age=0") {
			t.Fatalf("logout: %d %q", r.Status, r.Header.Get("Set-Cookie"))
		}
		if r := env.Bearer(cookie).Do("GET", "/api/user", nil); r.Status != 401 {
			t.Fatalf("revoked login token still works: %d", r.Status)
		}
		// Logout without credentials is harmless.
		if r := env.Anon().Do("POST", "/api/logout", nil); r.Status != 204 {
			t.Fatalf("anonymous logout: %d", r.Status)
		}
	})
}

func TestExpiredLoginToken(t *testing.T) {
	apiForEach(t, func(t *testing.T, env *apiEnv) {
		alice := env.Register("alice")
		env.Advance(59 * time.Minute)
		if r := alice.Do("GET", "/api/user", nil); r.Status != 200 {
			t.Fatalf("before expiry: %d", r.Status)
		}
		env.Advance(2 * time.Minute)
		r := env.Bearer(alice.Cookie()).Do("GET", "/api/user", nil)
		if r.Status != 401 {
			t.Fatalf("after expiry: %d %s", r.Status, r.Body)
		}
		parseProblem(t, r)
	}, withEnv("CODEBUDDY_SESSION_TTL", "1h"))
}

func TestAPITokens(t *testing.T) {
	apiForEach(t, func(t *testing.T, env *apiEnv) {
		alice, bob := env.Register("alice"), env.Register("bob")
		secret := alice.APIToken("ci", 1)
		forever := alice.APIToken("forever", 0)
		if !strings.HasPrefix(secret, "cb_") {
			t.Fatalf("secret %q", secret)
		}
		var list struct {
			Tokens []httpapi.APIToken `json:"tokens"`
		}
		alice.Do("GET", "/api/tokens", nil).Decode(t, &list)
		if len(list.Tokens) != 2 || list.Tokens[0].Name == "" {
			t.Fatalf("tokens %+v", list.Tokens)
		}
		var ci httpapi.APIToken
		for _, tk := range list.Tokens {
			if tk.Name == "ci" {
				ci = tk
			}
		}
		if ci.ExpiresAt == nil {
			t.Fatalf("ci token without expiry: %+v", ci)
		}
		bearer := env.Bearer(secret)
		env.Run(t, []apiScenario{
			{Name: "bearer user", URL: "/api/user", Client: bearer, Status: 200, JSON: map[string]any{"id": alice.User.ID}},
			{Name: "list never shows secrets", URL: "/api/tokens", Client: alice, Status: 200, NotContains: []string{secret, "cb_"}},
			{Name: "anonymous list", URL: "/api/tokens", Status: 401},
			{Name: "bob sees none", URL: "/api/tokens", Client: bob, Status: 200, Contains: []string{`"tokens":[]`}},
			{Name: "bob cannot delete", Method: "DELETE", URL: "/api/tokens/" + ci.ID, Client: bob, Status: 404, Problem: field("")},
			{Name: "missing name", Method: "POST", URL: "/api/tokens", Client: alice, Body: map[string]any{}, Status: 422, Problem: field("name")},
			{Name: "blank name", Method: "POST", URL: "/api/tokens", Client: alice, Body: map[string]any{"name": "   "}, Status: 422, Problem: field("name")},
			{Name: "oversize name", Method: "POST", URL: "/api/tokens", Client: alice, Body: map[string]any{"name": strings.Repeat("n", 101)}, Status: 422, Problem: field("name")},
			{Name: "too long expiry", Method: "POST", URL: "/api/tokens", Client: alice, Body: map[string]any{"name": "x", "expiresInDays": 367}, Status: 422, Problem: field("expiresInDays")},
			{Name: "negative expiry", Method: "POST", URL: "/api/tokens", Client: alice, Body: map[string]any{"name": "x", "expiresInDays": -1}, Status: 422, Problem: field("expiresInDays")},
			{Name: "anonymous create", Method: "POST", URL: "/api/tokens", Body: map[string]any{"name": "x"}, Status: 401},
			{Name: "script and injection name", Method: "POST", URL: "/api/tokens", Client: bob,
				Body: map[string]any{"name": "<script>alert(1)</script>' OR 1=1 --"}, Status: 201},
			{Name: "stored literally", URL: "/api/tokens", Client: bob, Status: 200,
				Check: func(t *testing.T, r *apiResp) {
					var l struct {
						Tokens []httpapi.APIToken `json:"tokens"`
					}
					r.Decode(t, &l)
					if len(l.Tokens) != 1 || l.Tokens[0].Name != "<script>alert(1)</script>' OR 1=1 --" {
						t.Errorf("tokens %+v", l.Tokens)
					}
					// Literal in JSON is safe: application/json with nosniff is never rendered as HTML.
					if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
						t.Errorf("Content-Type %q", ct)
					}
				}},
			{Name: "delete unknown", Method: "DELETE", URL: "/api/tokens/nope", Client: alice, Status: 404},
			{Name: "delete oversize id", Method: "DELETE", URL: "/api/tokens/" + strings.Repeat("i", 65), Client: alice, Status: 422},
		})
		// CrossOriginProtection judges the Origin, whatever the credential.
		if r := bearer.Do("PATCH", "/api/user", map[string]any{"theme": "light"}, "Origin", "https://evil.example"); r.Status != 403 {
			t.Fatalf("bearer cross-origin PATCH: %d", r.Status)
		}
		// Expiry: one day later the "ci" token is refused, "forever" still works.
		env.Advance(25 * time.Hour)
		if r := bearer.Do("GET", "/api/user", nil); r.Status != 401 {
			t.Fatalf("expired API token: %d", r.Status)
		}
		if r := env.Bearer(forever).Do("GET", "/api/user", nil); r.Status != 200 {
			t.Fatalf("non-expiring token: %d", r.Status)
		}
		// Deleting a token revokes it.
		alice.Do("GET", "/api/tokens", nil).Decode(t, &list)
		for _, tk := range list.Tokens {
			if tk.Name == "forever" {
				if tk.LastUsedAt == nil {
					t.Errorf("forever token has no lastUsedAt after use")
				}
				if r := env.Bearer(forever).Do("DELETE", "/api/tokens/"+tk.ID, nil); r.Status != 204 {
					t.Fatalf("delete token: %d %s", r.Status, r.Body)
				}
			}
		}
		if r := env.Bearer(forever).Do("GET", "/api/user", nil); r.Status != 401 {
			t.Fatalf("deleted token still works: %d", r.Status)
		}
	})
}

func TestResetPasswordRevokesTokens(t *testing.T) {
	apiForEach(t, func(t *testing.T, env *apiEnv) {
		alice := env.Register("alice")
		secret := alice.APIToken("ci", 0)
		if err := env.Auth.ResetPassword(context.Background(), "alice", "a new password"); err != nil {
			t.Fatal(err)
		}
		for name, c := range map[string]*apiClient{"cookie": alice, "bearer": env.Bearer(secret)} {
			if r := c.Do("GET", "/api/user", nil); r.Status != 401 {
				t.Errorf("%s after reset: %d", name, r.Status)
			}
		}
		c := env.Anon()
		if r := c.Do("POST", "/api/login", map[string]string{"username": "alice", "password": testPassword}); r.Status != 401 {
			t.Fatalf("old password: %d", r.Status)
		}
		if r := c.Do("POST", "/api/login", map[string]string{"username": "alice", "password": "a new password"}); r.Status != 200 {
			t.Fatalf("new password: %d", r.Status)
		}
	})
}

func TestCrossOrigin(t *testing.T) {
	apiForEach(t, func(t *testing.T, env *apiEnv) {
		alice := env.Register("alice")
		body := map[string]any{"theme": "light"}
		env.Run(t, []apiScenario{
			{Name: "foreign origin POST", Method: "POST", URL: "/api/login", Headers: []string{"Origin", "https://evil.example"},
				Body: map[string]string{"username": "alice", "password": testPassword}, Status: 403, Problem: field("")},
			{Name: "cross-site fetch metadata", Method: "PATCH", URL: "/api/user", Client: alice,
				Headers: []string{"Sec-Fetch-Site", "cross-site"}, Body: body, Status: 403},
			{Name: "allowed extra origin", Method: "PATCH", URL: "/api/user", Client: alice,
				Headers: []string{"Origin", "https://app.example.org"}, Body: body, Status: 200,
				Check: func(t *testing.T, r *apiResp) {
					if r.Header.Get("Access-Control-Allow-Origin") != "https://app.example.org" ||
						r.Header.Get("Access-Control-Allow-Credentials") != "true" {
						t.Errorf("CORS headers %v", r.Header)
					}
				}},
			{Name: "base url origin", Method: "PATCH", URL: "/api/user", Client: alice,
				Headers: []string{"Origin", "http://localhost:8080"}, Body: body, Status: 200},
			{Name: "foreign origin GET is fine but not CORS", URL: "/api/user", Client: alice,
				Headers: []string{"Origin", "https://evil.example"}, Status: 200,
				Check: func(t *testing.T, r *apiResp) {
					if r.Header.Get("Access-Control-Allow-Origin") != "" {
						t.Errorf("CORS granted to a foreign origin")
					}
				}},
			{Name: "preflight allowed", Method: "OPTIONS", URL: "/api/user",
				Headers: []string{"Origin", "https://app.example.org", "Access-Control-Request-Method", "PATCH"}, Status: 204,
				Check: func(t *testing.T, r *apiResp) {
					if !strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "PATCH") ||
						!strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
						t.Errorf("preflight headers %v", r.Header)
					}
				}},
			{Name: "preflight foreign", Method: "OPTIONS", URL: "/api/user",
				Headers: []string{"Origin", "https://evil.example", "Access-Control-Request-Method", "PATCH"},
				Check: func(t *testing.T, r *apiResp) {
					if r.Header.Get("Access-Control-Allow-Origin") != "" {
						t.Errorf("preflight granted to a foreign origin")
					}
				}, Status: 405},
		})
	}, withEnv("CODEBUDDY_ALLOWED_ORIGINS", "https://app.example.org"))
}

func TestRateLimits(t *testing.T) {
	env := newAPIEnv(t, "sqlite", withEnv("CODEBUDDY_RATE_LIMIT_ANONYMOUS", "6"), withEnv("CODEBUDDY_RATE_LIMIT_USER", "3"))
	alice := env.Register("alice") // one anonymous request
	for i := range 3 {
		if r := alice.Do("GET", "/api/user", nil); r.Status != 200 {
			t.Fatalf("user request %d: %d", i+1, r.Status)
		}
	}
	r := alice.Do("GET", "/api/user", nil)
	if r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("fourth user request: %d Retry-After %q", r.Status, r.Header.Get("Retry-After"))
	}
	checkBaseline(t, r)
	parseProblem(t, r)
	// The anonymous budget of the same address is separate: 5 left.
	anon := env.Anon()
	for i := range 5 {
		if r := anon.Do("GET", "/healthz", nil); r.Status != 200 {
			t.Fatalf("anonymous request %d: %d", i+2, r.Status)
		}
	}
	if r := anon.Do("GET", "/healthz", nil); r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("seventh anonymous request: %d", r.Status)
	}
	// The window slides: two minutes later both budgets are back.
	env.Advance(2 * time.Minute)
	if r := alice.Do("GET", "/api/user", nil); r.Status != 200 {
		t.Fatalf("user after the window: %d", r.Status)
	}
	if r := anon.Do("GET", "/healthz", nil); r.Status != 200 {
		t.Fatalf("anonymous after the window: %d", r.Status)
	}
}

func TestRegisterLimitPerAddress(t *testing.T) {
	env := newAPIEnv(t, "sqlite")
	for i := range 30 {
		env.Register(fmt.Sprintf("user%02d", i))
	}
	r := env.Anon().Do("POST", "/api/register", map[string]string{"username": "onemore", "password": testPassword})
	if r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("31st sign-up: %d %q %s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
}

func TestTrustedProxyClientIP(t *testing.T) {
	env := newAPIEnv(t, "sqlite", withEnv("CODEBUDDY_TRUSTED_PROXIES", "127.0.0.1"), withEnv("CODEBUDDY_RATE_LIMIT_ANONYMOUS", "2"))
	c := env.Anon()
	for i := range 2 {
		if r := c.Do("GET", "/healthz", nil, "X-Forwarded-For", "203.0.113.9"); r.Status != 200 {
			t.Fatalf("request %d: %d", i, r.Status)
		}
	}
	if r := c.Do("GET", "/healthz", nil, "X-Forwarded-For", "203.0.113.9"); r.Status != 429 {
		t.Fatalf("third from 203.0.113.9: %d", r.Status)
	}
	// Another forwarded client has its own budget; a spoofed left-most entry does not help.
	if r := c.Do("GET", "/healthz", nil, "X-Forwarded-For", "203.0.113.9, 198.51.100.7"); r.Status != 200 {
		t.Fatalf("other client: %d", r.Status)
	}
}

func TestOps(t *testing.T) {
	var fail bool
	var mu sync.Mutex
	checks := withChecks(
		httpapi.Check{Name: "database", Check: func(context.Context) error { return nil }},
		httpapi.Check{Name: "flaky", Check: func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			if fail {
				return errors.New("flaky is down")
			}
			return nil
		}})
	apiForEach(t, func(t *testing.T, env *apiEnv) {
		alice := env.Register("alice")
		alice.Do("GET", "/api/user", nil)
		mu.Lock()
		fail = false
		mu.Unlock()
		env.Run(t, []apiScenario{
			{Name: "healthz", URL: "/healthz", Status: 200, JSON: map[string]any{"status": "ok"}},
			{Name: "readyz ok", URL: "/readyz", Status: 200, JSON: map[string]any{"status": "ok", "version": "test"},
				Contains: []string{`"database":{"status":"ok"`, `"flaky":{"status":"ok"`}},
			{Name: "metrics", URL: "/metrics", Status: 200, Contains: []string{
				`codebuddy_http_request_duration_seconds_bucket{method="GET",route="GET /api/user",status="200"`,
				`codebuddy_http_request_duration_seconds_count{method="POST",route="POST /api/register",status="201"}`,
				"codebuddy_http_requests_in_flight", "go_goroutines"}},
			{Name: "openapi", URL: "/api/openapi.json", Status: 200, Contains: []string{`"openapi":"3.1`, `"/api/register"`,
				`"/api/login"`, `"/api/logout"`, `"/api/user"`, `"/api/tokens"`, `"/api/tokens/{id}"`, `"bearer"`}},
			{Name: "docs", URL: "/api/docs", Status: 200, Contains: []string{"<html"}, NotContains: []string{"https://cdn", "unpkg.com", "jsdelivr"}},
			{Name: "docs js", URL: "/api/docs/docs.js", Status: 200, NotContains: []string{"https://cdn"}},
			{Name: "docs css", URL: "/api/docs/docs.css", Status: 200},
			{Name: "docs other", URL: "/api/docs/secret.txt", Status: 404},
			{Name: "unknown api", URL: "/api/nope", Status: 404, Problem: field("/api/nope")},
			{Name: "unknown api post", Method: "POST", URL: "/api/nope/deeper", Body: "{}", Status: 404, Problem: field("")},
			{Name: "wrong method", Method: "DELETE", URL: "/api/user", Status: 405, Problem: field(""),
				Check: func(t *testing.T, r *apiResp) {
					if r.Header.Get("Allow") != "GET, PATCH" {
						t.Errorf("Allow = %q", r.Header.Get("Allow"))
					}
				}},
			{Name: "no client built", URL: "/", Status: 200, Contains: []string{"built without the web client"}},
		})
		mu.Lock()
		fail = true
		mu.Unlock()
		env.Run(t, []apiScenario{{Name: "readyz failing", URL: "/readyz", Status: 503,
			JSON: map[string]any{"status": "fail"}, Contains: []string{`"flaky":{"status":"fail","error":"flaky is down"`, `"database":{"status":"ok"`}}})
	}, checks)
}

func TestDocsLinkOnlyLocalAssets(t *testing.T) {
	env := newAPIEnv(t, "sqlite")
	r := env.Anon().Do("GET", "/api/docs", nil)
	for _, bad := range []string{"<script>", "src=\"http", "href=\"http"} {
		if strings.Contains(string(r.Body), bad) {
			t.Errorf("docs page contains %q (inline script or remote asset)", bad)
		}
	}
}

func TestSPA(t *testing.T) {
	web := fstest.MapFS{
		"index.html":           {Data: []byte("<!doctype html><title>app shell</title>")},
		"assets/app-abc123.js": {Data: []byte("console.log('app')")},
		"favicon.svg":          {Data: []byte("<svg/>")},
		"assets/sub/x.css":     {Data: []byte("body{}")},
	}
	apiForEach(t, func(t *testing.T, env *apiEnv) {
		cache := func(want string) func(*testing.T, *apiResp) {
			return func(t *testing.T, r *apiResp) {
				if got := r.Header.Get("Cache-Control"); got != want {
					t.Errorf("Cache-Control = %q, want %q", got, want)
				}
			}
		}
		env.Run(t, []apiScenario{
			{Name: "root", URL: "/", Status: 200, Contains: []string{"app shell"}, Check: cache("no-cache")},
			{Name: "index", URL: "/index.html", Status: 200, Contains: []string{"app shell"}, Check: cache("no-cache")},
			{Name: "client route falls back", URL: "/sessions/abc/files", Status: 200, Contains: []string{"app shell"}, Check: cache("no-cache")},
			{Name: "hashed asset", URL: "/assets/app-abc123.js", Status: 200, Contains: []string{"console.log"},
				Check: cache("public, max-age=31536000, immutable")},
			{Name: "nested asset", URL: "/assets/sub/x.css", Status: 200, Check: cache("public, max-age=31536000, immutable")},
			{Name: "root file", URL: "/favicon.svg", Status: 200, Check: cache("no-cache")},
			{Name: "missing asset is 404", URL: "/assets/gone-1.js", Status: 404, NotContains: []string{"app shell"}},
			{Name: "missing file with extension", URL: "/robots.txt", Status: 404},
			{Name: "traversal is cleaned", URL: "/../../etc/passwd", Status: 307, NotContains: []string{"root:"},
				Check: func(t *testing.T, r *apiResp) {
					if r.Header.Get("Location") != "/etc/passwd" {
						t.Errorf("Location = %q", r.Header.Get("Location"))
					}
				}},
			{Name: "post is 405", Method: "POST", URL: "/somewhere", Body: "{}", Status: 405, Problem: field("")},
			{Name: "api not shell", URL: "/api/unknown", Status: 404, NotContains: []string{"app shell"}, Problem: field("")},
		})
	}, withWeb(web))
}

func TestSPAWithoutIndex(t *testing.T) {
	env := newAPIEnv(t, "sqlite", withWeb(fstest.MapFS{"assets/a.js": {Data: []byte("x")}}))
	env.Run(t, []apiScenario{{Name: "notice", URL: "/", Status: 200, Contains: []string{"built without the web client"}}})
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logLine returns the decoded log record whose request_id is id.
func logLine(t *testing.T, log, id string) map[string]any {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["request_id"] == id && rec["msg"] == "request" {
			return rec
		}
	}
	t.Fatalf("no request log for %s in:\n%s", id, log)
	return nil
}

func TestAccessLog(t *testing.T) {
	var log syncBuffer
	env := newAPIEnv(t, "sqlite", withLog(&log))
	alice := env.Register("alice")
	r := alice.Do("GET", "/api/user", nil)
	rec := logLine(t, log.String(), r.Header.Get("X-Request-Id"))
	if rec["route"] != "GET /api/user" || rec["status"] != float64(200) || rec["user_id"] != alice.User.ID ||
		rec["method"] != "GET" || rec["latency_ms"] == nil || rec["level"] != "INFO" {
		t.Fatalf("access log %v", rec)
	}
	r = env.Anon().Do("GET", "/api/nothing-here", nil)
	if rec := logLine(t, log.String(), r.Header.Get("X-Request-Id")); rec["route"] != "/api/" || rec["user_id"] != nil {
		t.Fatalf("anonymous log %v", rec)
	}
}

func TestPanicRecovery(t *testing.T) {
	var log syncBuffer
	env := newAPIEnv(t, "sqlite", withLog(&log), withSetup(func(s *httpapi.Server) {
		s.Mux().HandleFunc("GET /api/test/panic", func(http.ResponseWriter, *http.Request) {
			panic("secret internal detail")
		})
	}))
	r := env.Anon().Do("GET", "/api/test/panic", nil)
	if r.Status != 500 {
		t.Fatalf("status %d", r.Status)
	}
	p := parseProblem(t, r)
	if p.RequestID == "" || p.RequestID != r.Header.Get("X-Request-Id") || !strings.Contains(p.Detail, p.RequestID) {
		t.Fatalf("problem %+v, X-Request-Id %q", p, r.Header.Get("X-Request-Id"))
	}
	for _, leak := range []string{"secret internal detail", "goroutine", ".go:"} {
		if strings.Contains(string(r.Body), leak) {
			t.Fatalf("500 body leaks %q: %s", leak, r.Body)
		}
	}
	// The stack goes to the log, with the request ID, and the request is logged as an error.
	var logged bool
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.Contains(line, `"msg":"panic"`) && strings.Contains(line, p.RequestID) &&
			strings.Contains(line, "secret internal detail") && strings.Contains(line, "goroutine") {
			logged = true
		}
	}
	if !logged {
		t.Fatalf("panic not logged with its stack:\n%s", log.String())
	}
	if rec := logLine(t, log.String(), p.RequestID); rec["status"] != float64(500) || rec["level"] != "ERROR" {
		t.Fatalf("request log %v", rec)
	}
	// The server keeps serving.
	if r := env.Anon().Do("GET", "/healthz", nil); r.Status != 200 {
		t.Fatalf("after panic: %d", r.Status)
	}
}

func TestRequestIDsDiffer(t *testing.T) {
	env := newAPIEnv(t, "sqlite")
	a := env.Anon().Do("GET", "/healthz", nil).Header.Get("X-Request-Id")
	b := env.Anon().Do("GET", "/healthz", nil).Header.Get("X-Request-Id")
	if a == "" || a == b {
		t.Fatalf("request IDs %q %q", a, b)
	}
}

func TestHTTPSBaseURL(t *testing.T) {
	env := newAPIEnv(t, "sqlite", withEnv("CODEBUDDY_BASE_URL", "https://code.example.org"))
	r := env.Anon().Do("POST", "/api/register", map[string]string{"username": "alice", "password": testPassword})
	if r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	if !strings.Contains(r.Header.Get("Set-Cookie"), "Secure") {
		t.Errorf("cookie without Secure under https: %q", r.Header.Get("Set-Cookie"))
	}
	if !strings.Contains(r.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Errorf("no HSTS under https")
	}
	// And plain http has none.
	plain := newAPIEnv(t, "sqlite")
	if h := plain.Anon().Do("GET", "/healthz", nil).Header.Get("Strict-Transport-Security"); h != "" {
		t.Errorf("HSTS over plain http: %q", h)
	}
}

// TestNoInputYields500 throws odd bodies and paths at every endpoint of the accounts API.
func TestNoInputYields500(t *testing.T) {
	apiForEach(t, func(t *testing.T, env *apiEnv) {
		alice := env.Register("alice")
		bodies := []string{
			"", "null", "0", "-1", "1e999", `"str"`, "[]", "[[[[[[[[[[]]]]]]]]]]", "{}", "{", "}", `{"a":}`,
			strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
			`{"username":null,"password":null}`, `{"username":[],"password":{}}`,
			`{"username":"` + strings.Repeat("é", 40) + `","password":"12345678"}`,
			`{"username":"a\u0000b","password":"12345678"}`, `{"username":"abc","password":"\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000"}`,
			`{"name":"x","expiresInDays":1e30}`, `{"name":"x","expiresInDays":"1"}`, `{"email":null,"theme":null}`,
			`{"theme":1}`, `{"email":"` + strings.Repeat("\\ud800", 10) + `"}`, "\xff\xfe\xfd", `{"username":"abc","password":"12345678","extra":1}`,
			`{"username":"abc","password":"12345678"}{"x":1}`,
		}
		endpoints := []struct{ method, path string }{
			{"POST", "/api/register"}, {"POST", "/api/login"}, {"POST", "/api/logout"}, {"PATCH", "/api/user"},
			{"POST", "/api/tokens"}, {"DELETE", "/api/tokens/%00"}, {"GET", "/api/user?x=%ff"}, {"PUT", "/api/user"},
		}
		for _, ep := range endpoints {
			for _, b := range bodies {
				for _, c := range []*apiClient{env.Anon(), alice} {
					r := c.Do(ep.method, ep.path, b)
					if r.Status >= 500 {
						t.Errorf("%s %s %.60q: %d %s", ep.method, ep.path, b, r.Status, trim(r.Body))
					}
				}
			}
		}
		// alice logged herself out above; nothing else broke.
		if r := env.Anon().Do("POST", "/api/login", map[string]string{"username": "alice", "password": testPassword}); r.Status != 200 {
			t.Fatalf("login after the barrage: %d %s", r.Status, r.Body)
		}
	})
}
