package collab

import (
	"time"

	"golang.org/x/time/rate"
)

// userMessageShare is how many connections' worth of messages one account's
// connections on a node may send together: a few tabs can be busy at once,
// thirty-two cannot multiply the per-connection limit by thirty-two.
const userMessageShare = 4

// userQuota is what one account's connections on this node share: how many
// are open, their messages and the rebasing their pushes cost.
type userQuota struct {
	conns  int
	msgs   *rate.Limiter
	rebase *rate.Limiter
}

// reserveConn counts a new connection of userID against MaxUserConns and
// returns the account's shared limiters, or nil when it has as many open as
// it may (h.mu).
func (h *Hub) reserveConn(userID string) *userQuota {
	h.mu.Lock()
	defer h.mu.Unlock()
	q := h.quotas[userID]
	if q == nil {
		q = &userQuota{
			msgs:   rate.NewLimiter(rate.Limit(h.msgRate*userMessageShare), h.msgBurst*userMessageShare),
			rebase: rate.NewLimiter(rate.Limit(h.rebaseSteps), 2*h.rebaseSteps),
		}
		h.quotas[userID] = q
	}
	if q.conns >= h.maxUserConns {
		return nil
	}
	q.conns++
	return q
}

// releaseConn gives back a connection reserveConn counted.
func (h *Hub) releaseConn(userID string) {
	h.mu.Lock()
	if q := h.quotas[userID]; q != nil && q.conns > 0 {
		q.conns--
	}
	h.mu.Unlock()
}

// forgetQuotas drops the quotas of accounts with no connection whose buckets
// have refilled: dropping one sooner would let a client refill its buckets by
// reconnecting.
func (h *Hub) forgetQuotas() {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, q := range h.quotas {
		if q.conns == 0 && q.msgs.TokensAt(now) >= float64(q.msgs.Burst()) && q.rebase.TokensAt(now) >= float64(q.rebase.Burst()) {
			delete(h.quotas, id)
		}
	}
}
