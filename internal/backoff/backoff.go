// Package backoff is Landform's one exponential backoff: the poll loops, the
// ledger flusher and the ledger writer's push retries all wait with it.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy doubles Base per failure up to Cap, and spreads every delay by
// ±10% so that many waiters started together do not retry in step.
type Policy struct {
	Base time.Duration
	// Cap bounds the delay; a Cap below Base means Base.
	Cap time.Duration
}

// Delay returns the wait after failures consecutive failures: Base for 0,
// then doubled per failure, capped, with jitter.
func (p Policy) Delay(failures int) time.Duration {
	d := p.Base
	limit := max(p.Cap, p.Base)
	for range failures {
		d *= 2
		if d >= limit {
			d = limit
			break
		}
	}
	return Jitter(d)
}

// Wait sleeps p.Delay(failures), or until ctx is done (then it returns
// ctx's error).
func (p Policy) Wait(ctx context.Context, failures int) error {
	return Sleep(ctx, p.Delay(failures))
}

// Sleep waits d, or until ctx is done (then it returns ctx's error); a d
// of zero or less returns at once with ctx's error, if any.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Jitter spreads d by ±10%.
func Jitter(d time.Duration) time.Duration {
	span := int64(d) / 5
	if span <= 0 {
		return d
	}
	return d - time.Duration(span/2) + time.Duration(rand.Int64N(span))
}
