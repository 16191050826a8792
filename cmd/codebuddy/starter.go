package main

import (
	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/runner"
)

// starterFiles gives a new session its language's hello world from the language
// table; languages outside the table are refused.
func starterFiles(r *runner.Runner) func(language string) ([]*codebuddy.File, bool) {
	return func(language string) ([]*codebuddy.File, bool) {
		for _, l := range r.Languages() {
			if l.ID == language {
				return []*codebuddy.File{{Name: l.DefaultFile, Content: l.Template}}, true
			}
		}
		return nil, false
	}
}
