// Command codebuddy is the CodeBuddy server: serve (default), migrate, admin, version.
// All wiring of concrete packages into the domain's interfaces happens here.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/codebuddy-dev/codebuddy/sandbox"
)

// version is set at link time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	// A sandbox container's init is this same binary; it never returns from here.
	sandbox.Main()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "codebuddy:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage: codebuddy [command]

commands:
  serve                      run the server (default)
  migrate [up|status]        apply database migrations, or list them
  admin create-user NAME     create an account (password from CODEBUDDY_ADMIN_PASSWORD or stdin)
  admin reset-password NAME  set a new password (same source) and sign the user out everywhere
  version                    print the version

Configuration comes from CODEBUDDY_* environment variables (see README.md).`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, stderr)
	case "migrate":
		return runMigrate(ctx, args, stdout, stderr)
	case "admin":
		return runAdmin(ctx, args, stdin, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "codebuddy", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
