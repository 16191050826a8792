package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (s *Server) routeOps() {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("GET /api/docs", s.serveDocs)
	s.mux.HandleFunc("GET /api/docs/{file}", s.serveDocs)
	// Unknown API paths answer problem+json, never the SPA's index.html.
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		// This catch-all outranks the mux's own 405, so a known path with another
		// method would read as "no such endpoint"; say which methods it has instead.
		if allow := s.allowedMethods(r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeProblem(w, r, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+"; use "+strings.Join(allow, ", "))
			return
		}
		writeProblem(w, r, http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path)
	})
	s.mux.HandleFunc("/", s.serveWeb)
}

// allowedMethods lists the methods that have a route (other than the catch-all) for r's path.
func (s *Server) allowedMethods(r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := *r
		probe.Method = m
		if _, pattern := s.mux.Handler(&probe); pattern != "" && pattern != "/api/" {
			allow = append(allow, m)
		}
	}
	return allow
}

type checkResult struct {
	Status    string  `json:"status"`
	Error     string  `json:"error,omitempty"`
	LatencyMs float64 `json:"latencyMs"`
}

// readyz runs every dependency check concurrently with a deadline; any failure is a 503.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	results := make(map[string]checkResult, len(s.checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range s.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			err := c.Check(ctx)
			res := checkResult{Status: "ok", LatencyMs: float64(time.Since(start).Microseconds()) / 1000}
			if err != nil {
				res.Status = "fail"
				res.Error = err.Error()
			}
			mu.Lock()
			results[c.Name] = res
			mu.Unlock()
		}()
	}
	wg.Wait()
	status, code := "ok", http.StatusOK
	for _, res := range results {
		if res.Status != "ok" {
			status, code = "fail", http.StatusServiceUnavailable
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "version": s.version, "checks": results})
}

// serveWeb serves the embedded client: real files as they are (hashed assets cached
// for a year), anything else falls back to index.html so client routes work on reload.
func (s *Server) serveWeb(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeProblem(w, r, http.StatusMethodNotAllowed, "only GET and HEAD are served here")
		return
	}
	if s.web == nil {
		s.noClient(w)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name != "" && name != "index.html" {
		if st, err := fs.Stat(s.web, name); err == nil && !st.IsDir() {
			if strings.HasPrefix(name, "assets/") {
				w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			} else {
				w.Header().Set("Cache-Control", "no-cache")
			}
			if s.servePrecompressed(w, r, name, st.ModTime()) {
				return
			}
			http.ServeFileFS(w, r, s.web, name)
			return
		}
		// A missing asset is a 404, not the app shell (which would be parsed as JS).
		if strings.HasPrefix(name, "assets/") || path.Ext(name) != "" {
			http.NotFound(w, r)
			return
		}
	}
	index, err := fs.ReadFile(s.web, "index.html")
	if errors.Is(err, fs.ErrNotExist) {
		s.noClient(w)
		return
	} else if err != nil {
		writeProblem(w, r, http.StatusInternalServerError, "cannot read the web client")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(index)
}

func (s *Server) noClient(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>CodeBuddy</title></head>` +
		`<body><h1>CodeBuddy</h1><p>The API is running, but this binary was built without the web client. ` +
		`Run <code>make build</code> (or <code>make run</code>) to include it. API docs: <a href="/api/docs">/api/docs</a>.</p></body></html>`))
}

// servePrecompressed sends name.br or name.gz, written next to each compressible
// asset by the web build, when the browser accepts that encoding.
func (s *Server) servePrecompressed(w http.ResponseWriter, r *http.Request, name string, mod time.Time) bool {
	accept := r.Header.Get("Accept-Encoding")
	for _, enc := range []struct{ token, ext string }{{"br", ".br"}, {"gzip", ".gz"}} {
		if !acceptsEncoding(accept, enc.token) {
			continue
		}
		f, err := s.web.Open(name + enc.ext)
		if err != nil {
			continue
		}
		rs, ok := f.(io.ReadSeeker)
		if !ok {
			f.Close()
			continue
		}
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set("Content-Encoding", enc.token)
		h.Add("Vary", "Accept-Encoding")
		http.ServeContent(w, r, name, mod, rs)
		f.Close()
		return true
	}
	return false
}

// acceptsEncoding reports whether an Accept-Encoding header allows token (q > 0).
func acceptsEncoding(header, token string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), token) {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return false
			}
			q = f
		}
		return q > 0
	}
	return false
}
