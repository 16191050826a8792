package codebuddy

import "context"

// Broker fans messages out to every node (and to this one). Handlers run on the
// broker's delivery goroutine and must not block.
type Broker interface {
	Publish(ctx context.Context, topic string, payload []byte) error
	// Subscribe registers fn for topic until the returned cancel is called.
	Subscribe(ctx context.Context, topic string, fn func(payload []byte)) (cancel func(), err error)
	Close() error
}
