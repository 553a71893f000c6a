package threadlock

import (
	"context"
	"time"

	pb "github.com/threadlock/threadlock/clients/go/gen/threadlock/v1"
)

// LockState: a held or queued key.
type LockState struct {
	Key     string
	Holder  *Holder  // nil while only waiters are listed
	Waiters []Waiter // in the order they will be served
}

// Holder of a key.
type Holder struct {
	Owner        string
	FencingToken int64
	AcquiredAt   time.Time
	ExpiresAt    time.Time
	HeldFor      time.Duration // at the server's clock
	ExpiresIn    time.Duration
	Metadata     map[string]string
}

// Waiter queued for a key.
type Waiter struct {
	Owner    string
	Position int // 1 = next in line
	QueuedAt time.Time
	Metadata map[string]string
}

// status reads every page of req's selection.
func (c *Client) status(ctx context.Context, req *pb.StatusRequest) ([]LockState, error) {
	var locks []LockState
	req.PageSize = 500
	for {
		resp := &pb.StatusResponse{}
		if err := c.caller.call(ctx, "Status", req, resp, time.Now().Add(c.s.callTimeout),
			zeroTime); err != nil {
			return nil, err
		}
		for _, l := range resp.GetLocks() {
			locks = append(locks, lockStateOf(l))
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			return locks, nil
		}
	}
}

func lockStateOf(l *pb.LockState) LockState {
	state := LockState{Key: l.GetKey()}
	if h := l.GetHolder(); h != nil {
		state.Holder = &Holder{Owner: h.GetOwner(), FencingToken: h.GetFencingToken(),
			AcquiredAt: h.GetAcquiredAt().AsTime(), ExpiresAt: h.GetExpiresAt().AsTime(),
			HeldFor: h.GetHeldFor().AsDuration(), ExpiresIn: h.GetExpiresIn().AsDuration(),
			Metadata: h.GetMetadata()}
	}
	for _, w := range l.GetWaiters() {
		state.Waiters = append(state.Waiters, Waiter{Owner: w.GetOwner(),
			Position: int(w.GetPosition()), QueuedAt: w.GetQueuedAt().AsTime(),
			Metadata: w.GetMetadata()})
	}
	return state
}
