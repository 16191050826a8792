package codebuddy_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/codebuddy-dev/codebuddy"
)

func TestErrorHelpers(t *testing.T) {
	fe := codebuddy.FieldErrorf("email", "must look like %s", "x@y")
	wrapped := fmt.Errorf("save: %w", fe)
	plain := errors.New("pq: relation users does not exist")
	for _, c := range []struct {
		err                 error
		code, msg, field, s string
	}{
		{nil, "", "", "", ""},
		{wrapped, codebuddy.EINVALID, "must look like x@y", "email", "codebuddy: invalid: email: must look like x@y"},
		{codebuddy.Errorf(codebuddy.ENOTFOUND, "no %s", "file"), codebuddy.ENOTFOUND, "no file", "", "codebuddy: not_found: no file"},
		// Anything else is internal, and its text never reaches a client.
		{plain, codebuddy.EINTERNAL, "internal error", "", ""},
	} {
		if got := codebuddy.ErrorCode(c.err); got != c.code {
			t.Errorf("ErrorCode(%v) = %q, want %q", c.err, got, c.code)
		}
		if got := codebuddy.ErrorMessage(c.err); got != c.msg {
			t.Errorf("ErrorMessage(%v) = %q, want %q", c.err, got, c.msg)
		}
		if got := codebuddy.ErrorField(c.err); got != c.field {
			t.Errorf("ErrorField(%v) = %q, want %q", c.err, got, c.field)
		}
		var de *codebuddy.Error
		if c.s != "" && (!errors.As(c.err, &de) || de.Error() != c.s) {
			t.Errorf("Error() of %v, want %q", c.err, c.s)
		}
	}
}

// check runs a validator over cases: an empty field means valid.
func check(t *testing.T, what string, validate func(string) error, cases map[string]string) {
	t.Helper()
	for in, field := range cases {
		err := validate(in)
		if field == "" {
			if err != nil {
				t.Errorf("%s(%.40q) = %v, want valid", what, in, err)
			}
			continue
		}
		if codebuddy.ErrorCode(err) != codebuddy.EINVALID || codebuddy.ErrorField(err) != field {
			t.Errorf("%s(%.40q) = %v, want invalid %s", what, in, err, field)
		}
	}
}

func TestAccountValidation(t *testing.T) {
	check(t, "ValidateUsername", codebuddy.ValidateUsername, map[string]string{
		"abc": "", "A.b_c-9": "", strings.Repeat("a", 32): "",
		"ab": "username", strings.Repeat("a", 33): "username", "a b": "username", "élan": "username",
		"' OR 1=1 --": "username", "<script>": "username", "a\x00b": "username", "": "username",
	})
	check(t, "ValidatePassword", codebuddy.ValidatePassword, map[string]string{
		"12345678": "", "' OR 1=1 --": "", strings.Repeat("é", 256): "", "pässwörd": "",
		"1234567": "password", strings.Repeat("p", 257): "password", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8": "password",
	})
	check(t, "ValidateEmail", codebuddy.ValidateEmail, map[string]string{
		"": "", "a@b.org": "", "o'brien+tag@example.org": "",
		"nope": "email", "@b.org": "email", "a@": "email", "a@b@c": "email", "a b@c.org": "email",
		"<script>@x.org": "email", `"q"@x.org`: "email", strings.Repeat("e", 250) + "@x.org": "email", "a\x7f@b.org": "email",
	})
	check(t, "ValidateTheme", codebuddy.ValidateTheme, map[string]string{
		"system": "", "light": "", "dark": "", "": "theme", "Dark": "theme", "neon": "theme",
	})
	for _, c := range []struct {
		u     codebuddy.User
		field string
	}{
		{codebuddy.User{Username: "alice", Theme: "dark"}, ""},
		{codebuddy.User{Username: "al", Theme: "dark"}, "username"},
		{codebuddy.User{Username: "alice", Email: "x", Theme: "dark"}, "email"},
		{codebuddy.User{Username: "alice"}, "theme"},
	} {
		err := c.u.Validate()
		if codebuddy.ErrorField(err) != c.field || (c.field == "") != (err == nil) {
			t.Errorf("Validate(%+v) = %v, want field %q", c.u, err, c.field)
		}
	}
}

func TestWorkspaceValidation(t *testing.T) {
	check(t, "ValidateFileName", codebuddy.ValidateFileName, map[string]string{
		"main.py": "", "ünïcode.txt": "", ".env": "", strings.Repeat("n", 255): "",
		"": "name", ".": "name", "..": "name", "a/b": "name", `a\b`: "name", "a\x00b": "name", "a\nb": "name",
		strings.Repeat("n", 256): "name", "\xff": "name",
	})
	check(t, "ValidateMessage", codebuddy.ValidateMessage, map[string]string{
		"hi": "", "<script>alert(1)</script>": "", strings.Repeat("é", 4000): "",
		"": "content", "   \n": "content", strings.Repeat("x", 4001): "content", "\xff": "content",
	})
	for _, c := range []struct {
		s     codebuddy.Session
		field string
	}{
		{codebuddy.Session{Name: "demo", Language: "python", VisitorRole: "viewer"}, ""},
		{codebuddy.Session{Name: "  ", Language: "python", VisitorRole: "viewer"}, "name"},
		{codebuddy.Session{Name: strings.Repeat("n", 101), Language: "python", VisitorRole: "viewer"}, "name"},
		{codebuddy.Session{Name: "a\tb", Language: "python", VisitorRole: "viewer"}, "name"},
		{codebuddy.Session{Name: "demo", VisitorRole: "viewer"}, "language"},
		{codebuddy.Session{Name: "demo", Language: strings.Repeat("l", 33), VisitorRole: "viewer"}, "language"},
		{codebuddy.Session{Name: "demo", Language: "python", VisitorRole: "owner"}, "visitorRole"},
	} {
		err := c.s.Validate()
		if codebuddy.ErrorField(err) != c.field || (c.field == "") != (err == nil) {
			t.Errorf("Validate(%+v) = %v, want field %q", c.s, err, c.field)
		}
	}
	if !(codebuddy.RoleRank(codebuddy.RoleOwner) > codebuddy.RoleRank(codebuddy.RoleEditor) &&
		codebuddy.RoleRank(codebuddy.RoleEditor) > codebuddy.RoleRank(codebuddy.RoleViewer) &&
		codebuddy.RoleRank(codebuddy.RoleViewer) > codebuddy.RoleRank("stranger")) {
		t.Error("RoleRank does not order owner > editor > viewer > none")
	}
}
