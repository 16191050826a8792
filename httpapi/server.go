// Package httpapi serves CodeBuddy's REST API (huma on net/http's ServeMux), the
// operational endpoints, the API docs and the embedded web client.
package httpapi

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/go-chi/httprate"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/auth"
	"github.com/codebuddy-dev/codebuddy/config"
	"github.com/codebuddy-dev/codebuddy/ratelimit"
	"github.com/codebuddy-dev/codebuddy/runs"
	"github.com/codebuddy-dev/codebuddy/workspace"
)

// Check is one readiness dependency.
type Check struct {
	Name  string
	Check func(context.Context) error
}

// Options wire the server.
type Options struct {
	Config   *config.Config
	Auth     *auth.Service
	Users    codebuddy.UserStore
	Logger   *slog.Logger
	Registry *prometheus.Registry
	// Web is the built client (index.html at its root); nil serves a notice.
	Web fs.FS
	// Checks back /readyz.
	Checks  []Check
	Version string
	// NewCounter makes rate-limit counters; nil means in-process ones.
	NewCounter func(window time.Duration) httprate.LimitCounter
	Now        func() time.Time
	// Workspace serves sessions, files, chat and notifications; nil leaves them out.
	Workspace *workspace.Service
	// Content replaces file contents through the live change log.
	Content ContentReplacer
	// Runs executes code; nil leaves the execution endpoints out.
	Runs *runs.Service
	// Online reports which users are connected to a session.
	Online func(sessionID string) map[string]bool
}

// Server is the HTTP handler.
type Server struct {
	cfg           *config.Config
	auth          *auth.Service
	users         codebuddy.UserStore
	log           *slog.Logger
	metrics       *metrics
	registry      *prometheus.Registry
	checks        []Check
	version       string
	csp           string
	tls           bool
	anonLimit     *ratelimit.Window
	userLimit     *ratelimit.Window
	registerLimit *ratelimit.Window
	now           func() time.Time

	workspace *workspace.Service
	content   ContentReplacer
	online    func(sessionID string) map[string]bool
	runs      *runs.Service

	mux     *http.ServeMux
	api     huma.API
	handler http.Handler
	web     fs.FS
}

// New builds the server and registers every route.
func New(o Options) *Server {
	s := &Server{cfg: o.Config, auth: o.Auth, users: o.Users, log: o.Logger, registry: o.Registry,
		checks: o.Checks, version: o.Version, web: o.Web, now: o.Now,
		workspace: o.Workspace, content: o.Content, online: o.Online, runs: o.Runs}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	if s.now == nil {
		s.now = func() time.Time { return time.Now().UTC() }
	}
	s.metrics = newMetrics(s.registry)
	s.tls = s.cfg.TLSCert != "" || s.cfg.Secure()
	s.csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
		"font-src 'self' data:; connect-src 'self' ws: wss:; media-src 'self' blob:; worker-src 'self' blob:; " +
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	newCounter := o.NewCounter
	if newCounter == nil {
		newCounter = func(w time.Duration) httprate.LimitCounter { return httprate.NewLocalLimitCounter(w) }
	}
	s.anonLimit = ratelimit.NewWindow(newCounter(time.Minute), s.cfg.RateLimitAnonymous, time.Minute, s.now)
	s.userLimit = ratelimit.NewWindow(newCounter(time.Minute), s.cfg.RateLimitUser, time.Minute, s.now)
	s.registerLimit = ratelimit.NewWindow(newCounter(time.Hour), 30, time.Hour, s.now)

	s.mux = http.NewServeMux()
	hc := huma.DefaultConfig("CodeBuddy API", o.Version)
	hc.Info.Description = "Real-time collaborative coding: accounts, sessions, files, chat, execution. " +
		"Errors are RFC 9457 problem+json. Authenticate with the login cookie or `Authorization: Bearer <token>`."
	hc.OpenAPIPath = "/api/openapi"
	hc.DocsPath = ""
	hc.SchemasPath = "/api/schemas"
	hc.CreateHooks = nil // no $schema links in bodies: clients get plain JSON
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"cookie": {Type: "apiKey", In: "cookie", Name: SessionCookie},
		"bearer": {Type: "http", Scheme: "bearer"},
	}
	s.api = humago.New(s.mux, hc)

	s.routeOps()
	s.routeAuth()
	if s.workspace != nil {
		s.routeSessions()
	}
	if s.runs != nil {
		s.routeExecute()
	}

	cop := http.NewCrossOriginProtection()
	for _, origin := range s.cfg.Origins {
		_ = cop.AddTrustedOrigin(origin)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusForbidden, "cross-origin request refused: the Origin is not allowed")
	}))

	var h http.Handler = http.HandlerFunc(s.route)
	h = s.rateLimit(h)
	h = s.authenticate(h)
	h = s.limitBody(h)
	h = cop.Handler(h)
	h = s.cors(h)
	h = s.securityHeaders(h)
	h = s.outer(h)
	s.handler = h
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// route records the matched pattern for logs and metrics, then dispatches.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern != "" {
		info(r.Context()).route = pattern
	}
	s.mux.ServeHTTP(w, r)
}

// Mux exposes the router so other packages (the WebSocket endpoint) can register.
func (s *Server) Mux() *http.ServeMux { return s.mux }

// API exposes the huma API for other packages' operations.
func (s *Server) API() huma.API { return s.api }

// Logger is the server's logger.
func (s *Server) Logger() *slog.Logger { return s.log }

// AllowedOrigins lists the origins browsers may use.
func (s *Server) AllowedOrigins() []string { return s.cfg.Origins }
