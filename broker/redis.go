package broker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

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
	ch := r.ps.Channel(redis.WithChannelSize(4096))
	for msg := range ch {
		topic := msg.Channel[len(r.prefix):]
		r.h.deliver(topic, []byte(msg.Payload))
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
		if err := r.ps.Subscribe(ctx, r.prefix+topic); err != nil {
			r.h.remove(topic, id)
			return nil, fmt.Errorf("redis subscribe: %w", err)
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

// Close implements codebuddy.Broker.
func (r *Redis) Close() error {
	err := r.ps.Close()
	<-r.done
	return err
}
