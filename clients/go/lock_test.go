package threadlock_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	threadlock "github.com/threadlock/threadlock/clients/go"
	pb "github.com/threadlock/threadlock/clients/go/gen/threadlock/v1"
)

func TestLockGrantStatusAndIdempotentRelease(t *testing.T) {
	t.Parallel()
	bothTransports(t, func(t *testing.T) {
		c := newClient(t, "go-w1", threadlock.Config{})
		k := key(t)
		lease := mustLock(t, c, k, threadlock.LockOptions{TTL: 10 * time.Second,
			Metadata: map[string]string{"run_id": "run_1"}})
		if lease.Key() != k || lease.Owner() != "go-w1" || lease.FencingToken() <= 0 ||
			lease.LeaseToken() == "" || lease.TTL() != 10*time.Second {
			t.Fatalf("unexpected lease %v ttl %s", lease, lease.TTL())
		}
		if err := lease.Check(); err != nil {
			t.Fatalf("Check on a fresh lease: %v", err)
		}
		h := holderOf(t, c, k)
		if h == nil || h.Owner != "go-w1" || h.FencingToken != lease.FencingToken() ||
			h.Metadata["run_id"] != "run_1" {
			t.Fatalf("Status holder = %+v", h)
		}
		released, err := lease.Release(context.Background())
		if err != nil || !released {
			t.Fatalf("first Release = %v, %v; want true, nil", released, err)
		}
		released, err = lease.Release(context.Background())
		if err != nil || released {
			t.Fatalf("second Release = %v, %v; want false, nil", released, err)
		}
		if !waitDone(lease.Done(), time.Second) || !errors.Is(lease.Err(), threadlock.ErrReleased) {
			t.Fatalf("after Release: Done not closed or Err = %v", lease.Err())
		}
		if h := holderOf(t, c, k); h != nil {
			t.Fatalf("still held after Release: %+v", h)
		}
		// The next grant of the key has a higher fencing token.
		again := mustLock(t, c, k, threadlock.LockOptions{})
		if again.FencingToken() <= lease.FencingToken() {
			t.Fatalf("fencing token %d after %d", again.FencingToken(), lease.FencingToken())
		}
	})
}

func TestBusyErrorCarriesHolderAndMessage(t *testing.T) {
	t.Parallel()
	a := newClient(t, "go-holder", threadlock.Config{})
	b := newClient(t, "go-other", threadlock.Config{})
	k := key(t)
	lease := mustLock(t, a, k, threadlock.LockOptions{})
	_, err := b.Lock(ctxFor(t, 30*time.Second), k, threadlock.LockOptions{})
	var busy *threadlock.BusyError
	if !errors.As(err, &busy) || !errors.Is(err, threadlock.ErrBusy) ||
		!errors.Is(err, threadlock.ErrThreadlock) {
		t.Fatalf("Lock of a held key: %v (%T); want *BusyError", err, err)
	}
	if busy.Holder != "go-holder" || busy.FencingToken != lease.FencingToken() ||
		busy.Key != k || busy.HolderSince.IsZero() {
		t.Fatalf("busy = %+v", busy)
	}
	if busy.Message == "" || busy.Error() != busy.Message {
		t.Fatalf("busy message %q", busy.Message)
	}
	if threadlock.Kind(err) != "ThreadBusy" {
		t.Fatalf("Kind = %q", threadlock.Kind(err))
	}
}

func TestWaitTimeoutReturnsBusyAfterQueueing(t *testing.T) {
	t.Parallel()
	a := newClient(t, "go-holder", threadlock.Config{})
	b := newClient(t, "go-waiter", threadlock.Config{})
	k := key(t)
	mustLock(t, a, k, threadlock.LockOptions{})
	start := time.Now()
	_, err := b.Lock(ctxFor(t, 30*time.Second), k, threadlock.LockOptions{Wait: time.Second})
	var busy *threadlock.BusyError
	if !errors.As(err, &busy) {
		t.Fatalf("Lock with a 1s wait on a held key: %v", err)
	}
	if busy.Waited < 900*time.Millisecond || time.Since(start) < 900*time.Millisecond {
		t.Fatalf("gave up after %s (coordinator says waited %s); want about 1s",
			time.Since(start), busy.Waited)
	}
	if w := waitersOf(t, a, k); len(w) != 0 {
		t.Fatalf("the timed-out waiter is still queued: %v", w)
	}
}

func TestFIFOOrderOfWaiters(t *testing.T) {
	t.Parallel()
	bothTransports(t, func(t *testing.T) {
		holder := newClient(t, "go-holder", threadlock.Config{})
		k := key(t)
		first := mustLock(t, holder, k, threadlock.LockOptions{})
		type grant struct {
			owner string
			lease *threadlock.Lease
			err   error
		}
		grants := make(chan grant, 3)
		owners := []string{"go-q1", "go-q2", "go-q3"}
		for i, owner := range owners {
			c := newClient(t, owner, threadlock.Config{})
			go func() {
				lease, err := c.Lock(ctxFor(t, 60*time.Second), k,
					threadlock.LockOptions{Wait: 50 * time.Second})
				grants <- grant{owner, lease, err}
			}()
			// Queue them one after the other: the next starts once this one is in line.
			eventually(t, owner+" queued", func() bool { return len(waitersOf(t, holder, k)) == i+1 })
		}
		if _, err := first.Release(context.Background()); err != nil {
			t.Fatal(err)
		}
		last := first.FencingToken()
		for _, want := range owners {
			g := <-grants
			if g.err != nil || g.owner != want {
				t.Fatalf("granted %s (%v); want %s next", g.owner, g.err, want)
			}
			if g.lease.FencingToken() <= last {
				t.Fatalf("fencing token %d after %d", g.lease.FencingToken(), last)
			}
			last = g.lease.FencingToken()
			if _, err := g.lease.Release(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestRenewalKeepsLeaseBeyondThreeTTLs(t *testing.T) {
	t.Parallel()
	c := newClient(t, "go-renewer", threadlock.Config{})
	other := newClient(t, "go-other", threadlock.Config{})
	k := key(t)
	lease := mustLock(t, c, k, threadlock.LockOptions{TTL: 2 * time.Second})
	if waitDone(lease.Done(), 7*time.Second) {
		t.Fatalf("lease ended within 3.5 TTLs: %v", lease.Err())
	}
	if err := lease.Check(); err != nil {
		t.Fatalf("Check after 7s on a 2s TTL: %v", err)
	}
	if h := holderOf(t, c, k); h == nil || h.FencingToken != lease.FencingToken() {
		t.Fatalf("holder after 7s = %+v", h)
	}
	if _, err := other.Lock(ctxFor(t, 30*time.Second), k, threadlock.LockOptions{}); !errors.Is(
		err, threadlock.ErrBusy) {
		t.Fatalf("another client's Lock: %v; want busy", err)
	}
}

func TestDoneClosesWhenTokenIsReleasedBehindItsBack(t *testing.T) {
	t.Parallel()
	c := newClient(t, "go-victim", threadlock.Config{})
	k := key(t)
	lease := mustLock(t, c, k, threadlock.LockOptions{TTL: 3 * time.Second})
	work, stop := threadlock.LeaseContext(context.Background(), lease)
	defer stop()
	if _, err := raw(t).Release(ctxFor(t, 10*time.Second),
		&pb.ReleaseRequest{LeaseToken: lease.LeaseToken()}); err != nil {
		t.Fatal(err)
	}
	if !waitDone(lease.Done(), 20*time.Second) {
		t.Fatal("Done() did not close after the token was released elsewhere")
	}
	var lost *threadlock.LeaseLostError
	if err := lease.Err(); !errors.As(err, &lost) || !errors.Is(err, threadlock.ErrLeaseLost) ||
		lost.Key != k || lost.FencingToken != lease.FencingToken() || lost.Reason == "" {
		t.Fatalf("Err() = %v; want *LeaseLostError", err)
	}
	if err := lease.Check(); !errors.Is(err, threadlock.ErrLeaseLost) {
		t.Fatalf("Check() = %v", err)
	}
	if !waitDone(work.Done(), 5*time.Second) || !errors.Is(context.Cause(work),
		threadlock.ErrLeaseLost) {
		t.Fatalf("LeaseContext not cancelled with the loss: %v", context.Cause(work))
	}
	// Releasing a lost lease answers false and no error.
	if released, err := lease.Release(context.Background()); released || err != nil {
		t.Fatalf("Release of a lost lease = %v, %v", released, err)
	}
}

func TestRequestIDRetryGetsTheSameLease(t *testing.T) {
	t.Parallel()
	bothTransports(t, func(t *testing.T) {
		c := newClient(t, "go-retrier", threadlock.Config{})
		k := key(t)
		id := fmt.Sprintf("req-%s", k)
		first := mustLock(t, c, k, threadlock.LockOptions{RequestID: id})
		again := mustLock(t, c, k, threadlock.LockOptions{RequestID: id})
		if again.FencingToken() != first.FencingToken() || again.LeaseToken() != first.LeaseToken() {
			t.Fatalf("retry got token %d (%s), first %d (%s)", again.FencingToken(),
				again.LeaseToken(), first.FencingToken(), first.LeaseToken())
		}
		if _, err := first.Release(context.Background()); err != nil {
			t.Fatal(err)
		}
		// A retry after the release is refused: a new logical acquire needs a new id.
		_, err := c.Lock(ctxFor(t, 30*time.Second), k, threadlock.LockOptions{RequestID: id})
		if !errors.Is(err, threadlock.ErrConflict) || threadlock.Kind(err) != "Conflict" {
			t.Fatalf("reuse after release: %v; want ErrConflict", err)
		}
	})
}

func TestCancelledQueuedLockLeavesTheQueue(t *testing.T) {
	t.Parallel()
	bothTransports(t, func(t *testing.T) {
		holder := newClient(t, "go-holder", threadlock.Config{})
		waiter := newClient(t, "go-waiter", threadlock.Config{})
		k := key(t)
		lease := mustLock(t, holder, k, threadlock.LockOptions{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := waiter.Lock(ctx, k, threadlock.LockOptions{Wait: 50 * time.Second})
			done <- err
		}()
		eventually(t, "waiter queued", func() bool { return len(waitersOf(t, holder, k)) == 1 })
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled Lock returned %v; want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a cancelled Lock did not return")
		}
		eventually(t, "queue empty", func() bool { return len(waitersOf(t, holder, k)) == 0 })
		// Nothing was granted behind our back: after the holder leaves, the key is free.
		if _, err := lease.Release(context.Background()); err != nil {
			t.Fatal(err)
		}
		eventually(t, "key free", func() bool { return holderOf(t, holder, k) == nil })
	})
}

func TestBadInputNamesTheField(t *testing.T) {
	t.Parallel()
	c := newClient(t, "go-bad", threadlock.Config{})
	k := key(t)
	many := map[string]string{}
	for i := range 17 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	for _, tc := range []struct {
		name, key, field string
		opts             threadlock.LockOptions
	}{
		{"ttl below the minimum", k, "ttl", threadlock.LockOptions{TTL: 500 * time.Millisecond}},
		{"control character in key", "bad\x01key", "key", threadlock.LockOptions{}},
		{"too much metadata", k, "metadata", threadlock.LockOptions{Metadata: many}},
	} {
		_, err := c.Lock(ctxFor(t, 30*time.Second), tc.key, tc.opts)
		var ce *threadlock.CoordinatorError
		if !errors.Is(err, threadlock.ErrInvalidArgument) || !errors.As(err, &ce) ||
			ce.Field() != tc.field {
			t.Errorf("%s: %v; want InvalidArgument naming %q", tc.name, err, tc.field)
		}
	}
	for _, tc := range []struct {
		name, key, field string
		opts             threadlock.LockOptions
	}{
		{"empty key", "", "key", threadlock.LockOptions{}},
		{"negative wait", k, "wait", threadlock.LockOptions{Wait: -time.Second}},
		{"negative ttl", k, "ttl", threadlock.LockOptions{TTL: -time.Second}},
	} {
		_, err := c.Lock(ctxFor(t, 30*time.Second), tc.key, tc.opts)
		var oe *threadlock.OptionError
		if !errors.Is(err, threadlock.ErrInvalidOption) || !errors.As(err, &oe) ||
			oe.Field() != tc.field {
			t.Errorf("%s: %v; want OptionError naming %q", tc.name, err, tc.field)
		}
	}
}

func TestAnnotateShowsInStatusAndStatusPrefix(t *testing.T) {
	t.Parallel()
	c := newClient(t, "go-annotator", threadlock.Config{})
	k := key(t)
	lease := mustLock(t, c, k+"/a", threadlock.LockOptions{})
	mustLock(t, c, k+"/b", threadlock.LockOptions{})
	if err := lease.Annotate(ctxFor(t, 10*time.Second), map[string]string{
		"response_id": "resp_1"}); err != nil {
		t.Fatal(err)
	}
	if h := holderOf(t, c, k+"/a"); h == nil || h.Metadata["response_id"] != "resp_1" {
		t.Fatalf("holder after Annotate = %+v", h)
	}
	locks, err := c.StatusPrefix(ctxFor(t, 10*time.Second), k+"/")
	if err != nil || len(locks) != 2 || locks[0].Key != k+"/a" || locks[1].Key != k+"/b" {
		t.Fatalf("StatusPrefix = %+v, %v", locks, err)
	}
}
