package threadlock

import (
	"context"
	"errors"
	"fmt"
	"time"

	pb "github.com/threadlock/threadlock/clients/go/gen/threadlock/v1"
)

// Lease is a held lock, renewed in a goroutine (or with its session) until released. Like a
// context.Context, Done() closes when it ends and Err() says why: a *LeaseLostError when it
// was lost, ErrReleased after Release. Safe for concurrent use.
type Lease struct {
	client *Client
	pb     *pb.Lease
	state  *leaseState
}

func (l *Lease) Key() string   { return l.pb.GetKey() }
func (l *Lease) Owner() string { return l.pb.GetOwner() }

// FencingToken strictly increases with every grant of the key: hand it to what you protect,
// and have it refuse writes with a smaller token than one it has seen.
func (l *Lease) FencingToken() int64 { return l.pb.GetFencingToken() }

// LeaseToken releases the lock: treat it as a secret.
func (l *Lease) LeaseToken() string { return l.pb.GetLeaseToken() }

// SessionID is set when the lock lives under the client's session.
func (l *Lease) SessionID() string           { return l.pb.GetSessionId() }
func (l *Lease) AcquiredAt() time.Time       { return l.pb.GetAcquiredAt().AsTime() }
func (l *Lease) TTL() time.Duration          { return l.pb.GetTtl().AsDuration() }
func (l *Lease) Metadata() map[string]string { return l.pb.GetMetadata() }

// ExpiresIn: how long the lease lasts from now unless renewed (the SDK's conservative guess).
func (l *Lease) ExpiresIn() time.Duration {
	if l.state.parent != nil {
		return max(time.Until(l.state.parent.lapseAt()), 0)
	}
	return max(time.Until(l.state.lapseAt()), 0)
}

// Done closes when the lease ends: lost, or released. Pass it into the work, e.g. with
// LeaseContext, so that the work stops when the lock is lost.
func (l *Lease) Done() <-chan struct{} {
	_ = l.state.err() // a lapse that nothing noticed yet closes it now
	return l.state.done
}

// Err is nil while the lease is held; a *LeaseLostError once lost; ErrReleased after Release.
func (l *Lease) Err() error { return l.state.err() }

// Check is a checkpoint between steps of work: a *LeaseLostError if the lease was lost
// (and ErrReleased if it was released), else nil.
func (l *Lease) Check() error { return l.state.err() }

// Annotate merges metadata into the lock's (Status shows it), e.g. {"response_id": "resp_1"};
// an empty value removes a key. It renews the lease as a side effect.
func (l *Lease) Annotate(ctx context.Context, metadata map[string]string) error {
	if err := l.state.err(); err != nil {
		return err
	}
	sent := time.Now()
	resp := &pb.KeepAliveResponse{}
	err := l.client.caller.call(ctx, "KeepAlive", &pb.KeepAliveRequest{
		Target:   &pb.KeepAliveRequest_LeaseToken{LeaseToken: l.pb.GetLeaseToken()},
		Metadata: metadata}, resp, sent.Add(l.client.s.callTimeout), zeroTime)
	if errors.Is(err, ErrNotFound) {
		l.state.lose("the coordinator no longer knows it (" + details(err) + ")")
		return errors.Join(l.state.err(), err)
	}
	if err == nil && l.state.parent == nil {
		l.state.renewed(sent, resp.GetTtl().AsDuration())
	}
	return err
}

// Release stops renewing and gives the lock back, bounded by ctx and Config.ReleaseTimeout.
// (true, nil): this call released it. (false, nil): it was released before, or the
// coordinator said the token held nothing any more (then Err() is a *LeaseLostError). If the
// release does not get through, the lease is marked lost and the error returned; it lapses
// after its TTL (a lock under a session is released again in the background).
func (l *Lease) Release(ctx context.Context) (bool, error) {
	if l.state.isReleased() {
		return false, nil
	}
	l.client.stopRenewing(l.state)
	released, err := l.client.caller.release(ctx, l.pb.GetLeaseToken(), l.client.s.releaseTimeout)
	switch {
	case errors.Is(err, errNothingHeld):
		l.state.lose("at release the coordinator said it no longer held the key " +
			"(it expired or was released by someone else)")
		l.state.release()
		return false, nil
	case err != nil:
		how := "it lapses after its TTL"
		if session := l.state.parent; session != nil {
			how = "it is retried in the background"
			token := l.pb.GetLeaseToken()
			l.client.inBackground(func(ctx context.Context) {
				l.client.caller.releaseUntilDone(ctx, token, session, l.client.s.releaseTimeout)
			})
		}
		l.state.lose(fmt.Sprintf("its release failed (%s); it is no longer renewed and %s",
			details(err), how))
		l.state.release()
		return false, err
	}
	l.state.release()
	return released, nil
}

func (l *Lease) String() string {
	s := fmt.Sprintf("threadlock.Lease(%q, token %d", l.Key(), l.FencingToken())
	if err := l.Err(); err != nil {
		s += ": " + err.Error()
	}
	return s + ")"
}

// LeaseContext derives a context from parent that is cancelled when the lease ends (lost or
// released): hand it to the protected work so that it stops when the lock is lost. Its
// context.Cause is the lease's Err(). Call the CancelFunc when the work is done.
func LeaseContext(parent context.Context, lease *Lease) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	go func() {
		select {
		case <-lease.Done():
			cancel(lease.Err())
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

var zeroTime time.Time
