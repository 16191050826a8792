package testserver

// go test caches a package's result by what its test binary is built from,
// not by what Build compiles in a subprocess. Importing the packages the
// server is made of makes a change to any of them run the end-to-end tests
// again instead of reporting a stale "(cached)" pass. (cmd/codebuddy itself
// cannot be imported; after changing only it, use -count=1.)
import (
	_ "github.com/codebuddy-dev/codebuddy/auth"
	_ "github.com/codebuddy-dev/codebuddy/broker"
	_ "github.com/codebuddy-dev/codebuddy/collab"
	_ "github.com/codebuddy-dev/codebuddy/config"
	_ "github.com/codebuddy-dev/codebuddy/httpapi"
	_ "github.com/codebuddy-dev/codebuddy/ratelimit"
	_ "github.com/codebuddy-dev/codebuddy/runner"
	_ "github.com/codebuddy-dev/codebuddy/runs"
	_ "github.com/codebuddy-dev/codebuddy/sandbox"
	_ "github.com/codebuddy-dev/codebuddy/sqlstore"
	_ "github.com/codebuddy-dev/codebuddy/workspace"
)
