package threadlock_test

import (
	"errors"
	"testing"
	"time"

	threadlock "github.com/threadlock/threadlock/clients/go"
)

func TestTLSServerVerified(t *testing.T) {
	t.Parallel()
	c := newClient(t, "go-tls", threadlock.Config{
		Addresses: []string{env(t, "THREADLOCK_TEST_TLS_ADDRESS")},
		TLS:       &threadlock.TLSConfig{CAFile: env(t, "THREADLOCK_TEST_TLS_CA")}})
	lease := mustLock(t, c, key(t), threadlock.LockOptions{})
	if h := holderOf(t, c, lease.Key()); h == nil || h.Owner != "go-tls" {
		t.Fatalf("holder = %+v", h)
	}
	// Plaintext to a TLS port gets no answer: Unavailable, within the budget.
	plain := newClient(t, "go-plain", threadlock.Config{
		Addresses: []string{env(t, "THREADLOCK_TEST_TLS_ADDRESS")}, CallTimeout: 2 * time.Second})
	if _, err := plain.Lock(ctxFor(t, 30*time.Second), key(t), threadlock.LockOptions{}); !errors.Is(
		err, threadlock.ErrUnavailable) {
		t.Fatalf("plaintext to a TLS coordinator: %v", err)
	}
}

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	addr := env(t, "THREADLOCK_TEST_MTLS_ADDRESS")
	ca := env(t, "THREADLOCK_TEST_TLS_CA")
	c := newClient(t, "go-mtls", threadlock.Config{Addresses: []string{addr},
		TLS: &threadlock.TLSConfig{CAFile: ca, CertFile: env(t, "THREADLOCK_TEST_CLIENT_CERT"),
			KeyFile: env(t, "THREADLOCK_TEST_CLIENT_KEY")}})
	mustLock(t, c, key(t), threadlock.LockOptions{})
	// Without a client certificate the coordinator refuses the connection.
	anon := newClient(t, "go-anon", threadlock.Config{Addresses: []string{addr},
		TLS: &threadlock.TLSConfig{CAFile: ca}, CallTimeout: 2 * time.Second})
	if _, err := anon.Lock(ctxFor(t, 30*time.Second), key(t), threadlock.LockOptions{}); !errors.Is(
		err, threadlock.ErrUnavailable) {
		t.Fatalf("mutual TLS without a client certificate: %v", err)
	}
	// A half-given key pair is refused before any call, naming the option.
	_, err := threadlock.New(threadlock.Config{Addresses: []string{addr},
		TLS: &threadlock.TLSConfig{CAFile: ca, CertFile: env(t, "THREADLOCK_TEST_CLIENT_CERT")}})
	var oe *threadlock.OptionError
	if !errors.As(err, &oe) || oe.Field() != "TLS.CertFile" {
		t.Fatalf("New with a cert but no key: %v", err)
	}
}
