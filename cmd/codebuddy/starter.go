package main

import "github.com/codebuddy-dev/codebuddy"

// starterFiles gives a new session its language's hello world.
// TODO(wiring): replaced by the runner's language table once it lands.
func starterFiles(language string) ([]*codebuddy.File, bool) {
	switch language {
	case "python":
		return []*codebuddy.File{{Name: "main.py", Content: "print(\"Hello, World!\")\n"}}, true
	case "javascript":
		return []*codebuddy.File{{Name: "main.js", Content: "console.log(\"Hello, World!\");\n"}}, true
	}
	return nil, false
}
