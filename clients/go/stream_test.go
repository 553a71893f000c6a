package threadlock_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	threadlock "github.com/threadlock/threadlock/clients/go"
	pb "github.com/threadlock/threadlock/clients/go/gen/threadlock/v1"
)

// wire counts what a client puts on the wire, through gRPC interceptors (the SDK's public
// Config.DialOptions): unary RPCs, Stream opens, and the frames and cancel frames sent.
type wire struct {
	unary, streams, frames, cancels atomic.Int64
}

func (w *wire) options() []grpc.DialOption {
	unary := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		w.unary.Add(1)
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	stream := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn,
		method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		w.streams.Add(1)
		s, err := streamer(ctx, desc, cc, method, opts...)
		return &countedStream{ClientStream: s, w: w}, err
	}
	return []grpc.DialOption{grpc.WithUnaryInterceptor(unary), grpc.WithStreamInterceptor(stream)}
}

type countedStream struct {
	grpc.ClientStream
	w *wire
}

func (s *countedStream) SendMsg(m any) error {
	if f, ok := m.(*pb.StreamRequest); ok {
		s.w.frames.Add(1)
		if f.GetCancel() != nil {
			s.w.cancels.Add(1)
		}
	}
	return s.ClientStream.SendMsg(m)
}

// The default transport carries every call (grant, renewals, Status, Annotate, Release) as
// frames of one stream: no unary RPC at all.
func TestStreamCarriesEveryCallOnOneStream(t *testing.T) {
	t.Parallel()
	w := &wire{}
	c := newClient(t, "go-streamed", threadlock.Config{DialOptions: w.options()})
	k := key(t)
	lease := mustLock(t, c, k, threadlock.LockOptions{TTL: 2 * time.Second})
	// Renewals every TTL/3 go over the stream too; the lease outlives its TTL.
	if waitDone(lease.Done(), 3*time.Second) {
		t.Fatalf("lease lost: %v", lease.Err())
	}
	if err := lease.Annotate(ctxFor(t, 10*time.Second), map[string]string{"step": "2"}); err != nil {
		t.Fatal(err)
	}
	if h := holderOf(t, c, k); h == nil || h.Metadata["step"] != "2" {
		t.Fatalf("Status holder %+v", h)
	}
	if released, err := lease.Release(context.Background()); !released || err != nil {
		t.Fatalf("Release = %v, %v", released, err)
	}
	// Acquire, >= 2 renewals, Annotate, Status, Release.
	if w.unary.Load() != 0 || w.streams.Load() != 1 || w.frames.Load() < 6 {
		t.Fatalf("unary calls %d, streams %d, frames %d; want 0, 1, >= 6", w.unary.Load(),
			w.streams.Load(), w.frames.Load())
	}
}

func TestUnaryTransportMakesOneRPCPerCall(t *testing.T) {
	t.Parallel()
	w := &wire{}
	c := newClient(t, "go-unary", threadlock.Config{DialOptions: w.options(),
		Transport: threadlock.TransportUnary})
	lockSeeRelease(t, c)
	if w.streams.Load() != 0 || w.unary.Load() < 3 {
		t.Fatalf("streams %d, unary calls %d; want 0, >= 3", w.streams.Load(), w.unary.Load())
	}
}

// A caller that gives up on a queued Acquire sends a cancel frame, and the coordinator drops
// its waiter at once. With the caller's own request id the SDK makes no cleanup call, so only
// the cancel frame can take it out of the queue (else it would stay for its 50s wait).
func TestStreamCancelledQueuedAcquireSendsACancelFrame(t *testing.T) {
	t.Parallel()
	holder := newClient(t, "go-holder", threadlock.Config{})
	w := &wire{}
	quitter := newClient(t, "go-quitter", threadlock.Config{DialOptions: w.options()})
	next := newClient(t, "go-next", threadlock.Config{})
	k := key(t)
	lease := mustLock(t, holder, k, threadlock.LockOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	quit := make(chan error, 1)
	go func() {
		_, err := quitter.Lock(ctx, k, threadlock.LockOptions{Wait: 50 * time.Second,
			RequestID: "req-" + k})
		quit <- err
	}()
	eventually(t, "quitter queued", func() bool { return len(waitersOf(t, holder, k)) == 1 })
	granted := make(chan *threadlock.Lease, 1)
	go func() {
		l, err := next.Lock(ctxFor(t, 60*time.Second), k, threadlock.LockOptions{Wait: 50 * time.Second})
		if err != nil {
			t.Errorf("next Lock: %v", err)
		}
		granted <- l
	}()
	eventually(t, "next queued", func() bool {
		return slices.Equal(waitersOf(t, holder, k), []string{"go-quitter", "go-next"})
	})
	cancel()
	select {
	case err := <-quit:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Lock: %v; want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled Lock did not return")
	}
	eventually(t, "a cancel frame sent", func() bool { return w.cancels.Load() == 1 })
	eventually(t, "quitter left the queue", func() bool {
		return slices.Equal(waitersOf(t, holder, k), []string{"go-next"})
	})
	if _, err := lease.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case l := <-granted:
		if l == nil || holderOf(t, holder, k).Owner != "go-next" {
			t.Fatalf("next lease %v", l)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the next waiter was not granted")
	}
	// The stream stays open for the quitter's next calls.
	if _, err := quitter.Status(ctxFor(t, 10*time.Second), k); err != nil {
		t.Fatal(err)
	}
	if w.streams.Load() != 1 || w.unary.Load() != 0 {
		t.Fatalf("streams %d, unary %d; want 1, 0", w.streams.Load(), w.unary.Load())
	}
}

func TestBadTransportIsRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	_, err := threadlock.New(threadlock.Config{Addresses: []string{address(t)}, Transport: "udp"})
	var oe *threadlock.OptionError
	if !errors.As(err, &oe) || oe.Field() != "Transport" ||
		!errors.Is(err, threadlock.ErrInvalidOption) || !strings.Contains(err.Error(), `"udp"`) {
		t.Fatalf("New with Transport udp: %v; want an OptionError naming Transport", err)
	}
}

// rawCodec passes messages through as bytes (the proxy below does not decode them).
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// olderCoordinator: the test coordinator as one released before LockService.Stream existed
// (a proxy that forwards every unary call to it and answers Stream UNIMPLEMENTED).
func olderCoordinator(t *testing.T) string {
	upstream, err := grpc.NewClient(address(t), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = upstream.Close() })
	forward := func(_ any, ss grpc.ServerStream) error {
		method, _ := grpc.MethodFromServerStream(ss)
		if strings.HasSuffix(method, "/Stream") {
			return status.Error(codes.Unimplemented, "unknown method Stream")
		}
		var in, out []byte
		if err := ss.RecvMsg(&in); err != nil {
			return err
		}
		if err := upstream.Invoke(ss.Context(), method, &in, &out,
			grpc.ForceCodec(rawCodec{})); err != nil {
			return err
		}
		return ss.SendMsg(&out)
	}
	server := grpc.NewServer(grpc.UnknownServiceHandler(forward), grpc.ForceServerCodec(rawCodec{}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = server.Serve(l) }()
	t.Cleanup(server.Stop)
	return l.Addr().String()
}

// A coordinator without Stream answers UNIMPLEMENTED when the stream opens: the calls go
// unary, and keep going unary (no new stream per call).
func TestCoordinatorWithoutStreamIsCalledUnary(t *testing.T) {
	t.Parallel()
	w := &wire{}
	c := newClient(t, "go-older", threadlock.Config{Addresses: []string{olderCoordinator(t)},
		DialOptions: w.options()})
	lockSeeRelease(t, c)
	if w.streams.Load() != 1 || w.unary.Load() < 3 {
		t.Fatalf("streams %d, unary calls %d; want 1 (refused), >= 3", w.streams.Load(),
			w.unary.Load())
	}
}

// lockSeeRelease locks a fresh key, checks Status names the lease as holder, releases it.
func lockSeeRelease(t *testing.T, c *threadlock.Client) {
	t.Helper()
	k := key(t)
	lease := mustLock(t, c, k, threadlock.LockOptions{})
	if h := holderOf(t, c, k); h == nil || h.FencingToken != lease.FencingToken() {
		t.Fatalf("Status holder %+v", h)
	}
	if released, err := lease.Release(context.Background()); !released || err != nil {
		t.Fatalf("Release = %v, %v", released, err)
	}
}
