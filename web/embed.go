// Package web holds the browser client. Its Vite build output (web/dist) is
// embedded into the binary so one executable serves the whole application.
package web

import (
	"embed"
	"io/fs"
)

// The "all:" prefix keeps dist/.keep, which is committed so this package
// compiles before the client has been built (dist then holds only .keep).
//
//go:embed all:dist
var dist embed.FS

// Dist returns the built client rooted at dist/: index.html at the top and
// content-hashed files under assets/. Before `npm run build` it contains
// only .keep, so callers should treat a missing index.html as "client not built".
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub fails only for an invalid path; "dist" is a constant.
		panic(err)
	}
	return sub
}
