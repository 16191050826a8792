package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/go-chi/httprate"
	"github.com/redis/go-redis/v9"
)

var _ httprate.LimitCounter = (*RedisCounter)(nil)

// RedisCounter is httprate's LimitCounter over Redis, so every node shares the
// same counts: one key per (key, window), INCRBY and EXPIRE pipelined.
type RedisCounter struct {
	client *redis.Client
	prefix string
	window time.Duration
}

// NewRedisCounter returns a counter whose keys start with prefix.
func NewRedisCounter(client *redis.Client, prefix string) *RedisCounter {
	return &RedisCounter{client: client, prefix: prefix}
}

// Config implements httprate.LimitCounter.
func (c *RedisCounter) Config(_ int, windowLength time.Duration) { c.window = windowLength }

func (c *RedisCounter) key(key string, window time.Time) string {
	return c.prefix + key + ":" + strconv.FormatInt(window.Unix(), 10)
}

// Increment implements httprate.LimitCounter.
func (c *RedisCounter) Increment(key string, currentWindow time.Time) error {
	return c.IncrementBy(key, currentWindow, 1)
}

// IncrementBy implements httprate.LimitCounter.
func (c *RedisCounter) IncrementBy(key string, currentWindow time.Time, amount int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	k := c.key(key, currentWindow)
	_, err := c.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.IncrBy(ctx, k, int64(amount))
		// Two windows: the sliding estimate still reads the previous one.
		p.Expire(ctx, k, 2*c.window+time.Second)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis counter: %w", err)
	}
	return nil
}

// Get implements httprate.LimitCounter.
func (c *RedisCounter) Get(key string, currentWindow, previousWindow time.Time) (int, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	vals, err := c.client.MGet(ctx, c.key(key, currentWindow), c.key(key, previousWindow)).Result()
	if err != nil {
		return 0, 0, fmt.Errorf("redis counter: %w", err)
	}
	n := func(v any) int {
		s, _ := v.(string)
		i, _ := strconv.Atoi(s)
		return i
	}
	return n(vals[0]), n(vals[1]), nil
}
