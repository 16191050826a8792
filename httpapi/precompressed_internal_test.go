package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"

	"github.com/codebuddy-dev/codebuddy/config"
)

func TestPrecompressedAssets(t *testing.T) {
	cfg, err := config.Load(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	web := fstest.MapFS{
		"index.html":         {Data: []byte("<html></html>")},
		"assets/app-1.js":    {Data: []byte("console.log(1)")},
		"assets/app-1.js.br": {Data: []byte("BROTLI")},
		"assets/app-1.js.gz": {Data: []byte("GZIP")},
		"assets/plain-2.css": {Data: []byte("body{}")},
	}
	s := New(Options{Config: cfg, Web: web})
	cases := []struct {
		accept, wantBody, wantEncoding string
	}{
		{"gzip, deflate, br", "BROTLI", "br"},
		{"gzip", "GZIP", "gzip"},
		{"br;q=0, gzip;q=0.5", "GZIP", "gzip"},
		{"", "console.log(1)", ""},
		{"identity", "console.log(1)", ""},
	}
	for _, c := range cases {
		req := httptest.NewRequest(http.MethodGet, "/assets/app-1.js", nil)
		req.Header.Set("Accept-Encoding", c.accept)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Body.String() != c.wantBody || rec.Header().Get("Content-Encoding") != c.wantEncoding {
			t.Errorf("Accept-Encoding %q: body %q encoding %q; want %q %q", c.accept, rec.Body.String(), rec.Header().Get("Content-Encoding"), c.wantBody, c.wantEncoding)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
			t.Errorf("Accept-Encoding %q: Content-Type %q", c.accept, ct)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("Cache-Control %q", cc)
		}
	}
	// A file without compressed siblings is served as it is.
	req := httptest.NewRequest(http.MethodGet, "/assets/plain-2.css", nil)
	req.Header.Set("Accept-Encoding", "br")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Body.String() != "body{}" || rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("plain css: %q %q", rec.Body.String(), rec.Header().Get("Content-Encoding"))
	}
}
