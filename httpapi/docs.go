package httpapi

import (
	"embed"
	"net/http"
)

//go:embed docs
var docsFS embed.FS

func (s *Server) serveDocs(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	if file == "" {
		file = "index.html"
	}
	switch file {
	case "index.html", "docs.js", "docs.css":
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, docsFS, "docs/"+file)
}
