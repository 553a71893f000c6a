// Package threadlock is the Go client of the threadlock coordinator: per-key locks (an OpenAI
// conversation or thread id, or any string) shared by every process that talks to it.
//
//	client, err := threadlock.New(threadlock.Config{Addresses: []string{"threadlock:50051"}})
//	lease, err := client.Lock(ctx, "conv_abc", threadlock.LockOptions{TTL: 30 * time.Second})
//	var busy *threadlock.BusyError
//	if errors.As(err, &busy) { ... busy.Message ... }
//	defer lease.Release(context.Background())
//	work(ctx, lease.FencingToken()) // stop when <-lease.Done() closes
//
// A Lease renews itself in a goroutine every TTL/3. Done() closes when it is lost (the
// coordinator refused a renewal, or no renewal got through before the TTL lapsed) or
// released; Err() then says which. The policy (deadlines, failover, request ids, renewal,
// loss) is the one every threadlock SDK follows.
package threadlock

import (
	"context"
	"errors"
	"strings"
	"sync"

	"google.golang.org/grpc"

	pb "github.com/threadlock/threadlock/clients/go/gen/threadlock/v1"
)

// Client takes locks from one or several coordinators. Safe for concurrent use; Close it.
type Client struct {
	s      settings
	t      transport
	caller *caller

	sessionMu sync.Mutex // held while a session opens: concurrent Locks share the new one
	mu        sync.Mutex
	session   *leaseState
	renewers  map[*leaseState]*renewer // lock leases and the session, until released or closed
	closed    bool

	background sync.WaitGroup     // cleanups and release retries
	stopBg     context.CancelFunc // stops them at Close
	bgCtx      context.Context
}

// New makes a Client; it connects lazily, on the first call.
func New(cfg Config) (*Client, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	auth, err := newBearer(cfg)
	if err != nil {
		return nil, err
	}
	extra := cfg.DialOptions
	if auth != nil {
		extra = append([]grpc.DialOption{grpc.WithPerRPCCredentials(auth)}, extra...)
	}
	conns, err := dial(s.addresses, cfg.TLS, extra)
	if err != nil {
		return nil, err
	}
	var t transport = conns
	if s.transport == TransportStream {
		t = newStreamTransport(conns, auth)
	}
	c := &Client{s: s, t: t, caller: &caller{t: t}, renewers: map[*leaseState]*renewer{}}
	c.bgCtx, c.stopBg = context.WithCancel(context.Background())
	return c, nil
}

// Owner is the owner Status shows for this client's locks.
func (c *Client) Owner() string { return c.s.owner }

// Lock takes key: at once, or queueing (FIFO) for up to opts.Wait. When the key stays held it
// returns a *BusyError (errors.Is(err, ErrBusy)) with the holder and the coordinator's
// message. A cancelled ctx leaves the queue at once. An Acquire that got no answer (ctx
// cancelled, coordinator unavailable) is cleaned up in the background when the request id is
// the SDK's own. Under Config.Session the lock lives on the client's session.
func (c *Client) Lock(ctx context.Context, key string, opts LockOptions) (*Lease, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	for attempt := 0; ; attempt++ { // again only if our session turned out to be gone
		spec, err := newHoldSpec(c.s, key, opts)
		if err != nil {
			return nil, err
		}
		var session *leaseState
		if c.s.session {
			if session, err = c.currentSession(ctx); err != nil {
				return nil, err
			}
			spec.sessionID = session.token
		}
		got, expires, err := c.caller.acquire(ctx, &spec, c.s.callTimeout)
		if err == nil {
			return c.newLease(got, stateOf(got, session, expires)), nil
		}
		var ce *CoordinatorError
		if attempt == 0 && session != nil && errors.As(err, &ce) && errors.Is(err, ErrNotFound) &&
			strings.HasPrefix(ce.Details, "session_id") &&
			c.caller.sessionGone(ctx, session, c.s.callTimeout) {
			continue
		}
		if spec.ownRequestID && noAnswer(err) { // no answer: leave no lock behind
			c.inBackground(func(ctx context.Context) { c.caller.abandon(ctx, spec, c.s.releaseTimeout) })
		}
		return nil, err
	}
}

// noAnswer: the Acquire may have been granted without our knowing (unavailable, timeout,
// cancellation), as opposed to an answer (busy, refused).
func noAnswer(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded)
}

func (c *Client) newLease(got *pb.Lease, state *leaseState) *Lease {
	l := &Lease{client: c, pb: got, state: state}
	if state.parent == nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed {
			state.lose("the client was closed")
			return l
		}
		c.renewers[state] = startRenewer(c.caller, state, &pb.KeepAliveRequest{
			Target: &pb.KeepAliveRequest_LeaseToken{LeaseToken: got.GetLeaseToken()}},
			c.s.callTimeout)
	}
	return l
}

// stopRenewing: the lease was released; its renewer ends.
func (c *Client) stopRenewing(state *leaseState) {
	c.mu.Lock()
	r := c.renewers[state]
	delete(c.renewers, state)
	c.mu.Unlock()
	if r != nil {
		r.halt()
	}
}

// currentSession opens the client's session on first use, and again after it was lost.
func (c *Client) currentSession(ctx context.Context) (*leaseState, error) {
	c.sessionMu.Lock()
	defer c.sessionMu.Unlock()
	c.mu.Lock()
	session, closed := c.session, c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if session != nil && session.lostErr() == nil {
		return session, nil
	}
	state, err := c.caller.openSession(ctx, c.s.owner, c.s.sessionTTL, c.s.callTimeout)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.session; old != nil {
		if r := c.renewers[old]; r != nil {
			delete(c.renewers, old)
			go r.halt()
		}
	}
	if c.closed { // closed while opening: give it back (best effort)
		state.lose("the client was closed")
		c.caller.closeSession(context.Background(), state.token, c.s.releaseTimeout)
		return nil, ErrClosed
	}
	c.session = state
	c.renewers[state] = startRenewer(c.caller, state, &pb.KeepAliveRequest{
		Target: &pb.KeepAliveRequest_SessionId{SessionId: state.token}}, c.s.callTimeout)
	return state, nil
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// inBackground runs f in a goroutine that Close waits for (and whose ctx Close cancels).
// After Close it does nothing: the connections are gone.
func (c *Client) inBackground(f func(ctx context.Context)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.background.Add(1)
	go func() {
		defer c.background.Done()
		f(c.bgCtx)
	}()
}

// Status lists the holder and waiters of key (empty if nobody holds or waits for it).
func (c *Client) Status(ctx context.Context, key string) ([]LockState, error) {
	return c.status(ctx, &pb.StatusRequest{Selector: &pb.StatusRequest_Key{Key: key}})
}

// StatusPrefix lists every held or queued key that starts with prefix ("" = all), all pages.
func (c *Client) StatusPrefix(ctx context.Context, prefix string) ([]LockState, error) {
	return c.status(ctx, &pb.StatusRequest{Selector: &pb.StatusRequest_Prefix{Prefix: prefix}})
}

// Close stops renewing (leases still held lapse after their TTL and are marked lost), closes
// the session (its locks are freed at once) and the connections.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	session, renewers := c.session, c.renewers
	c.session, c.renewers = nil, map[*leaseState]*renewer{}
	c.mu.Unlock()
	for state, r := range renewers {
		r.halt()
		state.lose("the client was closed")
	}
	if session != nil {
		c.caller.closeSession(context.Background(), session.token, c.s.releaseTimeout)
	}
	c.stopBg()
	c.background.Wait()
	return c.t.close()
}
