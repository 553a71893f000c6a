package threadlock_test

// Credentials against a coordinator with auth on: tests/test_go.py starts one and passes its
// address (THREADLOCK_TEST_AUTH_ADDRESS), an API key, a JWT and a token file path.

import (
	"errors"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	threadlock "github.com/threadlock/threadlock/clients/go"
)

func authClient(t *testing.T, cfg threadlock.Config) *threadlock.Client {
	t.Helper()
	cfg.Addresses = []string{env(t, "THREADLOCK_TEST_AUTH_ADDRESS")}
	return newClient(t, "go-auth", cfg)
}

func wantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	var ce *threadlock.CoordinatorError
	if !errors.As(err, &ce) || ce.Code != code {
		t.Fatalf("want a CoordinatorError %s, got %v", code, err)
	}
}

func TestAuthWithoutCredentialIsUnauthenticated(t *testing.T) {
	c := authClient(t, threadlock.Config{})
	_, err := c.Lock(ctxFor(t, 30*time.Second), key(t), threadlock.LockOptions{TTL: 5 * time.Second})
	wantCode(t, err, codes.Unauthenticated)
}

func TestAuthAPIKeyAndToken(t *testing.T) {
	for _, cfg := range []threadlock.Config{
		{APIKey: env(t, "THREADLOCK_TEST_API_KEY")},
		{Token: env(t, "THREADLOCK_TEST_TOKEN")},
	} {
		c := authClient(t, cfg)
		lease := mustLock(t, c, key(t), threadlock.LockOptions{TTL: 5 * time.Second})
		if _, err := lease.Release(ctxFor(t, 10*time.Second)); err != nil {
			t.Fatalf("Release: %v", err)
		}
	}
}

func TestAuthTokenFileIsReReadWhenItChanges(t *testing.T) {
	file := env(t, "THREADLOCK_TEST_TOKEN_FILE") + ".go"
	token := env(t, "THREADLOCK_TEST_TOKEN")
	if err := os.WriteFile(file, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	c := authClient(t, threadlock.Config{TokenFile: file})
	lease := mustLock(t, c, key(t), threadlock.LockOptions{TTL: 5 * time.Second})
	_, _ = lease.Release(ctxFor(t, 10*time.Second))
	if err := os.WriteFile(file, []byte("rotated-away\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := c.Lock(ctxFor(t, 30*time.Second), key(t), threadlock.LockOptions{TTL: 5 * time.Second})
	wantCode(t, err, codes.Unauthenticated)
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lease = mustLock(t, c, key(t), threadlock.LockOptions{TTL: 5 * time.Second})
	_, _ = lease.Release(ctxFor(t, 10*time.Second))
}

func TestAuthCredentialOptionsAreChecked(t *testing.T) {
	_, err := threadlock.New(threadlock.Config{Addresses: []string{"127.0.0.1:1"}, Token: "a", APIKey: "b"})
	if !errors.Is(err, threadlock.ErrInvalidOption) {
		t.Fatalf("two credentials: want ErrInvalidOption, got %v", err)
	}
	_, err = threadlock.New(threadlock.Config{Addresses: []string{"127.0.0.1:1"}, TokenFile: "/nonexistent/token"})
	var oe *threadlock.OptionError
	if !errors.As(err, &oe) || oe.Name != "TokenFile" {
		t.Fatalf("missing token file: want OptionError TokenFile, got %v", err)
	}
}
