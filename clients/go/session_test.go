package threadlock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	threadlock "github.com/threadlock/threadlock/clients/go"
	pb "github.com/threadlock/threadlock/clients/go/gen/threadlock/v1"
)

func TestSessionLocksShareOneLeaseAndCloseFreesThem(t *testing.T) {
	t.Parallel()
	bothTransports(t, func(t *testing.T) {
		c := newClient(t, "go-session", threadlock.Config{Session: true, SessionTTL: 3 * time.Second})
		other := newClient(t, "go-other", threadlock.Config{})
		k := key(t)
		a := mustLock(t, c, k+"/a", threadlock.LockOptions{})
		b := mustLock(t, c, k+"/b", threadlock.LockOptions{})
		if a.SessionID() == "" || a.SessionID() != b.SessionID() {
			t.Fatalf("session ids %q and %q; want one shared session", a.SessionID(), b.SessionID())
		}
		// The session's renewal keeps both beyond its TTL.
		if waitDone(a.Done(), 7*time.Second) {
			t.Fatalf("session lock ended: %v", a.Err())
		}
		if h := holderOf(t, other, k+"/b"); h == nil || h.FencingToken != b.FencingToken() {
			t.Fatalf("holder of b after 7s = %+v", h)
		}
		if released, err := a.Release(context.Background()); !released || err != nil {
			t.Fatalf("Release of a session lock = %v, %v", released, err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		// Closing the client closed its session: b is free at once and known lost.
		if !waitDone(b.Done(), 5*time.Second) || !errors.Is(b.Err(), threadlock.ErrLeaseLost) {
			t.Fatalf("b after Close: %v", b.Err())
		}
		mustLock(t, other, k+"/b", threadlock.LockOptions{})
		if _, err := c.Lock(ctxFor(t, 10*time.Second), k+"/c", threadlock.LockOptions{}); !errors.Is(
			err, threadlock.ErrClosed) || !errors.Is(err, threadlock.ErrThreadlock) {
			t.Fatalf("Lock after Close: %v; want ErrClosed", err)
		}
	})
}

func TestSessionEndedBehindItsBackLosesItsLocksAndANewOneOpens(t *testing.T) {
	t.Parallel()
	c := newClient(t, "go-session", threadlock.Config{Session: true, SessionTTL: 3 * time.Second})
	k := key(t)
	lease := mustLock(t, c, k, threadlock.LockOptions{})
	if _, err := raw(t).CloseSession(ctxFor(t, 10*time.Second),
		&pb.CloseSessionRequest{SessionId: lease.SessionID()}); err != nil {
		t.Fatal(err)
	}
	if !waitDone(lease.Done(), 20*time.Second) {
		t.Fatal("a lock of an ended session was not noticed lost")
	}
	var lost *threadlock.LeaseLostError
	if !errors.As(lease.Err(), &lost) {
		t.Fatalf("Err() = %v", lease.Err())
	}
	// The client opens a fresh session for the next lock.
	next := mustLock(t, c, k, threadlock.LockOptions{})
	if next.SessionID() == "" || next.SessionID() == lease.SessionID() {
		t.Fatalf("next lock's session %q (old %q)", next.SessionID(), lease.SessionID())
	}
}
