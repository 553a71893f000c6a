package threadlock

import (
	"context"
	"errors"
	"time"

	pb "github.com/threadlock/threadlock/clients/go/gen/threadlock/v1"
)

// renewer keeps one lease alive (a lock's own, or the session's) in a goroutine until stopped.
type renewer struct {
	stop     context.CancelFunc
	finished chan struct{}
}

// startRenewer renews state every ttl/3. The lease is lost when the coordinator refuses
// (NOT_FOUND, INVALID_ARGUMENT), or when no renewal got through before it would lapse.
func startRenewer(c *caller, state *leaseState, req *pb.KeepAliveRequest,
	callTimeout time.Duration) *renewer {
	ctx, cancel := context.WithCancel(context.Background())
	r := &renewer{stop: cancel, finished: make(chan struct{})}
	go func() {
		defer close(r.finished)
		keep(ctx, c, state, req, callTimeout)
	}()
	return r
}

// halt stops renewing and waits (briefly) for a renewal in flight.
func (r *renewer) halt() {
	r.stop()
	select {
	case <-r.finished:
	case <-time.After(time.Second): // a renewal in flight may finish on its own, later
	}
}

func keep(ctx context.Context, c *caller, state *leaseState, req *pb.KeepAliveRequest,
	callTimeout time.Duration) {
	for state.err() == nil {
		if !sleep(ctx, state.dueIn()) {
			return
		}
		sent := time.Now()
		// A renewal that has not answered when the lease would lapse is of no use any more.
		deadline := state.lapseAt()
		if limit := sent.Add(callTimeout); limit.Before(deadline) {
			deadline = limit
		}
		resp := &pb.KeepAliveResponse{}
		err := c.call(ctx, "KeepAlive", req, resp, deadline, time.Time{})
		switch {
		case ctx.Err() != nil:
			return // stopped (released meanwhile): the answer is no longer ours to judge
		case err == nil:
			state.renewed(sent, resp.GetTtl().AsDuration())
		case errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidArgument):
			state.lose("the coordinator refused to renew it (" + details(err) + ")")
		case !time.Now().Before(state.lapseAt()):
			state.lose("no renewal got through before its TTL lapsed (" + details(err) + ")")
		default: // transient (unavailable, overloaded): try again shortly, within the TTL
			if !sleep(ctx, min(200*time.Millisecond, max(time.Until(state.lapseAt()), 0))) {
				return
			}
		}
	}
}

// details: the coordinator's words of err (its status details), else err itself.
func details(err error) string {
	var ce *CoordinatorError
	if errors.As(err, &ce) {
		return ce.Details
	}
	return err.Error()
}
