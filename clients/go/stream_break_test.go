package threadlock

// The stream transport when its coordinator goes away. These tests start and stop their own
// `threadlock serve` (the embedded store; found on $PATH, as under tests/test_go.py, or in the
// repository's .venv), because stopping the shared test coordinator would break other tests.

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/threadlock/threadlock/clients/go/gen/threadlock/v1"
)

// coordinator is a `threadlock serve` process on address.
type coordinator struct {
	t       *testing.T
	address string
	cmd     *exec.Cmd
	once    sync.Once
}

func startCoordinator(t *testing.T, address string) *coordinator {
	t.Helper()
	bin, err := exec.LookPath("threadlock")
	if err != nil {
		bin, _ = filepath.Abs("../../.venv/bin/threadlock")
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("threadlock (the coordinator) is neither on PATH nor in .venv: run "+
				"./scripts/setup.sh, or the tests through tests/test_go.py (%v)", err)
		}
	}
	if address == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		address = l.Addr().String()
		_ = l.Close()
	}
	cmd := exec.Command(bin, "serve", "--listen", address, "--etcd-endpoints", "",
		"--shutdown-grace", "5", "--log-level", "WARNING")
	for _, kv := range os.Environ() { // its flags only: no THREADLOCK_* of the caller's
		if !strings.HasPrefix(kv, "THREADLOCK_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &coordinator{t: t, address: address, cmd: cmd}
	t.Cleanup(func() { c.stop(syscall.SIGKILL) })
	// Serving once a unary Status answers.
	probe, err := dial([]string{address}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = probe.close() }()
	end := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := probe.invoke(ctx, 0, "Status", &pb.StatusRequest{
			Selector: &pb.StatusRequest_Key{Key: "probe"}}, &pb.StatusResponse{})
		cancel()
		if err == nil {
			return c
		}
		if time.Now().After(end) {
			t.Fatalf("threadlock serve on %s did not answer within 30s: %v", address, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends sig and waits for the process to end.
func (c *coordinator) stop(sig syscall.Signal) {
	c.once.Do(func() {
		_ = c.cmd.Process.Signal(sig)
		_ = c.cmd.Wait()
	})
}

// call: one call through t within 20s.
func call(t *streamTransport, method string, req, resp proto.Message) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return t.invoke(ctx, 0, method, req, resp)
}

func newTestStreamTransport(t *testing.T, address string) *streamTransport {
	conns, err := dial([]string{address}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := newStreamTransport(conns, nil)
	t.Cleanup(func() { _ = st.close() })
	return st
}

func (t *streamTransport) current(target int) *callStream {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.streams[target]) == 0 {
		return nil
	}
	return t.streams[target][0]
}

func statusOf(key string) *pb.StatusRequest {
	return &pb.StatusRequest{Selector: &pb.StatusRequest_Key{Key: key}}
}

// A coordinator killed under a queued Acquire: the call fails UNAVAILABLE as soon as the
// stream breaks (not at its 30s wait), and once a coordinator is back the next call opens a
// new stream and succeeds.
func TestBrokenStreamFailsItsCallUnavailableAndTheNextCallOpensANewOne(t *testing.T) {
	t.Parallel()
	coord := startCoordinator(t, "")
	st := newTestStreamTransport(t, coord.address)
	held := &pb.AcquireResponse{}
	if err := call(st, "Acquire", &pb.AcquireRequest{Key: "k", Owner: "holder",
		RequestId: "r1", Ttl: durationpb.New(30 * time.Second)}, held); err != nil ||
		held.GetLease() == nil {
		t.Fatalf("Acquire: %v %v", held, err)
	}
	first := st.current(0)
	queued := make(chan error, 1)
	go func() {
		queued <- call(st, "Acquire", &pb.AcquireRequest{Key: "k", Owner: "waiter",
			RequestId: "r2", Ttl: durationpb.New(30 * time.Second),
			Wait: durationpb.New(30 * time.Second)}, &pb.AcquireResponse{})
	}()
	waitFor(t, "the waiter queued", func() bool {
		resp := &pb.StatusResponse{}
		return call(st, "Status", statusOf("k"), resp) == nil &&
			len(resp.GetLocks()) == 1 && len(resp.GetLocks()[0].GetWaiters()) == 1
	})
	coord.stop(syscall.SIGKILL)
	select {
	case err := <-queued:
		if status.Code(err) != codes.Unavailable ||
			!strings.Contains(err.Error(), "the stream to the coordinator ended") {
			t.Fatalf("queued Acquire on a broken stream: %v; want UNAVAILABLE (stream ended)", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the queued Acquire did not fail when its stream broke")
	}
	// While nobody serves, calls fail UNAVAILABLE too (each tries a new stream).
	if err := call(st, "Status", statusOf("k"), &pb.StatusResponse{}); status.Code(err) !=
		codes.Unavailable {
		t.Fatalf("Status with the coordinator down: %v; want UNAVAILABLE", err)
	}
	startCoordinator(t, coord.address)
	waitFor(t, "a call through the restarted coordinator", func() bool {
		return call(st, "Status", statusOf("k"), &pb.StatusResponse{}) == nil
	})
	if now := st.current(0); now == nil || now == first {
		t.Fatal("the call after the restart did not open a new stream")
	}
}

// A coordinator shutting down answers new calls on its open streams UNAVAILABLE ("server is
// shutting down"): that stream takes no new calls; the next call goes to a new stream.
func TestStreamOfACoordinatorShuttingDownTakesNoNewCalls(t *testing.T) {
	t.Parallel()
	coord := startCoordinator(t, "")
	st := newTestStreamTransport(t, coord.address)
	if err := call(st, "Acquire", &pb.AcquireRequest{Key: "k", Owner: "holder",
		RequestId: "r1", Ttl: durationpb.New(30 * time.Second)}, &pb.AcquireResponse{}); err != nil {
		t.Fatal(err)
	}
	first := st.current(0)
	// A queued Acquire keeps the stream (and the server's grace period) busy meanwhile.
	go func() {
		_ = call(st, "Acquire", &pb.AcquireRequest{Key: "k", Owner: "waiter", RequestId: "r2",
			Ttl: durationpb.New(30 * time.Second), Wait: durationpb.New(30 * time.Second)},
			&pb.AcquireResponse{})
	}()
	waitFor(t, "the waiter queued", func() bool {
		resp := &pb.StatusResponse{}
		return call(st, "Status", statusOf("k"), resp) == nil &&
			len(resp.GetLocks()) == 1 && len(resp.GetLocks()[0].GetWaiters()) == 1
	})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		coord.stop(syscall.SIGTERM)
	}()
	var err error
	waitFor(t, "a new call answered UNAVAILABLE: shutting down", func() bool {
		err = call(st, "Status", statusOf("k"), &pb.StatusResponse{})
		return err != nil
	})
	if !shuttingDown(err) {
		t.Fatalf("a new call during shutdown: %v; want UNAVAILABLE server is shutting down", err)
	}
	first.mu.Lock()
	retired := first.retired
	first.mu.Unlock()
	if !retired {
		t.Fatal("the stream of a coordinator shutting down still takes new calls")
	}
	// The next call (refused or not: the server is going) is not sent on that stream.
	_ = call(st, "Status", statusOf("k"), &pb.StatusResponse{})
	if st.current(0) == first {
		t.Fatal("a call after the shutdown answer went to the retired stream")
	}
	<-stopped
}

func TestStreamBreakCodesAreUnavailableExceptRefusalsOfTheStream(t *testing.T) {
	for code, want := range map[codes.Code]codes.Code{
		codes.Unavailable: codes.Unavailable, codes.Internal: codes.Unavailable,
		codes.Canceled: codes.Unavailable, codes.DeadlineExceeded: codes.Unavailable,
		codes.Unauthenticated: codes.Unauthenticated, codes.Unimplemented: codes.Unimplemented,
		codes.PermissionDenied: codes.PermissionDenied,
	} {
		var ended *streamEnded
		if err := broke(status.Error(code, "x")); status.Code(err) != want ||
			!errors.As(err, &ended) {
			t.Errorf("stream ended with %s: calls get %v; want %s", code, err, want)
		}
	}
}

// waitFor is helpers_test.go's eventually for this internal test package, which cannot
// import the external test package's helpers.
func waitFor(t *testing.T, what string, check func() bool) {
	t.Helper()
	end := time.Now().Add(20 * time.Second)
	for !check() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A stream with maxStreamCalls in flight takes no more: the next call opens another stream
// (rather than being refused RESOURCE_EXHAUSTED by the coordinator), and is answered there.
func TestAFullStreamOpensAnother(t *testing.T) {
	t.Parallel()
	st := newTestStreamTransport(t, startCoordinator(t, "").address)
	first, _, _ := st.begin(0)
	for range maxStreamCalls - 1 { // calls registered in flight, never answered
		if s, _, _ := st.begin(0); s != first {
			t.Fatal("a stream with room did not take the call")
		}
	}
	resp := &pb.StatusResponse{}
	if err := call(st, "Status", statusOf("k"), resp); err != nil {
		t.Fatalf("a call beyond a full stream: %v", err)
	}
	st.mu.Lock()
	streams := len(st.streams[0])
	st.mu.Unlock()
	if streams != 2 {
		t.Fatalf("%d streams; want 2 (the full one and another)", streams)
	}
}

// The same through the public API: a Lock queued when its coordinator is killed fails
// ErrUnavailable within its budget; once a coordinator is back, the same Client locks again.
func TestLockOnABrokenStreamIsUnavailableAndTheClientRecovers(t *testing.T) {
	t.Parallel()
	coord := startCoordinator(t, "")
	c, err := New(Config{Addresses: []string{coord.address}, Owner: "go-broken",
		CallTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	held, err := c.Lock(ctx, "k", LockOptions{TTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	queued := make(chan error, 1)
	go func() {
		_, err := c.Lock(ctx, "k", LockOptions{Wait: 3 * time.Second})
		queued <- err
	}()
	waitFor(t, "the second Lock queued", func() bool {
		locks, err := c.Status(ctx, "k")
		return err == nil && len(locks) == 1 && len(locks[0].Waiters) == 1
	})
	coord.stop(syscall.SIGKILL)
	select {
	case err := <-queued:
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Lock on a killed coordinator: %v; want ErrUnavailable", err)
		}
	case <-time.After(30 * time.Second): // budget: 3s wait + 2s call, on a busy machine
		t.Fatal("Lock on a killed coordinator did not return")
	}
	if !waitDone(held.Done(), 30*time.Second) { // its renewals cannot get through either
		t.Fatal("a lease of the killed coordinator still looks held")
	}
	startCoordinator(t, coord.address)
	lease, err := c.Lock(ctx, "k", LockOptions{}) // the restarted (empty) store grants it
	if err != nil {
		t.Fatalf("Lock after the coordinator came back: %v", err)
	}
	if released, err := lease.Release(ctx); !released || err != nil {
		t.Fatalf("Release = %v, %v", released, err)
	}
}

func waitDone(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}
