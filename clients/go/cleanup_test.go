package threadlock_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	threadlock "github.com/threadlock/threadlock/clients/go"
	pb "github.com/threadlock/threadlock/clients/go/gen/threadlock/v1"
)

// loseFirstAcquireAnswer: a client whose first Acquire reaches the real coordinator (and is
// granted there) but whose answer never arrives: the caller's ctx is cancelled meanwhile, as
// when a caller gives up just as the grant lands. On the stream transport the answer frame is
// swallowed as it arrives; on the unary one the RPC's result is.
func loseFirstAcquireAnswer(t *testing.T, owner string) (*threadlock.Client, context.Context) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var dropped atomic.Bool
	intercept := func(ictx context.Context, method string, req, reply any, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ictx, method, req, reply, cc, opts...)
		if method == "/threadlock.v1.LockService/Acquire" && dropped.CompareAndSwap(false, true) {
			cancel()
			return context.Canceled
		}
		return err
	}
	interceptStream := func(sctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn,
		method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		s, err := streamer(sctx, desc, cc, method, opts...)
		return &dropAcquireAnswer{ClientStream: s, dropped: &dropped, cancel: cancel}, err
	}
	c := newClient(t, owner, threadlock.Config{DialOptions: []grpc.DialOption{
		grpc.WithUnaryInterceptor(intercept), grpc.WithStreamInterceptor(interceptStream)}})
	return c, ctx
}

// dropAcquireAnswer swallows the first Acquire answer of a LockService.Stream.
type dropAcquireAnswer struct {
	grpc.ClientStream
	dropped *atomic.Bool
	cancel  context.CancelFunc
}

func (s *dropAcquireAnswer) RecvMsg(m any) error {
	for {
		if err := s.ClientStream.RecvMsg(m); err != nil {
			return err
		}
		if r, ok := m.(*pb.StreamResponse); !ok || r.GetAcquire() == nil ||
			!s.dropped.CompareAndSwap(false, true) {
			return nil
		}
		s.cancel()
	}
}

func TestUnansweredAcquireIsCleanedUpWithItsRequestID(t *testing.T) {
	t.Parallel()
	bothTransports(t, func(t *testing.T) {
		c, ctx := loseFirstAcquireAnswer(t, "go-gave-up")
		k := key(t)
		_, err := c.Lock(ctx, k, threadlock.LockOptions{TTL: 60 * time.Second})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Lock whose answer was lost: %v; want context.Canceled", err)
		}
		// The grant landed, but the SDK's try-once retry with the same request id found it and
		// released it: the key is free long before its 60s TTL.
		eventually(t, "the unanswered grant released", func() bool { return holderOf(t, c, k) == nil })
	})
}

func TestUnansweredAcquireWithTheCallersRequestIDIsTheCallersToRetry(t *testing.T) {
	t.Parallel()
	bothTransports(t, func(t *testing.T) {
		c, ctx := loseFirstAcquireAnswer(t, "go-retries")
		k := key(t)
		opts := threadlock.LockOptions{TTL: 60 * time.Second, RequestID: "req-" + k}
		if _, err := c.Lock(ctx, k, opts); !errors.Is(err, context.Canceled) {
			t.Fatalf("Lock whose answer was lost: %v", err)
		}
		// No cleanup of the caller's request id: the retry gets the grant that landed.
		lease := mustLock(t, c, k, opts)
		if h := holderOf(t, c, k); h == nil || h.FencingToken != lease.FencingToken() {
			t.Fatalf("holder %+v; want the retried lease %d", h, lease.FencingToken())
		}
	})
}

func TestCloseStopsRenewalAndMarksOwnLeasesLost(t *testing.T) {
	t.Parallel()
	c := newClient(t, "go-closer", threadlock.Config{})
	k := key(t)
	lease := mustLock(t, c, k, threadlock.LockOptions{TTL: 30 * time.Second})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if !waitDone(lease.Done(), time.Second) || !errors.Is(lease.Err(), threadlock.ErrLeaseLost) {
		t.Fatalf("own lease after Close: %v", lease.Err())
	}
	// Not released: it lapses after its TTL (another client sees it held meanwhile).
	if h := holderOf(t, newClient(t, "go-observer", threadlock.Config{}), k); h == nil {
		t.Fatal("Close released an own lease")
	}
}
