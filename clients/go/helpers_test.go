package threadlock_test

// These tests run against a real coordinator: tests/test_go.py starts `threadlock serve` on
// the embedded backend and on a real etcd, then runs `go test` with its address in
// THREADLOCK_TEST_ADDRESS (TLS ones in THREADLOCK_TEST_TLS_*). Without it they fail, never skip.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	threadlock "github.com/threadlock/threadlock/clients/go"
	pb "github.com/threadlock/threadlock/clients/go/gen/threadlock/v1"
)

func env(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run these tests through tests/test_go.py, which starts the "+
			"coordinators (pytest tests/test_go.py)", name)
	}
	return v
}

func address(t *testing.T) string { return env(t, "THREADLOCK_TEST_ADDRESS") }

// key: a key unique to this test run.
func key(t *testing.T) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "go-" + t.Name() + "-" + hex.EncodeToString(b[:])
}

// newClient: a client of the test coordinator, closed at the end of the test.
func newClient(t *testing.T, owner string, cfg threadlock.Config) *threadlock.Client {
	t.Helper()
	if cfg.Addresses == nil {
		cfg.Addresses = []string{address(t)}
	}
	if cfg.Transport == "" {
		cfg.Transport = transportOf(t)
	}
	cfg.Owner = owner
	c, err := threadlock.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func mustLock(t *testing.T, c *threadlock.Client, k string, o threadlock.LockOptions) *threadlock.Lease {
	t.Helper()
	lease, err := c.Lock(ctxFor(t, 60*time.Second), k, o)
	if err != nil {
		t.Fatalf("Lock(%q): %v", k, err)
	}
	return lease
}

// raw: the generated stub on the test coordinator, to act behind an SDK's back.
func raw(t *testing.T) pb.LockServiceClient {
	conn, err := grpc.NewClient(address(t), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return pb.NewLockServiceClient(conn)
}

// eventually polls check until it returns true; fails after a generous timeout.
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	end := time.Now().Add(20 * time.Second)
	for !check() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitersOf: the owners queued for k, in order.
func waitersOf(t *testing.T, c *threadlock.Client, k string) []string {
	locks, err := c.Status(ctxFor(t, 10*time.Second), k)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	var owners []string
	for _, l := range locks {
		for _, w := range l.Waiters {
			owners = append(owners, w.Owner)
		}
	}
	return owners
}

func holderOf(t *testing.T, c *threadlock.Client, k string) *threadlock.Holder {
	locks, err := c.Status(ctxFor(t, 10*time.Second), k)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if len(locks) == 0 {
		return nil
	}
	return locks[0].Holder
}

// deadAddress: a loopback port nobody listens on (connection refused).
func deadAddress(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	_ = l.Close()
	return a
}

// hungAddress: a loopback port that accepts connections and never answers.
func hungAddress(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

// waitDone: whether ch closed within d.
func waitDone(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

// subtestTransport: the transport bothTransports chose for each of its subtests.
var subtestTransport sync.Map // *testing.T -> threadlock.Transport

// bothTransports runs f once per transport, as parallel subtests "stream" and "unary"; the
// clients newClient makes in them use that transport (the default, stream, elsewhere). The
// unary transport stays an option, so the core behaviours are proved on both.
func bothTransports(t *testing.T, f func(t *testing.T)) {
	for _, tr := range []threadlock.Transport{threadlock.TransportStream, threadlock.TransportUnary} {
		t.Run(string(tr), func(t *testing.T) {
			t.Parallel()
			subtestTransport.Store(t, tr)
			t.Cleanup(func() { subtestTransport.Delete(t) })
			f(t)
		})
	}
}

func transportOf(t *testing.T) threadlock.Transport {
	if tr, ok := subtestTransport.Load(t); ok {
		return tr.(threadlock.Transport)
	}
	return ""
}
