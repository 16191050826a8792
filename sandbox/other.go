//go:build !linux

package sandbox

import (
	"context"
	"runtime"
)

// Main does nothing outside Linux.
func Main() {}

// Pool is not available outside Linux.
type Pool struct{}

// Box is not available outside Linux.
type Box struct{}

// Options configure a Pool (see the Linux documentation).
type Options struct {
	Slots          int
	MaxLimits      Limits
	Mounts         []string
	ProtectedPaths []string
	Unisolated     bool
}

// New always fails outside Linux.
func New(ctx context.Context, opts Options) (*Pool, error) {
	return nil, unavailable("the sandbox needs Linux (this is %s)", runtime.GOOS)
}
