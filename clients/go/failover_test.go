package threadlock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	threadlock "github.com/threadlock/threadlock/clients/go"
)

func TestFailoverFromADeadAddress(t *testing.T) {
	t.Parallel()
	bothTransports(t, func(t *testing.T) {
		c := newClient(t, "go-failover", threadlock.Config{
			Addresses: []string{deadAddress(t), address(t)}})
		k := key(t)
		lease := mustLock(t, c, k, threadlock.LockOptions{TTL: 2 * time.Second})
		// Renewals go to the live address too.
		if waitDone(lease.Done(), 5*time.Second) {
			t.Fatalf("lease lost: %v", lease.Err())
		}
		if released, err := lease.Release(context.Background()); !released || err != nil {
			t.Fatalf("Release = %v, %v", released, err)
		}
	})
}

func TestFailoverFromAHungAddress(t *testing.T) {
	t.Parallel()
	c := newClient(t, "go-failover", threadlock.Config{
		Addresses: []string{hungAddress(t), address(t)}, CallTimeout: 6 * time.Second})
	lease := mustLock(t, c, key(t), threadlock.LockOptions{})
	if err := lease.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestCoordinatorDownIsUnavailableWithinTheDeadline(t *testing.T) {
	t.Parallel()
	bothTransports(t, func(t *testing.T) {
		c := newClient(t, "go-down", threadlock.Config{
			Addresses: []string{deadAddress(t), deadAddress(t)}, CallTimeout: 2 * time.Second})
		start := time.Now()
		_, err := c.Lock(ctxFor(t, 60*time.Second), key(t), threadlock.LockOptions{})
		var ce *threadlock.CoordinatorError
		if !errors.Is(err, threadlock.ErrUnavailable) || !errors.As(err, &ce) ||
			threadlock.Kind(err) != "Unavailable" {
			t.Fatalf("Lock with no coordinator: %v; want ErrUnavailable", err)
		}
		// The budget is CallTimeout; the bound is generous for a busy machine.
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("took %s with a 2s call budget", took)
		}
		_, err = c.Status(ctxFor(t, 60*time.Second), "x")
		if !errors.Is(err, threadlock.ErrUnavailable) {
			t.Fatalf("Status with no coordinator: %v", err)
		}
		// The caller's own context bounds the call too, and says so.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err = c.Lock(ctx, key(t), threadlock.LockOptions{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Lock with an expired ctx: %v; want context.DeadlineExceeded", err)
		}
	})
}
