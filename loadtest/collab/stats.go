package main

import (
	"fmt"
	"slices"
	"time"
)

// dist is a sorted sample of durations.
type dist []time.Duration

func newDist(samples []time.Duration) dist {
	d := slices.Clone(samples)
	slices.Sort(d)
	return d
}

// q is the nearest-rank quantile (0 < p ≤ 1); 0 for an empty sample.
func (d dist) q(p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(p*float64(len(d))+0.999999) - 1
	i = max(0, min(i, len(d)-1))
	return d[i]
}

func (d dist) max() time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[len(d)-1]
}

func (d dist) summary() string {
	return fmt.Sprintf("p50 %s  p95 %s  p99 %s  max %s  (n=%d)", ms(d.q(0.5)), ms(d.q(0.95)), ms(d.q(0.99)), ms(d.max()), len(d))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}
