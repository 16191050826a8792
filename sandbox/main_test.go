package sandbox_test

import (
	"os"
	"testing"

	"github.com/codebuddy-dev/codebuddy/sandbox"
)

func TestMain(m *testing.M) {
	sandbox.Main()
	os.Exit(m.Run())
}
