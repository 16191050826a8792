//go:build !linux

package sandbox

import (
	"context"
	"errors"
	"runtime"
)

// Main does nothing outside Linux.
func Main() {}

// Pool is never available outside Linux; New says why.
type Pool struct{}

// Box is never available outside Linux.
type Box struct{}

var errNotLinux = unavailable("the sandbox needs Linux (this is %s)", runtime.GOOS)

// New always fails outside Linux, with ErrUnavailable.
func New(ctx context.Context, opts Options) (*Pool, error) { return nil, errNotLinux }

func (p *Pool) Info() Info                                { return Info{} }
func (p *Pool) Close() error                              { return nil }
func (p *Pool) Acquire(ctx context.Context) (*Box, error) { return nil, errNotLinux }
func (b *Box) Release()                                   {}
func (b *Box) WriteFiles(files []File) error              { return errNotLinux }
func (b *Box) Run(ctx context.Context, cmd Cmd) (Result, error) {
	return Result{Status: StatusInternalError}, errors.New("sandbox unavailable")
}
