package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/auth"
	"github.com/codebuddy-dev/codebuddy/broker"
	"github.com/codebuddy-dev/codebuddy/collab"
	"github.com/codebuddy-dev/codebuddy/config"
	"github.com/codebuddy-dev/codebuddy/httpapi"
	"github.com/codebuddy-dev/codebuddy/sqlstore"
	"github.com/codebuddy-dev/codebuddy/sqlstore/sqlstoretest"
	"github.com/codebuddy-dev/codebuddy/workspace"
)

// wsEnv is the workspace API as cmd/codebuddy wires it (store, workspace service,
// real-time hub for file contents, HTTP server) on a real database, served by an
// httptest.Server. Names here carry a ws prefix so this file can sit beside other
// harnesses of the package.
type wsEnv struct {
	t   *testing.T
	DB  *sqlstore.DB
	WS  *workspace.Service
	URL string

	// skew moves the clock of the store and the services forward (Advance).
	skew atomic.Int64
}

// Now is the environment's clock: real time plus what Advance added.
func (e *wsEnv) Now() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond).Add(time.Duration(e.skew.Load()))
}

// Advance moves the clock forward, e.g. past an invite's expiry.
func (e *wsEnv) Advance(d time.Duration) { e.skew.Add(int64(d)) }

// wsUser is a signed-in account; Token is its bearer secret ("" for anonymous).
type wsUser struct {
	*codebuddy.User
	Token string
}

// wsAnon makes requests without credentials.
var wsAnon = wsUser{User: &codebuddy.User{Username: "anonymous"}}

// wsStarter mirrors cmd/codebuddy's starter table for the two languages tests use.
func wsStarter(language string) ([]*codebuddy.File, bool) {
	switch language {
	case "python":
		return []*codebuddy.File{{Name: "main.py", Content: "print(\"Hello, World!\")\n"}}, true
	case "javascript":
		return []*codebuddy.File{{Name: "main.js", Content: "console.log(\"Hello, World!\");\n"}}, true
	}
	return nil, false
}

// wsForEach runs body once per database engine, each with its own server.
func wsForEach(t *testing.T, body func(t *testing.T, env *wsEnv)) {
	for _, engine := range sqlstoretest.Engines(t) {
		t.Run(engine, func(t *testing.T) { body(t, newWSEnv(t, engine)) })
	}
}

func newWSEnv(t *testing.T, engine string) *wsEnv {
	t.Helper()
	db := sqlstoretest.Open(t, engine)
	env := &wsEnv{t: t, DB: db}
	db.Now = env.Now
	cfg, err := config.Load(map[string]string{
		"CODEBUDDY_DATA_DIR": t.TempDir(),
		// The matrix makes hundreds of requests a minute from one address and user.
		"CODEBUDDY_RATE_LIMIT_ANONYMOUS": "1000000",
		"CODEBUDDY_RATE_LIMIT_USER":      "1000000",
	})
	if err != nil {
		t.Fatal(err)
	}
	// Cheap hashing: the tests are about access, not password strength.
	params := &argon2id.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	as, err := auth.New(auth.Options{Users: db, Tokens: db, Params: params, Now: env.Now})
	if err != nil {
		t.Fatal(err)
	}
	ws := workspace.New(workspace.Options{Store: db, Starter: wsStarter, Now: env.Now})
	hub := collab.New(collab.Options{Workspace: ws, Files: db, Log: db, Broker: broker.NewMemory(), Node: "test",
		Origins: cfg.Origins, UserFrom: httpapi.UserFrom, Now: env.Now})
	t.Cleanup(hub.Close)
	ws.SetNotifier(hub)
	srv := httpapi.New(httpapi.Options{Config: cfg, Auth: as, Users: db, Workspace: ws, Content: hub, Online: hub.Online, Now: env.Now})
	hub.Register(srv.API(), srv.APIError)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	env.WS, env.URL = ws, ts.URL
	return env
}

// User registers an account through the API; its login cookie is its credential.
func (e *wsEnv) User(name string) wsUser {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	buf, _ := json.Marshal(map[string]string{"username": name, "password": "correct horse battery"})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+"/api/register", bytes.NewReader(buf))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		e.t.Fatalf("register %s: %d %s", name, res.StatusCode, body)
	}
	var u struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	}
	if err := json.Unmarshal(body, &u); err != nil || u.ID == "" {
		e.t.Fatalf("register %s: %s", name, body)
	}
	for _, c := range res.Cookies() {
		if c.Name == httpapi.SessionCookie && c.Value != "" {
			return wsUser{User: &codebuddy.User{ID: u.ID, Username: u.Username}, Token: c.Value}
		}
	}
	e.t.Fatalf("register %s set no %s cookie", name, httpapi.SessionCookie)
	return wsUser{}
}

// Do sends one request as u; body is JSON-encoded unless it is a []byte or nil.
func (e *wsEnv) Do(u wsUser, method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if u.Token != "" {
		req.AddCookie(&http.Cookie{Name: httpapi.SessionCookie, Value: u.Token})
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return res.StatusCode, out
}

// JSON sends a request, checks the status and decodes the answer into out (if not nil).
func (e *wsEnv) JSON(u wsUser, method, path string, body any, want int, out any) {
	e.t.Helper()
	status, raw := e.Do(u, method, path, body)
	if status != want {
		e.t.Fatalf("%s %s as %s: %d %s, want %d", method, path, u.Username, status, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

// wsProblem is an RFC 9457 answer.
type wsProblem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
}

// names reports whether the problem names field, in errors[].location or the detail.
func (p wsProblem) names(field string) bool {
	for _, e := range p.Errors {
		// huma reports a missing required property at "body", naming it in the message.
		if e.Location == "body" && strings.Contains(e.Message, "property "+field+" ") {
			return true
		}
		if e.Location == "body."+field || e.Location == "query."+field || e.Location == "path."+field ||
			strings.HasSuffix(e.Location, "."+field) {
			return true
		}
	}
	return strings.Contains(p.Detail, field)
}

// Problem sends a request that must fail with want and name field ("" skips that check).
func (e *wsEnv) Problem(u wsUser, method, path string, body any, want int, field string) wsProblem {
	e.t.Helper()
	status, raw := e.Do(u, method, path, body)
	var p wsProblem
	if status != want {
		e.t.Fatalf("%s %s as %s: %d %s, want %d", method, path, u.Username, status, wsTrim(raw), want)
	}
	if err := json.Unmarshal(raw, &p); err != nil || p.Status != want {
		e.t.Fatalf("%s %s: not a problem+json answer: %s", method, path, wsTrim(raw))
	}
	if field != "" && !p.names(field) {
		e.t.Fatalf("%s %s: problem does not name %q: %s", method, path, field, wsTrim(raw))
	}
	return p
}

func wsTrim(b []byte) string {
	if len(b) > 500 {
		return string(b[:500]) + "…"
	}
	return string(b)
}

// wsSession is a session as the API returns it.
type wsSession struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Language    string `json:"language"`
	IsPublic    bool   `json:"isPublic"`
	VisitorRole string `json:"visitorRole"`
	OwnerID     string `json:"ownerId"`
	Role        string `json:"role"`
}

// wsFile is a file as the API returns it.
type wsFile struct {
	ID        string  `json:"id"`
	SessionID string  `json:"sessionId"`
	ParentID  *string `json:"parentId"`
	Name      string  `json:"name"`
	Path      string  `json:"path"`
	IsFolder  bool    `json:"isFolder"`
	Version   int64   `json:"version"`
	Content   *string `json:"content"`
}

// CreateSession makes a session through the API.
func (e *wsEnv) CreateSession(owner wsUser, name string, public bool, visitorRole string) wsSession {
	e.t.Helper()
	var s wsSession
	e.JSON(owner, http.MethodPost, "/api/sessions", map[string]any{"name": name, "language": "python",
		"isPublic": public, "visitorRole": visitorRole}, http.StatusCreated, &s)
	return s
}

// Join makes u a participant with role through an invite, as a person would.
func (e *wsEnv) Join(owner wsUser, sessionID string, u wsUser, role string) {
	e.t.Helper()
	var inv struct {
		Token string `json:"token"`
	}
	e.JSON(owner, http.MethodPost, "/api/sessions/"+sessionID+"/invites", map[string]any{"role": role}, http.StatusCreated, &inv)
	e.JSON(u, http.MethodPost, "/api/invites/"+inv.Token+"/accept", nil, http.StatusOK, nil)
}
