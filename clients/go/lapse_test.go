package threadlock_test

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	threadlock "github.com/threadlock/threadlock/clients/go"
)

// proxy forwards a loopback port to the test coordinator until cut: then every connection is
// dropped and new ones are refused, as when a network partition hits the client.
type proxy struct {
	listener net.Listener
	mu       sync.Mutex
	conns    []net.Conn
}

func newProxy(t *testing.T, upstream string) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{listener: l}
	go func() {
		for {
			down, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				_ = down.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, down, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, down); _ = up.Close() }()
			go func() { _, _ = io.Copy(down, up); _ = down.Close() }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) address() string { return p.listener.Addr().String() }

func (p *proxy) cut() {
	_ = p.listener.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
}

func TestLeaseLostWhenNoRenewalGetsThroughBeforeTheTTL(t *testing.T) {
	t.Parallel()
	p := newProxy(t, address(t))
	c := newClient(t, "go-partitioned", threadlock.Config{Addresses: []string{p.address()}})
	lease := mustLock(t, c, key(t), threadlock.LockOptions{TTL: 2 * time.Second})
	if waitDone(lease.Done(), 3*time.Second) {
		t.Fatalf("lost while connected: %v", lease.Err())
	}
	cut := time.Now()
	p.cut()
	if !waitDone(lease.Done(), 20*time.Second) {
		t.Fatal("Done() did not close after the coordinator became unreachable")
	}
	var lost *threadlock.LeaseLostError
	if !errors.As(lease.Err(), &lost) || !strings.Contains(lost.Reason, "TTL") {
		t.Fatalf("Err() = %v; want a TTL lapse", lease.Err())
	}
	// Declared lost no later than the lease can have lapsed on the coordinator (its TTL
	// counted from the last renewal, which was before the cut), plus generous slack for a
	// busy machine; never before the cut.
	if took := time.Since(cut); took > 10*time.Second {
		t.Fatalf("noticed %s after the cut, TTL 2s", took)
	}
}
