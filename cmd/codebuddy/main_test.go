package main

import (
	"os"
	"testing"

	"github.com/codebuddy-dev/codebuddy/sandbox"
)

// TestMain lets this test binary serve as a sandbox container init, as the real
// binary does, so tests may open a Main with execution on.
func TestMain(m *testing.M) {
	sandbox.Main()
	os.Exit(m.Run())
}
