package runner_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/codebuddy-dev/codebuddy/runner"
	"github.com/codebuddy-dev/codebuddy/sandbox"
)

// TestUnavailable: a missing toolchain or a missing sandbox shows as
// available:false with the reason, and runs are refused, never faked.
func TestUnavailable(t *testing.T) {
	t.Setenv("PATH", "/nonexistent")
	langs, _ := runner.DetectLanguages(context.Background(), testConfig())
	byID := map[string]runner.Language{}
	for _, l := range langs {
		byID[l.ID] = l
	}
	for _, id := range []string{"ruby", "python", "go", "javascript"} {
		if l := byID[id]; l.Available || !strings.Contains(l.Reason, "not found") {
			t.Errorf("%s without PATH: available=%v reason=%q", id, l.Available, l.Reason)
		}
	}

	poolErr := fmt.Errorf("%w: user namespaces are disabled", sandbox.ErrUnavailable)
	r := runner.New(testConfig(), langs, nil, poolErr)
	if err := r.Ready(); !errors.Is(err, sandbox.ErrUnavailable) {
		t.Fatalf("Ready: %v", err)
	}
	for _, l := range r.Languages() {
		if l.Available || l.Reason == "" {
			t.Errorf("%s available without a sandbox (%q)", l.ID, l.Reason)
		}
	}
	q := runner.NewLocalQueue(r, runner.QueueOptions{})
	defer q.Close()
	if _, err := q.Submit(runner.Request{Language: "java", Code: "class Main {}"}, nil); !errors.Is(err, runner.ErrUnavailable) {
		t.Fatalf("submit without a sandbox: %v", err)
	}
}
