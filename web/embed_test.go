package web

import (
	"io/fs"
	"strings"
	"testing"
)

// The server relies on Dist being rooted at dist/: index.html (when built)
// at the top and .keep always present so the package compiles unbuilt.
func TestDistIsRootedAtBuildOutput(t *testing.T) {
	d := Dist()
	if _, err := fs.Stat(d, ".keep"); err != nil {
		t.Fatalf("Dist() lacks .keep at its root: %v", err)
	}
	index, err := fs.ReadFile(d, "index.html")
	if err != nil {
		t.Logf("client not built (%v); only checking the root", err)
		return
	}
	// The server's Content-Security-Policy forbids inline scripts.
	for _, tag := range strings.Split(string(index), "<script")[1:] {
		if !strings.Contains(tag[:strings.Index(tag, ">")], "src=") {
			t.Errorf("index.html has an inline <script>: %q", tag)
		}
	}
}
