package threadlock

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/threadlock/threadlock/clients/go/gen/threadlock/v1"
)

// caller is the policy of one RPC (the Python SDK's `_protocol.call`): every call has a
// deadline; UNAVAILABLE, or an address that hangs, fails over to the next address within it,
// backing off after a full round. Durations come from the monotonic clock (time.Now).
type caller struct {
	t       transport
	current atomic.Int64 // the address in use; failover moves it for every call
}

// call performs method until deadline. With waitUntil set, req is an Acquire whose Wait
// shrinks on each retry so that the whole call ends by deadline.
func (c *caller) call(ctx context.Context, method string, req, resp proto.Message,
	deadline time.Time, waitUntil time.Time) error {
	n := c.t.targets()
	tried := 0
	last := "no attempt"
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("threadlock: %s: %w", method, err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return coordinatorError(method, codes.Unavailable,
				"no coordinator answered in time ("+last+")")
		}
		var waiting time.Duration
		if !waitUntil.IsZero() {
			waiting = max(time.Until(waitUntil), 0)
			req.(*pb.AcquireRequest).Wait = durationpb.New(waiting)
		}
		// With several addresses, a hung one must not eat the whole budget: an attempt gets
		// half of what is left (a queued Acquire needs its whole wait, though).
		attempt := left
		if n > 1 && waiting == 0 {
			attempt = max(left/2, min(left, time.Second))
		}
		target := int(c.current.Load())
		actx, cancel := context.WithTimeout(ctx, attempt)
		err := c.t.invoke(actx, target, method, req, resp)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil { // the caller's own cancellation or deadline, not the SDK's
			return fmt.Errorf("threadlock: %s: %w", method, ctx.Err())
		}
		st := status.Convert(err)
		hung := st.Code() == codes.DeadlineExceeded && attempt < left
		if st.Code() != codes.Unavailable && !hung {
			return coordinatorError(method, st.Code(), st.Message())
		}
		last = st.Message()
		tried++
		c.current.CompareAndSwap(int64(target), int64((target+1)%n))
		if tried%n == 0 { // every address failed once: back off, within the budget
			pause := min(100*time.Millisecond<<min(tried/n, 5), 2*time.Second, time.Until(deadline))
			if pause > 0 && !sleep(ctx, pause) {
				return fmt.Errorf("threadlock: %s: %w", method, ctx.Err())
			}
		}
	}
}

// sleep waits d, or less if ctx ends (then false).
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
