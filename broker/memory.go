// Package broker implements codebuddy.Broker in process (one node) and over Redis
// pub/sub (a cluster).
package broker

import (
	"context"
	"errors"
	"sync"

	"github.com/codebuddy-dev/codebuddy"
)

var (
	_ codebuddy.Broker = (*Memory)(nil)
	_ codebuddy.Broker = (*Redis)(nil)
)

// ErrClosed is returned after Close.
var ErrClosed = errors.New("broker closed")

// handlers is a topic's subscriber set, shared by both implementations.
type handlers struct {
	mu     sync.RWMutex
	next   uint64
	topics map[string]map[uint64]func([]byte)
}

func (h *handlers) add(topic string, fn func([]byte)) (id uint64, first bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.topics == nil {
		h.topics = map[string]map[uint64]func([]byte){}
	}
	m := h.topics[topic]
	if m == nil {
		m = map[uint64]func([]byte){}
		h.topics[topic] = m
		first = true
	}
	h.next++
	m[h.next] = fn
	return h.next, first
}

func (h *handlers) remove(topic string, id uint64) (last bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.topics[topic]
	if m == nil {
		return false
	}
	delete(m, id)
	if len(m) == 0 {
		delete(h.topics, topic)
		return true
	}
	return false
}

func (h *handlers) deliver(topic string, payload []byte) {
	h.mu.RLock()
	fns := make([]func([]byte), 0, len(h.topics[topic]))
	for _, fn := range h.topics[topic] {
		fns = append(fns, fn)
	}
	h.mu.RUnlock()
	for _, fn := range fns {
		fn(payload)
	}
}

// Memory delivers within the process, synchronously in Publish.
type Memory struct {
	h      handlers
	mu     sync.RWMutex
	closed bool
}

// NewMemory returns an in-process broker.
func NewMemory() *Memory { return &Memory{} }

// Publish implements codebuddy.Broker.
func (m *Memory) Publish(_ context.Context, topic string, payload []byte) error {
	m.mu.RLock()
	closed := m.closed
	m.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	m.h.deliver(topic, payload)
	return nil
}

// Subscribe implements codebuddy.Broker.
func (m *Memory) Subscribe(_ context.Context, topic string, fn func([]byte)) (func(), error) {
	id, _ := m.h.add(topic, fn)
	var once sync.Once
	return func() { once.Do(func() { m.h.remove(topic, id) }) }, nil
}

// Close implements codebuddy.Broker.
func (m *Memory) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	return nil
}
