package broker_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/broker"
	"github.com/redis/go-redis/v9"
)

// backends runs one test body against every Broker implementation, the way
// net/http's tests run one body across HTTP/1 and HTTP/2.
func backends(t *testing.T, body func(t *testing.T, newBroker func(t *testing.T) codebuddy.Broker)) {
	t.Run("memory", func(t *testing.T) {
		m := broker.NewMemory()
		t.Cleanup(func() { m.Close() })
		body(t, func(*testing.T) codebuddy.Broker { return m })
	})
	t.Run("redis", func(t *testing.T) {
		url := os.Getenv("CODEBUDDY_TEST_REDIS_URL")
		if url == "" {
			if os.Getenv("CODEBUDDY_TEST_REQUIRE_REDIS") == "1" {
				t.Fatal("CODEBUDDY_TEST_REQUIRE_REDIS=1 but CODEBUDDY_TEST_REDIS_URL is not set")
			}
			t.Skip("CODEBUDDY_TEST_REDIS_URL not set")
		}
		opt, err := redis.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		// A prefix per test keeps parallel runs on one Redis apart; every node of one
		// "cluster" in a test shares it.
		prefix := fmt.Sprintf("test-%d-%s:", time.Now().UnixNano(), t.Name())
		body(t, func(t *testing.T) codebuddy.Broker {
			client := redis.NewClient(opt)
			b, err := broker.NewRedis(context.Background(), client, prefix, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close(); client.Close() })
			return b
		})
	})
}

// collector records payloads delivered to a handler.
type collector struct {
	mu  sync.Mutex
	got []string
	ch  chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 1024)} }

func (c *collector) fn(p []byte) {
	c.mu.Lock()
	c.got = append(c.got, string(p))
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

func (c *collector) waitN(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		c.mu.Lock()
		if len(c.got) >= n {
			got := append([]string(nil), c.got...)
			c.mu.Unlock()
			return got
		}
		c.mu.Unlock()
		select {
		case <-c.ch:
		case <-deadline:
			c.mu.Lock()
			defer c.mu.Unlock()
			t.Fatalf("got %d payloads %q, want %d", len(c.got), c.got, n)
		}
	}
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

func TestPublishReachesEverySubscriberInOrder(t *testing.T) {
	backends(t, func(t *testing.T, newBroker func(*testing.T) codebuddy.Broker) {
		ctx := context.Background()
		a, b := newBroker(t), newBroker(t)
		ca, cb, other := newCollector(), newCollector(), newCollector()
		for _, s := range []struct {
			br    codebuddy.Broker
			topic string
			c     *collector
		}{{a, "doc:1", ca}, {b, "doc:1", cb}, {b, "doc:2", other}} {
			if _, err := s.br.Subscribe(ctx, s.topic, s.c.fn); err != nil {
				t.Fatal(err)
			}
		}
		// Published right after Subscribe returned: Subscribe promises the
		// subscription is live, so nothing may be lost.
		var want []string
		for i := range 50 {
			p := fmt.Sprintf("m%d", i)
			want = append(want, p)
			if err := a.Publish(ctx, "doc:1", []byte(p)); err != nil {
				t.Fatal(err)
			}
		}
		for name, c := range map[string]*collector{"same node": ca, "other node": cb} {
			got := c.waitN(t, len(want))
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s got %q, want %q in order", name, got, want)
			}
		}
		time.Sleep(50 * time.Millisecond)
		if n := other.count(); n != 0 {
			t.Errorf("subscriber of another topic got %d payloads", n)
		}
	})
}

func TestCancelStopsDeliveryOnlyForThatHandler(t *testing.T) {
	backends(t, func(t *testing.T, newBroker func(*testing.T) codebuddy.Broker) {
		ctx := context.Background()
		a, b := newBroker(t), newBroker(t)
		kept, dropped := newCollector(), newCollector()
		if _, err := b.Subscribe(ctx, "t", kept.fn); err != nil {
			t.Fatal(err)
		}
		cancel, err := b.Subscribe(ctx, "t", dropped.fn)
		if err != nil {
			t.Fatal(err)
		}
		a.Publish(ctx, "t", []byte("1"))
		kept.waitN(t, 1)
		dropped.waitN(t, 1)
		cancel()
		cancel() // idempotent
		a.Publish(ctx, "t", []byte("2"))
		kept.waitN(t, 2)
		time.Sleep(50 * time.Millisecond)
		if n := dropped.count(); n != 1 {
			t.Errorf("cancelled handler got %d payloads, want 1", n)
		}

		// The last handler leaving and a new one arriving resubscribes the topic.
		cancelAll, _ := b.Subscribe(ctx, "u", func([]byte) {})
		cancelAll()
		again := newCollector()
		if _, err := b.Subscribe(ctx, "u", again.fn); err != nil {
			t.Fatal(err)
		}
		a.Publish(ctx, "u", []byte("x"))
		again.waitN(t, 1)
	})
}

func TestBinaryPayloadIsDeliveredVerbatim(t *testing.T) {
	backends(t, func(t *testing.T, newBroker func(*testing.T) codebuddy.Broker) {
		ctx := context.Background()
		a, b := newBroker(t), newBroker(t)
		c := newCollector()
		b.Subscribe(ctx, "bin", c.fn)
		p := string([]byte{0, 0xff, '\n', 0xf0, 0x9f, 0x98, 0x80})
		a.Publish(ctx, "bin", []byte(p))
		if got := c.waitN(t, 1); got[0] != p {
			t.Errorf("got %q, want %q", got[0], p)
		}
	})
}

func TestMemoryPublishAfterCloseFails(t *testing.T) {
	m := broker.NewMemory()
	m.Close()
	if err := m.Publish(context.Background(), "t", nil); err != broker.ErrClosed {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
}

// TestSubscribeIsLiveWhenItReturns publishes on fresh topics right after
// Subscribe returns, from another node: Redis must have confirmed the
// subscription by then, or the message is lost.
func TestSubscribeIsLiveWhenItReturns(t *testing.T) {
	backends(t, func(t *testing.T, newBroker func(*testing.T) codebuddy.Broker) {
		ctx := context.Background()
		a, b := newBroker(t), newBroker(t)
		c := newCollector()
		const n = 200
		for i := range n {
			topic := fmt.Sprintf("fresh:%d", i)
			cancel, err := b.Subscribe(ctx, topic, c.fn)
			if err != nil {
				t.Fatal(err)
			}
			defer cancel()
			if err := a.Publish(ctx, topic, []byte(topic)); err != nil {
				t.Fatal(err)
			}
		}
		c.waitN(t, n)
	})
}
