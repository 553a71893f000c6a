package threadlock

import (
	"sync"
	"time"
)

// leaseState is what the SDK knows about one lease (a lock's own, or a session's), as the
// Python SDK's LeaseState. Loss is sticky and closes done once. A lock under a session has a
// parent and is lost with it. Times are time.Now readings: Go compares them on the monotonic
// clock, so wall-clock jumps cannot stretch a lease.
type leaseState struct {
	key          string
	token        string // lease token, or session id
	fencingToken int64
	parent       *leaseState

	mu       sync.Mutex
	ttl      time.Duration
	expires  time.Time // when it lapses unless renewed (a conservative guess)
	lost     *LeaseLostError
	released bool
	children map[*leaseState]struct{}
	done     chan struct{} // closed when lost or released
}

func newLeaseState(key, token string, fencing int64, ttl time.Duration, expires time.Time,
	parent *leaseState) *leaseState {
	s := &leaseState{key: key, token: token, fencingToken: fencing, parent: parent, ttl: ttl,
		expires: expires, done: make(chan struct{})}
	if parent != nil {
		parent.mu.Lock()
		if parent.children == nil {
			parent.children = map[*leaseState]struct{}{}
		}
		parent.children[s] = struct{}{}
		parentLost := parent.lost
		parent.mu.Unlock()
		if parentLost != nil {
			s.lose("its session was lost: " + parentLost.Reason)
		}
	}
	return s
}

// margin: declared lost this long before the guessed expiry, to stop before others may start.
func (s *leaseState) margin() time.Duration {
	return marginOf(s.ttl)
}

// marginOf: a lease of ttl is declared lost this long before its guessed expiry.
func marginOf(ttl time.Duration) time.Duration {
	return min(time.Second, ttl/10)
}

// renewed: a renewal sent at `sent` was answered with `ttl`.
func (s *leaseState) renewed(sent time.Time, ttl time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ttl = ttl
	s.expires = sent.Add(ttl) // counted from when the request left: conservative
}

// dueIn: time until the next renewal, a third into the TTL as the contract advises.
func (s *leaseState) dueIn() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(time.Until(s.expires.Add(-s.ttl*2/3)), 0)
}

// lapseAt: when the lease counts as lost without a renewal (expiry minus margin).
func (s *leaseState) lapseAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expires.Add(-s.margin())
}

// err: nil while held; *LeaseLostError once lost (checking the clock and the parent);
// ErrReleased after a clean release.
func (s *leaseState) err() error {
	if s.parent != nil {
		if perr := s.parent.lostErr(); perr != nil {
			s.lose("its session was lost: " + perr.Reason)
		}
	} else if !time.Now().Before(s.lapseAt()) {
		s.lose("it was not renewed in time (TTL lapsed)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lost != nil {
		return s.lost
	}
	if s.released {
		return ErrReleased
	}
	return nil
}

// lostErr: the loss, checking the clock (nil if not lost; a release is not a loss).
func (s *leaseState) lostErr() *LeaseLostError {
	_ = s.err()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lost
}

// lose marks it lost (once; later reasons are ignored) and passes the loss on to its locks.
func (s *leaseState) lose(reason string) {
	s.mu.Lock()
	if s.lost != nil || s.released {
		s.mu.Unlock()
		return
	}
	s.lost = &LeaseLostError{Key: s.key, FencingToken: s.fencingToken, Reason: reason}
	close(s.done)
	children := make([]*leaseState, 0, len(s.children))
	for c := range s.children {
		children = append(children, c)
	}
	s.mu.Unlock()
	for _, c := range children {
		c.lose("its session was lost: " + reason)
	}
}

// release marks a clean end (given back): done closes, nothing renews it any more. It also
// stops listening to the session, which may outlive thousands of locks.
func (s *leaseState) release() {
	s.mu.Lock()
	if s.lost == nil && !s.released {
		s.released = true
		close(s.done)
	}
	s.released = true
	s.mu.Unlock()
	if s.parent != nil {
		s.parent.mu.Lock()
		delete(s.parent.children, s)
		s.parent.mu.Unlock()
	}
}

func (s *leaseState) isReleased() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.released
}
