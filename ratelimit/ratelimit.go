// Package ratelimit counts events in sliding windows over httprate's LimitCounter, so
// the same limits run in-process (httprate's local counter) or shared by every node
// (the Redis counter in package redisx).
package ratelimit

import (
	"fmt"
	"math"
	"time"

	"github.com/go-chi/httprate"
)

// Window allows Limit events per Length for each key, with httprate's sliding-window estimate.
type Window struct {
	counter httprate.LimitCounter
	limit   int
	length  time.Duration
	now     func() time.Time
}

// NewWindow returns a limiter over counter; a nil counter means an in-process one.
func NewWindow(counter httprate.LimitCounter, limit int, length time.Duration, now func() time.Time) *Window {
	if counter == nil {
		counter = httprate.NewLocalLimitCounter(length)
	}
	counter.Config(limit, length)
	if now == nil {
		now = time.Now
	}
	return &Window{counter: counter, limit: limit, length: length, now: now}
}

// Limit is the number of events allowed per window.
func (w *Window) Limit() int { return w.limit }

func (w *Window) rate(key string) (float64, time.Time, error) {
	now := w.now().UTC()
	cur := now.Truncate(w.length)
	curN, prevN, err := w.counter.Get(key, cur, cur.Add(-w.length))
	if err != nil {
		return 0, cur, fmt.Errorf("rate limit counter: %w", err)
	}
	elapsed := now.Sub(cur)
	rate := float64(prevN)*float64(w.length-elapsed)/float64(w.length) + float64(curN)
	return rate, cur, nil
}

// retryAfter estimates when the sliding rate drops below the limit again: at the
// latest when the previous window has fully slid out, one window from now.
func (w *Window) retryAfter(cur time.Time) time.Duration {
	d := cur.Add(w.length).Sub(w.now().UTC())
	if d < time.Second {
		d = time.Second
	}
	return d
}

// Blocked reports whether key has reached its limit, and for how long, without counting.
func (w *Window) Blocked(key string) (bool, time.Duration, error) {
	rate, cur, err := w.rate(key)
	if err != nil {
		return false, 0, err
	}
	if int(math.Round(rate)) >= w.limit {
		return true, w.retryAfter(cur), nil
	}
	return false, 0, nil
}

// Add counts one event for key.
func (w *Window) Add(key string) error {
	cur := w.now().UTC().Truncate(w.length)
	if err := w.counter.IncrementBy(key, cur, 1); err != nil {
		return fmt.Errorf("rate limit counter: %w", err)
	}
	return nil
}

// Allow counts one event for key unless the limit is reached; when it is, it
// reports how long to wait.
func (w *Window) Allow(key string) (bool, time.Duration, error) {
	rate, cur, err := w.rate(key)
	if err != nil {
		return false, 0, err
	}
	if int(math.Round(rate))+1 > w.limit {
		return false, w.retryAfter(cur), nil
	}
	if err := w.counter.IncrementBy(key, cur, 1); err != nil {
		return false, 0, fmt.Errorf("rate limit counter: %w", err)
	}
	return true, 0, nil
}
