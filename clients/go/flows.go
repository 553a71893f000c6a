package threadlock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/threadlock/threadlock/clients/go/gen/threadlock/v1"
)

// The protocol's multi-call flows, each as the Python SDK's _protocol.py has it, on top of
// caller.call (the one-RPC policy).

func (spec holdSpec) request() *pb.AcquireRequest {
	req := &pb.AcquireRequest{Key: spec.key, Owner: spec.owner, RequestId: spec.requestID,
		Metadata: spec.metadata, SessionId: spec.sessionID}
	if spec.sessionID == "" { // a session's lock lives on the session's TTL
		req.Ttl = durationpb.New(spec.ttl)
	}
	return req
}

// maxRequestIDs bounds the new request_ids one acquisition makes after ABORTED answers: each
// normally costs a queued lease's TTL, so the caller's wait ends first; this only bounds a
// misbehaving server.
const maxRequestIDs = 20

// acquire takes spec.key or returns *BusyError. Retries keep one request_id: never two grants.
//
// ABORTED ("the queued lease ... expired while waiting", or its place taken over) ends that
// request_id's attempt without a grant; it happens when the replica that kept the queued lease
// alive paused or died. For an SDK-made request_id (spec.ownRequestID) the caller never sees
// it: the old request_id is cleaned up (abandon, in case another attempt of it is still
// alive) and the SDK queues again with a new one, within what is left of the caller's wait;
// if the wait ran out meanwhile, it tries once more (wait 0), so the caller gets a grant or a
// *BusyError, the answers a wait promises. spec is updated to the request last sent: the one
// to clean up if no answer comes.
//
// A grant that arrives after its lease may have lapsed (the answer came later than the
// coordinator's valid_for allows: this process was paused, the network slow) is never handed
// out: it is released, and the SDK acquires again as after ABORTED, because its fencing token
// may already be older than a later holder's; with a caller's own request_id it returns an
// ABORTED *CoordinatorError (ErrConflict). The expiry returned is when the grant lapses at
// the earliest (sent + valid_for), or zero from a coordinator without valid_for.
func (c *caller) acquire(ctx context.Context, spec *holdSpec, callTimeout time.Duration) (
	*pb.Lease, time.Time, error) {
	waitUntil := time.Now().Add(spec.wait)
	for renewed := 0; ; renewed++ {
		resp := &pb.AcquireResponse{}
		sent := time.Now()
		err := c.call(ctx, "Acquire", spec.request(), resp, later(waitUntil, sent).Add(callTimeout),
			waitUntil)
		// Only an attempt that queued (sent within the wait) is re-sent: a try-once after the
		// wait cannot have lost a queued lease, so its ABORTED is not ours to hide.
		var ce *CoordinatorError
		if err != nil && spec.ownRequestID && errors.As(err, &ce) && ce.Code == codes.Aborted &&
			sent.Before(waitUntil) && renewed < maxRequestIDs && ctx.Err() == nil {
			slog.Info("threadlock: queueing again with a new request_id", "key", spec.key,
				"err", err)
			c.abandon(ctx, *spec, callTimeout)
			spec.requestID = newRequestID()
			continue
		}
		if err != nil {
			return nil, time.Time{}, err
		}
		lease := resp.GetLease()
		if lease == nil {
			return nil, time.Time{}, busyError(spec.key, resp.GetBusy())
		}
		if lease.GetValidFor() == nil {
			return lease, time.Time{}, nil
		}
		expires := sent.Add(lease.GetValidFor().AsDuration())
		if time.Now().Before(expires.Add(-marginOf(lease.GetTtl().AsDuration()))) {
			return lease, expires, nil
		}
		slog.Warn("threadlock: the grant arrived after its lease may have lapsed; releasing it "+
			"and acquiring again", "key", spec.key, "fencing_token", lease.GetFencingToken())
		if _, err := c.release(context.WithoutCancel(ctx), lease.GetLeaseToken(), callTimeout); err != nil {
			slog.Debug("threadlock: releasing a late grant", "key", spec.key, "err", err)
		}
		if !spec.ownRequestID || renewed >= maxRequestIDs {
			return nil, time.Time{}, coordinatorError("Acquire", codes.Aborted, fmt.Sprintf(
				"the grant of %q arrived after its lease may have lapsed (this process or the "+
					"network was too slow); it was released: acquire again with a new request_id",
				spec.key))
		}
		if err := ctx.Err(); err != nil {
			return nil, time.Time{}, err
		}
		spec.requestID = newRequestID()
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// abandon: after an Acquire that got no answer (unavailable, timed out, cancelled), make sure
// it left no lock behind: the same request_id, try-once, returns the grant if one landed;
// release it. Only for a request_id the SDK made up: nobody else can be retrying it. Best
// effort and bounded; a queued slot is removed by the coordinator itself.
func (c *caller) abandon(ctx context.Context, spec holdSpec, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	spec.wait = 0
	resp := &pb.AcquireResponse{}
	err := c.call(ctx, "Acquire", spec.request(), resp, time.Now().Add(timeout), time.Time{})
	if err == nil && resp.GetLease() != nil {
		_, err = c.release(ctx, resp.GetLease().GetLeaseToken(), timeout)
	}
	if err != nil {
		slog.Debug("threadlock: cleanup of an unanswered Acquire", "key", spec.key, "err", err)
	}
}

// release gives a lease back: (true, nil) released now, (false, nil) released before,
// errNothingHeld when the coordinator says the token holds nothing (expired or taken: a loss).
func (c *caller) release(ctx context.Context, token string, timeout time.Duration) (
	bool, error) {
	resp := &pb.ReleaseResponse{}
	err := c.call(ctx, "Release", &pb.ReleaseRequest{LeaseToken: token}, resp,
		time.Now().Add(timeout), time.Time{})
	if errors.Is(err, ErrNotFound) {
		return false, errNothingHeld
	}
	return resp.GetReleased(), err
}

var errNothingHeld = errors.New("the token holds nothing")

// releaseUntilDone: a session lock whose Release failed would be renewed with its session
// forever: keep trying (backing off) until released, the session ends, or ctx ends.
func (c *caller) releaseUntilDone(ctx context.Context, token string, session *leaseState,
	timeout time.Duration) {
	pause := 500 * time.Millisecond
	for session.err() == nil {
		_, err := c.release(ctx, token, timeout)
		if err == nil || errors.Is(err, errNothingHeld) || ctx.Err() != nil {
			return
		}
		slog.Warn("threadlock: releasing a lock of a session failed again; retrying",
			"session", session.key, "err", err)
		if !sleep(ctx, pause) {
			return
		}
		pause = min(pause*2, 10*time.Second)
	}
}

func (c *caller) openSession(ctx context.Context, owner string, ttl, callTimeout time.Duration) (
	*leaseState, error) {
	sent := time.Now()
	resp := &pb.OpenSessionResponse{}
	if err := c.call(ctx, "OpenSession", &pb.OpenSessionRequest{Owner: owner,
		Ttl: durationpb.New(ttl)}, resp, sent.Add(callTimeout), time.Time{}); err != nil {
		return nil, err
	}
	got := resp.GetTtl().AsDuration()
	return newLeaseState("session of "+owner, resp.GetSessionId(), 0, got, sent.Add(got), nil), nil
}

// closeSession ends a session (its locks are freed at once). Best effort: a session that
// cannot be closed lapses after its TTL.
func (c *caller) closeSession(ctx context.Context, sessionID string, timeout time.Duration) {
	err := c.call(ctx, "CloseSession", &pb.CloseSessionRequest{SessionId: sessionID},
		&pb.CloseSessionResponse{}, time.Now().Add(timeout), time.Time{})
	if err != nil {
		slog.Debug("threadlock: closing a session", "err", err)
	}
}

// sessionGone: whether the session really ended (an Acquire's NOT_FOUND may also mean that
// only its queue slot's lease was lost): ask with a KeepAlive, which renews it if it lives.
func (c *caller) sessionGone(ctx context.Context, session *leaseState,
	timeout time.Duration) bool {
	err := c.call(ctx, "KeepAlive", &pb.KeepAliveRequest{
		Target: &pb.KeepAliveRequest_SessionId{SessionId: session.token}},
		&pb.KeepAliveResponse{}, time.Now().Add(timeout), time.Time{})
	if errors.Is(err, ErrNotFound) {
		session.lose("the coordinator says it ended (" + details(err) + ")")
		return true
	}
	return false
}

// stateOf: the state of a fresh grant. expires: from the coordinator's valid_for (see
// acquire), skew-free and right even for a late answer; at most a TTL from now. When it is
// zero (an older coordinator), the server's expires_at is read against our wall clock,
// clamped to [ttl/2, ttl] so that clock skew can neither declare it lost at once nor let it
// look longer than a TTL (the coordinator renews a queued lease every ttl/3, so at least half
// of it is left at grant).
func stateOf(lease *pb.Lease, parent *leaseState, expires time.Time) *leaseState {
	ttl := lease.GetTtl().AsDuration()
	if expires.IsZero() {
		left := time.Until(lease.GetExpiresAt().AsTime())
		expires = time.Now().Add(min(max(left, ttl/2), ttl))
	}
	if most := time.Now().Add(ttl); expires.After(most) {
		expires = most
	}
	return newLeaseState(lease.GetKey(), lease.GetLeaseToken(), lease.GetFencingToken(), ttl,
		expires, parent)
}

func busyError(key string, busy *pb.Busy) *BusyError {
	h := busy.GetHolder()
	message := busy.GetMessage()
	if message == "" {
		message = fmt.Sprintf("%s is busy with another request. "+
			"Please wait for it to finish and try again.", key)
	}
	return &BusyError{Key: key, Message: message, Holder: h.GetOwner(),
		HolderSince:  timeOf(h.GetAcquiredAt().AsTime(), h.GetAcquiredAt() != nil),
		HolderUntil:  timeOf(h.GetExpiresAt().AsTime(), h.GetExpiresAt() != nil),
		FencingToken: h.GetFencingToken(), Metadata: h.GetMetadata(),
		Waiters: int(busy.GetWaiters()), Waited: busy.GetWaited().AsDuration()}
}

func timeOf(t time.Time, set bool) time.Time {
	if !set {
		return time.Time{}
	}
	return t
}
