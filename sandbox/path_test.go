package sandbox_test

import (
	"path"
	"strings"
	"testing"

	"github.com/codebuddy-dev/codebuddy/sandbox"
)

// FuzzValidatePath: every accepted path is clean, relative and stays below
// the work directory.
func FuzzValidatePath(f *testing.F) {
	for _, s := range []string{"main.py", "a/b/c.java", "../x", "/etc/passwd", "a/../b", "a//b", ".", "a/./b", "x\x00y", `a\b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if sandbox.ValidatePath(p) != nil {
			return
		}
		joined := path.Join("/box", p)
		if path.Clean(p) != p || strings.HasPrefix(p, "/") || !strings.HasPrefix(joined, "/box/") {
			t.Fatalf("accepted %q (joins to %q)", p, joined)
		}
	})
}
