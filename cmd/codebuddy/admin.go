package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/codebuddy-dev/codebuddy/auth"
	"github.com/codebuddy-dev/codebuddy/config"
	"github.com/codebuddy-dev/codebuddy/sqlstore"
)

func openDB(ctx context.Context, stderr io.Writer) (*sqlstore.DB, *config.Config, error) {
	cfg, err := config.FromOS()
	if err != nil {
		return nil, nil, err
	}
	db, err := sqlstore.Open(ctx, sqlstore.Options{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, Logger: newLogger(cfg, stderr)})
	if err != nil {
		return nil, nil, err
	}
	return db, cfg, nil
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub := "up"
	if len(args) > 0 {
		sub = args[0]
	}
	if sub != "up" && sub != "status" {
		return fmt.Errorf("migrate: unknown subcommand %q (want up or status)", sub)
	}
	// Open migrates; status then lists what is applied.
	db, _, err := openDB(ctx, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	for _, line := range st {
		fmt.Fprintln(stdout, line)
	}
	return nil
}

func readPassword(stdin io.Reader) (string, error) {
	if p := os.Getenv("CODEBUDDY_ADMIN_PASSWORD"); p != "" {
		return p, nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password: set CODEBUDDY_ADMIN_PASSWORD or pipe it on stdin")
	}
	return line, nil
}

func runAdmin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		return errors.New("usage: codebuddy admin create-user NAME [EMAIL] | reset-password NAME")
	}
	sub, name := args[0], args[1]
	if sub != "create-user" && sub != "reset-password" {
		return fmt.Errorf("admin: unknown subcommand %q", sub)
	}
	password, err := readPassword(stdin)
	if err != nil {
		return err
	}
	db, cfg, err := openDB(ctx, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	svc, err := auth.New(auth.Options{Users: db, Tokens: db, HashConcurrency: cfg.HashConcurrency})
	if err != nil {
		return err
	}
	switch sub {
	case "create-user":
		email := ""
		if len(args) > 2 {
			email = args[2]
		}
		u, err := svc.CreateUser(ctx, name, password, email)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "created user %s (%s)\n", u.Username, u.ID)
	case "reset-password":
		if err := svc.ResetPassword(ctx, name, password); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "password of %s reset; all their sessions and tokens revoked\n", name)
	}
	return nil
}
