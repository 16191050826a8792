package main

import (
	"errors"

	"github.com/codebuddy-dev/codebuddy"
)

// describe turns a domain error into the plain sentence an operator needs.
func describe(err error) error {
	var e *codebuddy.Error
	if errors.As(err, &e) {
		if e.Field != "" {
			return errors.New(e.Field + ": " + e.Message)
		}
		return errors.New(e.Message)
	}
	return err
}
