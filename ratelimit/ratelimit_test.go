package ratelimit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/httprate"
	"github.com/redis/go-redis/v9"

	"github.com/codebuddy-dev/codebuddy/internal/redistest"
	"github.com/codebuddy-dev/codebuddy/ratelimit"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock(t time.Time) *clock    { return &clock{t: t} }

// counters runs a body once over the in-process counter and once over Redis
// (a private redis-server).
func counters(t *testing.T, body func(t *testing.T, newCounter func() httprate.LimitCounter)) {
	t.Run("local", func(t *testing.T) {
		body(t, func() httprate.LimitCounter { return nil })
	})
	t.Run("redis", func(t *testing.T) {
		rs := redistest.Start(t)
		client := redis.NewClient(&redis.Options{Addr: rs.Addr})
		t.Cleanup(func() { client.Close() })
		body(t, func() httprate.LimitCounter { return ratelimit.NewRedisCounter(client, "test:") })
	})
}

func TestAllow(t *testing.T) {
	counters(t, func(t *testing.T, newCounter func() httprate.LimitCounter) {
		// Start at the beginning of a window so the previous one is empty.
		c := newClock(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC))
		w := ratelimit.NewWindow(newCounter(), 3, time.Minute, c.Now)
		if w.Limit() != 3 {
			t.Fatalf("Limit = %d", w.Limit())
		}
		for i := range 3 {
			if ok, _, err := w.Allow("k"); !ok || err != nil {
				t.Fatalf("event %d refused: %v", i+1, err)
			}
		}
		ok, retry, err := w.Allow("k")
		if ok || err != nil || retry < time.Second || retry > time.Minute {
			t.Fatalf("fourth: ok=%v retry=%v err=%v", ok, retry, err)
		}
		// Other keys are independent.
		if ok, _, _ := w.Allow("other"); !ok {
			t.Fatal("other key refused")
		}
		// Halfway into the next window the previous three weigh 1.5 (rounded 2): one more fits.
		c.Add(90 * time.Second)
		if ok, _, _ := w.Allow("k"); !ok {
			t.Fatal("refused after the window slid halfway")
		}
		if ok, _, _ := w.Allow("k"); ok {
			t.Fatal("allowed past the sliding estimate")
		}
		// Two full windows later everything has slid out.
		c.Add(2 * time.Minute)
		for i := range 3 {
			if ok, _, _ := w.Allow("k"); !ok {
				t.Fatalf("event %d refused after two windows", i+1)
			}
		}
	})
}

func TestBlockedAndAdd(t *testing.T) {
	counters(t, func(t *testing.T, newCounter func() httprate.LimitCounter) {
		c := newClock(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC))
		w := ratelimit.NewWindow(newCounter(), 2, time.Hour, c.Now)
		for i := range 2 {
			if blocked, _, err := w.Blocked("k"); blocked || err != nil {
				t.Fatalf("blocked before %d events: %v", i, err)
			}
			if err := w.Add("k"); err != nil {
				t.Fatal(err)
			}
		}
		blocked, retry, err := w.Blocked("k")
		if !blocked || err != nil || retry != time.Hour {
			t.Fatalf("after 2 events: blocked=%v retry=%v err=%v", blocked, retry, err)
		}
		// Blocked does not count: asking again changes nothing.
		c.Add(59*time.Minute + 59*time.Second + 500*time.Millisecond)
		if blocked, retry, _ := w.Blocked("k"); !blocked || retry != time.Second {
			t.Fatalf("near the window's end: blocked=%v retry=%v (a retry is at least a second)", blocked, retry)
		}
	})
}

func TestRedisUnavailable(t *testing.T) {
	rs := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: rs.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer client.Close()
	w := ratelimit.NewWindow(ratelimit.NewRedisCounter(client, "x:"), 1, time.Minute, nil)
	rs.Stop()
	if _, _, err := w.Allow("k"); err == nil {
		t.Fatal("Allow without Redis: no error")
	}
	if _, _, err := w.Blocked("k"); err == nil {
		t.Fatal("Blocked without Redis: no error")
	}
	if err := w.Add("k"); err == nil {
		t.Fatal("Add without Redis: no error")
	}
	if err := ratelimit.NewRedisCounter(client, "x:").Increment("k", time.Now()); err == nil {
		t.Fatal("Increment without Redis: no error")
	}
}

// TestRedisSharedAcrossNodes: two windows over the same Redis see each other's events.
func TestRedisSharedAcrossNodes(t *testing.T) {
	rs := redistest.Start(t)
	client := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer client.Close()
	c := newClock(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC))
	a := ratelimit.NewWindow(ratelimit.NewRedisCounter(client, "rl:"), 2, time.Minute, c.Now)
	b := ratelimit.NewWindow(ratelimit.NewRedisCounter(client, "rl:"), 2, time.Minute, c.Now)
	a.Allow("k")
	b.Allow("k")
	if ok, _, _ := a.Allow("k"); ok {
		t.Fatal("third event across two nodes allowed")
	}
	if ttl := client.TTL(context.Background(), "rl:k:"+"1767261600").Val(); ttl <= time.Minute || ttl > 2*time.Minute+time.Second {
		t.Fatalf("key TTL %v, want about two windows", ttl)
	}
}
