package httpapi

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/codebuddy-dev/codebuddy"
)

type ctxKey int

const infoKey ctxKey = 0

// reqInfo is shared by all layers of one request; the outer middleware reads what
// inner ones learned (route pattern, user) without cloning requests.
type reqInfo struct {
	id       string
	route    string
	user     *codebuddy.User
	token    *codebuddy.Token
	authErr  error
	clientIP string
}

func info(ctx context.Context) *reqInfo {
	if ri, ok := ctx.Value(infoKey).(*reqInfo); ok {
		return ri
	}
	return nil
}

func requestID(ctx context.Context) string {
	if ri := info(ctx); ri != nil {
		return ri.id
	}
	return ""
}

// UserFrom returns the signed-in user of the request, or nil.
func UserFrom(ctx context.Context) *codebuddy.User {
	if ri := info(ctx); ri != nil {
		return ri.user
	}
	return nil
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusWriter records the status and size; it forwards Flush and Hijack (WebSocket).
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijack not supported")
	}
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// outer is the first middleware: request ID, panic recovery, access log and metrics.
func (s *Server) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &reqInfo{id: newRequestID(), clientIP: s.clientIP(r)}
		ctx := context.WithValue(r.Context(), infoKey, ri)
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		sw.Header().Set("X-Request-Id", ri.id)
		s.metrics.inFlight.Inc()
		defer func() {
			s.metrics.inFlight.Dec()
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(ctx, "panic", "request_id", ri.id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeProblem(sw, r, http.StatusInternalServerError, "internal error (request "+ri.id+")")
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			route := ri.route
			if route == "" {
				route = "unmatched"
			}
			elapsed := time.Since(start)
			s.metrics.duration.WithLabelValues(route, r.Method, strconv.Itoa(status)).Observe(elapsed.Seconds())
			attrs := []slog.Attr{
				slog.String("request_id", ri.id), slog.String("method", r.Method), slog.String("route", route),
				slog.String("path", r.URL.Path), slog.Int("status", status), slog.Int64("bytes", sw.bytes),
				slog.Float64("latency_ms", float64(elapsed.Microseconds())/1000), slog.String("ip", ri.clientIP),
			}
			if ri.user != nil {
				attrs = append(attrs, slog.String("user_id", ri.user.ID))
			}
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			} else if route == "/healthz" || route == "/readyz" || route == "/metrics" {
				level = slog.LevelDebug
			}
			s.log.LogAttrs(ctx, level, "request", attrs...)
		}()
		next.ServeHTTP(sw, r)
	})
}

// securityHeaders sets the baseline headers on every response.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", s.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("Permissions-Policy", "microphone=(self), camera=(), geolocation=(), payment=(), usb=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.tls {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// cors answers preflights and marks responses for the configured origins only.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && s.allowedOrigin(origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, PUT, DELETE")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) allowedOrigin(origin string) bool {
	for _, o := range s.cfg.Origins {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// limitBody caps every request body. A declared length over the cap is refused at
// once; a body of unknown length (chunked) is cut off while it is read, and since
// huma reports a failed read as a 500, that answer is turned into the 413 it is.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.cfg.MaxBodyBytes {
			writeProblem(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", s.cfg.MaxBodyBytes))
			return
		}
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		body := &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)}
		r.Body = body
		if r.ContentLength >= 0 {
			// A declared length within the cap never trips the reader.
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&limitedWriter{ResponseWriter: w, r: r, body: body, max: s.cfg.MaxBodyBytes}, r)
	})
}

// limitedBody remembers that the body went over the cap.
type limitedBody struct {
	io.ReadCloser
	tripped bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		b.tripped = true
	}
	return n, err
}

// limitedWriter answers 413 instead of the 500 a handler writes after the cap tripped.
type limitedWriter struct {
	http.ResponseWriter
	r        *http.Request
	body     *limitedBody
	max      int64
	replaced bool
}

func (w *limitedWriter) WriteHeader(code int) {
	if code == http.StatusInternalServerError && w.body.tripped {
		w.replaced = true
		writeProblem(w.ResponseWriter, w.r, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", w.max))
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *limitedWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *limitedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// SessionCookie is the browser login cookie's name.
const SessionCookie = "codebuddy_session"

// authenticate resolves the cookie or bearer token into the request's user. An
// invalid credential leaves the request anonymous and remembers why, so protected
// endpoints answer 401 with that reason.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := info(r.Context())
		if secret := credential(r); secret != "" {
			u, tok, err := s.auth.Authenticate(r.Context(), secret)
			switch {
			case err == nil:
				ri.user, ri.token = u, tok
				s.touch(r.Context(), tok)
			case codebuddy.ErrorCode(err) == codebuddy.EUNAUTHORIZED:
				ri.authErr = err
			default:
				s.log.ErrorContext(r.Context(), "authenticate", "request_id", ri.id, "err", err)
				writeProblem(w, r, http.StatusServiceUnavailable, "authentication is unavailable, try again")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func credential(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// rateLimit applies the per-user or per-IP request budget.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := info(r.Context())
		var ok bool
		var retry time.Duration
		var err error
		if ri.user != nil {
			ok, retry, err = s.userLimit.Allow("u:" + ri.user.ID)
		} else {
			ok, retry, err = s.anonLimit.Allow("ip:" + ri.clientIP)
		}
		if err != nil {
			// A broken shared counter must not take the service down with it.
			s.log.WarnContext(r.Context(), "rate limiter unavailable", "request_id", ri.id, "err", err)
		} else if !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
			writeProblem(w, r, http.StatusTooManyRequests, "too many requests, slow down")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the TCP peer unless it is a configured trusted proxy, in which case
// the right-most untrusted X-Forwarded-For entry is taken.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if !s.trusted(peer) {
		return peer.Unmap().String()
	}
	parts := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(parts) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
		if err != nil {
			break
		}
		if !s.trusted(a) {
			return a.Unmap().String()
		}
	}
	return peer.Unmap().String()
}

func (s *Server) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.cfg.Proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// touch records token use at most once a minute, so reads stay reads.
func (s *Server) touch(ctx context.Context, tok *codebuddy.Token) {
	now := s.now()
	if tok.LastUsedAt != nil && now.Sub(*tok.LastUsedAt) < time.Minute {
		return
	}
	if err := s.auth.Touch(ctx, tok.ID, now); err != nil {
		s.log.WarnContext(ctx, "touch token", "err", err)
	}
}
