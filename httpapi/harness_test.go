package httpapi_test

// The API test harness: the real server on a real database.
//
// newAPIEnv(t, engine, opts...) builds what cmd/codebuddy builds for the account
// endpoints — config.Load over a test environment map, a real sqlstore.DB from
// sqlstoretest (SQLite, or PostgreSQL in its own schema), a real auth.Service with
// cheap argon2id parameters (same code path, a millisecond per hash) and
// httpapi.New — and serves it on an httptest.Server. apiForEach runs one test body
// once per engine (sqlstoretest.Engines).
//
// Options: withEnv("CODEBUDDY_X", "v") sets a configuration variable, withWeb
// gives the server a web client file system, withChecks sets /readyz checks,
// withSetup(func(*httpapi.Server)) registers extra routes (e.g. on srv.Mux()) before
// the server starts. The environment's clock (env.Now) drives the store, the auth
// service, the rate limits and the server; env.Advance moves it forward, e.g. past
// a token's expiry.
//
// Clients: env.Anon() has no credentials, env.Register(name) signs up through
// POST /api/register and keeps the login cookie in its cookie jar, env.Bearer(secret)
// sends Authorization: Bearer. client.Do(method, path, body, headers...) returns an
// apiResp (status, header, body); a body is JSON-encoded unless it is a string or
// []byte.
//
// Scenario tables, after PocketBase's ApiScenario: env.Run(t, []apiScenario{...})
// runs each as a subtest: Method, URL, Client (nil: anonymous), Headers, Body,
// Status, Contains / NotContains (substrings of the body), JSON (top-level fields
// that must equal these values after JSON decoding), Problem (the answer must be
// application/problem+json with the same status and name this field, "" skips),
// Check (anything else). Every scenario also asserts the security headers and the
// request ID, since the contract says they are on every response.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/codebuddy-dev/codebuddy/auth"
	"github.com/codebuddy-dev/codebuddy/config"
	"github.com/codebuddy-dev/codebuddy/httpapi"
	"github.com/codebuddy-dev/codebuddy/ratelimit"
	"github.com/codebuddy-dev/codebuddy/sqlstore"
	"github.com/codebuddy-dev/codebuddy/sqlstore/sqlstoretest"
)

// testPassword is every harness user's password.
const testPassword = "correct horse battery"

type apiOptions struct {
	env    map[string]string
	web    fs.FS
	checks []httpapi.Check
	setup  []func(*httpapi.Server)
	log    io.Writer
}

type apiOption func(*apiOptions)

func withEnv(name, value string) apiOption {
	return func(o *apiOptions) { o.env[name] = value }
}
func withWeb(web fs.FS) apiOption { return func(o *apiOptions) { o.web = web } }
func withChecks(c ...httpapi.Check) apiOption {
	return func(o *apiOptions) { o.checks = append(o.checks, c...) }
}

// withLog sends the server's JSON log to w (tests read it back).
func withLog(w io.Writer) apiOption { return func(o *apiOptions) { o.log = w } }

func withSetup(f func(*httpapi.Server)) apiOption {
	return func(o *apiOptions) { o.setup = append(o.setup, f) }
}

// apiEnv is one running server.
type apiEnv struct {
	t      testing.TB
	Config *config.Config
	DB     *sqlstore.DB
	Auth   *auth.Service
	Server *httpapi.Server
	URL    string
	skew   atomic.Int64
}

// Now is real time plus what Advance added.
func (e *apiEnv) Now() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond).Add(time.Duration(e.skew.Load()))
}

// Advance moves the environment's clock forward.
func (e *apiEnv) Advance(d time.Duration) { e.skew.Add(int64(d)) }

// apiForEach runs body once per database engine, each with a fresh server.
func apiForEach(t *testing.T, body func(t *testing.T, env *apiEnv), opts ...apiOption) {
	for _, engine := range sqlstoretest.Engines(t) {
		t.Run(engine, func(t *testing.T) { body(t, newAPIEnv(t, engine, opts...)) })
	}
}

func newAPIEnv(t testing.TB, engine string, opts ...apiOption) *apiEnv {
	t.Helper()
	o := apiOptions{env: map[string]string{
		"CODEBUDDY_DATA_DIR": t.TempDir(),
		// Generous defaults so tests that are not about limits never meet them.
		"CODEBUDDY_RATE_LIMIT_ANONYMOUS": "100000",
		"CODEBUDDY_RATE_LIMIT_USER":      "100000",
	}}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := config.Load(o.env)
	if err != nil {
		t.Fatal(err)
	}
	env := &apiEnv{t: t, Config: cfg}
	env.DB = sqlstoretest.Open(t, engine)
	env.DB.Now = env.Now
	// Cheap parameters: the tests are about behaviour, not password strength.
	params := &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	env.Auth, err = auth.New(auth.Options{Users: env.DB, Tokens: env.DB, Params: params, Now: env.Now,
		SessionTTL: cfg.SessionTTL, HashConcurrency: cfg.HashConcurrency,
		Failures: ratelimit.NewWindow(nil, cfg.LoginFailures, time.Hour, env.Now)})
	if err != nil {
		t.Fatal(err)
	}
	var logger *slog.Logger
	if o.log != nil {
		logger = slog.New(slog.NewJSONHandler(o.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	env.Server = httpapi.New(httpapi.Options{Config: cfg, Auth: env.Auth, Users: env.DB, Web: o.web,
		Checks: o.checks, Version: "test", Now: env.Now, Logger: logger})
	for _, f := range o.setup {
		f(env.Server)
	}
	ts := httptest.NewServer(env.Server)
	t.Cleanup(ts.Close)
	env.URL = ts.URL
	return env
}

// apiClient makes requests as one party.
type apiClient struct {
	env    *apiEnv
	HTTP   *http.Client
	Bearer string
	// User is the account as the API returned it at sign-up (zero for anonymous).
	User httpapi.User
}

func (e *apiEnv) newClient() *apiClient {
	jar, _ := cookiejar.New(nil)
	return &apiClient{env: e, HTTP: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Anon is a client without credentials (but with a cookie jar).
func (e *apiEnv) Anon() *apiClient { return e.newClient() }

// Bearer is a client that sends Authorization: Bearer secret and no cookies.
func (e *apiEnv) Bearer(secret string) *apiClient {
	c := e.newClient()
	c.Bearer = secret
	return c
}

// Register signs up name through the API; the client keeps the login cookie.
func (e *apiEnv) Register(name string) *apiClient {
	e.t.Helper()
	c := e.newClient()
	r := c.Do(http.MethodPost, "/api/register", map[string]string{"username": name, "password": testPassword})
	if r.Status != http.StatusCreated {
		e.t.Fatalf("register %s: %d %s", name, r.Status, r.Body)
	}
	r.Decode(e.t, &c.User)
	if c.Cookie() == "" {
		e.t.Fatalf("register %s set no %s cookie", name, httpapi.SessionCookie)
	}
	return c
}

// Cookie is the client's login cookie value ("" when it has none).
func (c *apiClient) Cookie() string {
	u, _ := http.NewRequest(http.MethodGet, c.env.URL, nil)
	for _, ck := range c.HTTP.Jar.Cookies(u.URL) {
		if ck.Name == httpapi.SessionCookie {
			return ck.Value
		}
	}
	return ""
}

// APIToken creates a personal API token and returns its secret.
func (c *apiClient) APIToken(name string, days int) string {
	c.env.t.Helper()
	r := c.Do(http.MethodPost, "/api/tokens", map[string]any{"name": name, "expiresInDays": days})
	if r.Status != http.StatusCreated {
		c.env.t.Fatalf("create token: %d %s", r.Status, r.Body)
	}
	var out struct {
		Secret string `json:"secret"`
	}
	r.Decode(c.env.t, &out)
	return out.Secret
}

// apiResp is one answer.
type apiResp struct {
	Status int
	Header http.Header
	Body   []byte
}

// Decode unmarshals the body or fails the test.
func (r *apiResp) Decode(t testing.TB, out any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, out); err != nil {
		t.Fatalf("decode %s: %v", trim(r.Body), err)
	}
}

// Do sends one request. body: nil, string or []byte as is, anything else as JSON;
// headers: "Name", "value" pairs.
func (c *apiClient) Do(method, path string, body any, headers ...string) *apiResp {
	c.env.t.Helper()
	req := c.request(method, path, body, headers...)
	res, err := c.HTTP.Do(req)
	if err != nil {
		c.env.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		c.env.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return &apiResp{Status: res.StatusCode, Header: res.Header, Body: out}
}

func (c *apiClient) request(method, path string, body any, headers ...string) *http.Request {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			c.env.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.env.URL+path, rd)
	if err != nil {
		c.env.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.Bearer)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

// apiScenario is one row of a scenario table.
type apiScenario struct {
	Name        string
	Method      string
	URL         string
	Client      *apiClient
	Headers     []string
	Body        any
	Status      int
	Contains    []string
	NotContains []string
	JSON        map[string]any
	// Problem, when not nil, requires a problem+json answer; a non-empty value
	// must be named by the problem (errors[].location or detail).
	Problem *string
	Check   func(t *testing.T, r *apiResp)
}

// field is a helper for apiScenario.Problem.
func field(name string) *string { return &name }

// Run runs each scenario as a subtest.
func (e *apiEnv) Run(t *testing.T, scenarios []apiScenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			c := sc.Client
			if c == nil {
				c = e.Anon()
			}
			method := sc.Method
			if method == "" {
				method = http.MethodGet
			}
			r := c.Do(method, sc.URL, sc.Body, sc.Headers...)
			if r.Status != sc.Status {
				t.Fatalf("%s %s: status %d, want %d; body %s", method, sc.URL, r.Status, sc.Status, trim(r.Body))
			}
			checkBaseline(t, r)
			for _, s := range sc.Contains {
				if !bytes.Contains(r.Body, []byte(s)) {
					t.Errorf("body lacks %q: %s", s, trim(r.Body))
				}
			}
			for _, s := range sc.NotContains {
				if bytes.Contains(r.Body, []byte(s)) {
					t.Errorf("body contains %q: %s", s, trim(r.Body))
				}
			}
			if len(sc.JSON) > 0 {
				var got map[string]any
				r.Decode(t, &got)
				for k, want := range sc.JSON {
					if fmt.Sprint(got[k]) != fmt.Sprint(want) {
						t.Errorf("field %s = %v, want %v (body %s)", k, got[k], want, trim(r.Body))
					}
				}
			}
			if sc.Problem != nil {
				p := parseProblem(t, r)
				if *sc.Problem != "" && !p.names(*sc.Problem) {
					t.Errorf("problem does not name %q: %s", *sc.Problem, trim(r.Body))
				}
			}
			if sc.Check != nil {
				sc.Check(t, r)
			}
		})
	}
}

// checkBaseline asserts what every response carries.
func checkBaseline(t testing.TB, r *apiResp) {
	t.Helper()
	csp := r.Header.Get("Content-Security-Policy")
	if csp == "" || !strings.Contains(csp, "script-src 'self'") || strings.Contains(scriptSrc(csp), "unsafe-inline") ||
		!strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	for name, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "strict-origin-when-cross-origin",
		"Permissions-Policy":     "microphone=(self)",
	} {
		if got := r.Header.Get(name); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if len(r.Header.Get("X-Request-Id")) < 8 {
		t.Errorf("X-Request-Id = %q", r.Header.Get("X-Request-Id"))
	}
	if r.Status >= 500 && r.Status != http.StatusServiceUnavailable {
		t.Errorf("status %d: %s", r.Status, trim(r.Body))
	}
}

func scriptSrc(csp string) string {
	for _, d := range strings.Split(csp, ";") {
		if d = strings.TrimSpace(d); strings.HasPrefix(d, "script-src") {
			return d
		}
	}
	return ""
}

// apiProblem is an RFC 9457 answer.
type apiProblem struct {
	Status    int    `json:"status"`
	Title     string `json:"title"`
	Detail    string `json:"detail"`
	RequestID string `json:"requestId"`
	Errors    []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
}

func (p apiProblem) names(f string) bool {
	for _, e := range p.Errors {
		if e.Location == "body."+f || strings.HasSuffix(e.Location, "."+f) || strings.Contains(e.Message, f) {
			return true
		}
	}
	return strings.Contains(p.Detail, f)
}

func parseProblem(t testing.TB, r *apiResp) apiProblem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type %q, want application/problem+json (body %s)", ct, trim(r.Body))
	}
	var p apiProblem
	r.Decode(t, &p)
	if p.Status != r.Status || p.Title == "" {
		t.Fatalf("problem %+v does not match status %d", p, r.Status)
	}
	return p
}

func trim(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}
