package broker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis fans out over Redis pub/sub: one subscription connection per node, with
// local handlers multiplexed on it.
type Redis struct {
	client *redis.Client
	ps     *redis.PubSub
	h      handlers
	log    *slog.Logger
	mu     sync.Mutex // orders SUBSCRIBE/UNSUBSCRIBE with handler changes
	done   chan struct{}
	prefix string

	// confirmed delivers Redis' confirmations of SUBSCRIBE by channel; Subscribe
	// (holding mu, so one at a time) waits on it.
	waitMu    sync.Mutex
	confirmed map[string]chan struct{}
}

// NewRedis starts a broker on client. Channels are prefixed so that several
// deployments can share one Redis.
func NewRedis(ctx context.Context, client *redis.Client, prefix string, log *slog.Logger) (*Redis, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	r := &Redis{client: client, log: log, done: make(chan struct{}), prefix: prefix}
	r.ps = client.Subscribe(ctx)
	go r.receive()
	return r, nil
}

func (r *Redis) receive() {
	defer close(r.done)
	ch := r.ps.ChannelWithSubscriptions(redis.WithChannelSize(4096))
	for m := range ch {
		switch m := m.(type) {
		case *redis.Message:
			r.h.deliver(m.Channel[len(r.prefix):], []byte(m.Payload))
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			r.waitMu.Lock()
			if c := r.confirmed[m.Channel]; c != nil {
				close(c)
				delete(r.confirmed, m.Channel)
			}
			r.waitMu.Unlock()
		}
	}
}

// Publish implements codebuddy.Broker.
func (r *Redis) Publish(ctx context.Context, topic string, payload []byte) error {
	if err := r.client.Publish(ctx, r.prefix+topic, payload).Err(); err != nil {
		return fmt.Errorf("redis publish: %w", err)
	}
	return nil
}

// Subscribe implements codebuddy.Broker; it returns once Redis confirmed the subscription.
func (r *Redis) Subscribe(ctx context.Context, topic string, fn func([]byte)) (func(), error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, first := r.h.add(topic, fn)
	if first {
		if err := r.subscribe(ctx, r.prefix+topic); err != nil {
			if r.h.remove(topic, id) {
				_ = r.ps.Unsubscribe(context.Background(), r.prefix+topic)
			}
			return nil, fmt.Errorf("redis subscribe %s: %w", topic, err)
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.h.remove(topic, id) {
				if err := r.ps.Unsubscribe(context.Background(), r.prefix+topic); err != nil {
					r.log.Warn("redis unsubscribe", "topic", topic, "err", err)
				}
			}
		})
	}, nil
}

// subscribe sends SUBSCRIBE and waits for Redis to confirm it: PubSub.Subscribe
// only writes the command, and a message published before Redis processed it
// would not reach this node.
func (r *Redis) subscribe(ctx context.Context, channel string) error {
	confirmed := make(chan struct{})
	r.waitMu.Lock()
	if r.confirmed == nil {
		r.confirmed = map[string]chan struct{}{}
	}
	r.confirmed[channel] = confirmed
	r.waitMu.Unlock()
	defer func() {
		r.waitMu.Lock()
		if r.confirmed[channel] == confirmed {
			delete(r.confirmed, channel)
		}
		r.waitMu.Unlock()
	}()
	if err := r.ps.Subscribe(ctx, channel); err != nil {
		return err
	}
	// Bounded even under a context without deadline (the hub subscribes with
	// its lifetime context): an unreachable Redis must not hang a connection.
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case <-confirmed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("no confirmation from Redis within 10s")
	case <-r.done:
		return ErrClosed
	}
}

// Close implements codebuddy.Broker.
func (r *Redis) Close() error {
	err := r.ps.Close()
	<-r.done
	return err
}
