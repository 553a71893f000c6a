package threadlock

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
)

// DefaultAddress is used when neither Config.Addresses nor $THREADLOCK_ADDRESS names one.
const DefaultAddress = "127.0.0.1:50051"

// AddressEnv is the variable read when Config.Addresses is empty ("h1:p,h2:p"); the
// threadlock CLI and the Python SDK read the same one.
const AddressEnv = "THREADLOCK_ADDRESS"

// Config of a Client. The zero value works: $THREADLOCK_ADDRESS (or 127.0.0.1:50051),
// owner host:pid, plaintext, no session.
type Config struct {
	// Coordinator addresses ("host:port"); calls fail over between them.
	Addresses []string
	// Owner shown by Status for this client's locks, e.g. "worker-3@pod-a". Default host:pid.
	Owner string
	// TLS to the coordinator; nil = plaintext.
	TLS *TLSConfig
	// Session: every lock lives under one session lease of this client, renewed once for all
	// (use it when a process holds many locks). A lost session loses all of its locks.
	Session    bool
	SessionTTL time.Duration // default 30s
	// CallTimeout is the budget of each call, besides an Acquire's Wait. Default 10s.
	CallTimeout time.Duration
	// ReleaseTimeout bounds a Release and the cleanup of an unanswered Acquire. Default 5s.
	ReleaseTimeout time.Duration
	// DialOptions are added to the SDK's own (credentials, retry policy, keepalive).
	DialOptions []grpc.DialOption
	// Transport: TransportStream (the default, "") sends every call as a message on one
	// long-lived LockService.Stream per address, which costs the coordinator about a third of
	// a unary call; TransportUnary makes one RPC per call. A coordinator without Stream is
	// called unary either way.
	Transport Transport
	// A coordinator with auth: one of Token (a JWT), TokenFile (a file holding one, re-read
	// when it changes: projected ServiceAccount tokens rotate) or APIKey, sent as
	// `authorization: Bearer ...` on every call.
	Token, TokenFile, APIKey string
}

// Transport is how a Client carries its calls: Config.Transport.
type Transport string

const (
	TransportStream Transport = "stream"
	TransportUnary  Transport = "unary"
)

// TLSConfig: PEM files. CAFile verifies the coordinator (empty: the system roots);
// CertFile + KeyFile present a client certificate (mutual TLS). ServerName overrides the name
// checked against the coordinator's certificate. Config, when set, is used as it is.
type TLSConfig struct {
	CAFile, CertFile, KeyFile string
	ServerName                string
	Config                    *tls.Config
}

// LockOptions of one Lock call.
type LockOptions struct {
	// TTL of the lease (whole seconds on the coordinator, at least its min_ttl, 2s by
	// default). Default 30s. Not used under a session (the session's TTL applies).
	TTL time.Duration
	// Wait: how long to queue (FIFO) for the key; 0 = try once and return *BusyError at once.
	Wait time.Duration
	// Metadata shown by Status, e.g. {"run_id": "run_123"}.
	Metadata map[string]string
	// RequestID makes a retry of this Lock (by you, e.g. after a crash of your caller) get the
	// same lease back. Empty: the SDK makes one (and then cleans up after itself when a call
	// gets no answer, which it cannot do for yours).
	RequestID string
	// Owner overrides Config.Owner for this lock.
	Owner string
}

const (
	defaultTTL            = 30 * time.Second
	defaultSessionTTL     = 30 * time.Second
	defaultCallTimeout    = 10 * time.Second
	defaultReleaseTimeout = 5 * time.Second
)

// settings: a Config with defaults applied and checked.
type settings struct {
	addresses      []string
	owner          string
	session        bool
	sessionTTL     time.Duration
	callTimeout    time.Duration
	releaseTimeout time.Duration
	transport      Transport
}

func (c Config) settings() (settings, error) {
	s := settings{owner: c.Owner, session: c.Session, sessionTTL: c.SessionTTL,
		callTimeout: c.CallTimeout, releaseTimeout: c.ReleaseTimeout, transport: c.Transport}
	switch s.transport {
	case "":
		s.transport = TransportStream
	case TransportStream, TransportUnary:
	default:
		return s, &OptionError{"Transport", fmt.Sprintf("must be %q or %q, got %q",
			TransportStream, TransportUnary, c.Transport)}
	}
	addresses := c.Addresses
	if len(addresses) == 0 {
		if env := os.Getenv(AddressEnv); env != "" {
			addresses = strings.Split(env, ",")
		} else {
			addresses = []string{DefaultAddress}
		}
	}
	for _, a := range addresses {
		if a = strings.TrimSpace(a); a != "" {
			s.addresses = append(s.addresses, a)
		}
	}
	if len(s.addresses) == 0 {
		return s, &OptionError{"Addresses", "give at least one coordinator address (host:port)"}
	}
	if s.owner == "" {
		s.owner = defaultOwner()
	}
	for _, d := range []struct {
		name  string
		value *time.Duration
		def   time.Duration
	}{
		{"SessionTTL", &s.sessionTTL, defaultSessionTTL},
		{"CallTimeout", &s.callTimeout, defaultCallTimeout},
		{"ReleaseTimeout", &s.releaseTimeout, defaultReleaseTimeout},
	} {
		if *d.value == 0 {
			*d.value = d.def
		} else if *d.value < 0 {
			return s, &OptionError{d.name, fmt.Sprintf("must be positive, got %s", *d.value)}
		}
	}
	return s, nil
}

// tlsConfig builds the crypto/tls config of t (nil: plaintext).
func (t *TLSConfig) tlsConfig() (*tls.Config, error) {
	if t.Config != nil {
		return t.Config, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, &OptionError{"TLS.CAFile", err.Error()}
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, &OptionError{"TLS.CAFile", "no PEM certificate in " + t.CAFile}
		}
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, &OptionError{"TLS.CertFile", "CertFile and KeyFile go together (mutual TLS)"}
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, &OptionError{"TLS.CertFile", err.Error()}
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// holdSpec: what one Lock asks for, checked and with defaults applied.
type holdSpec struct {
	key, owner, requestID, sessionID string
	ttl, wait                        time.Duration
	metadata                         map[string]string
	ownRequestID                     bool // the SDK made requestID up: it may clean up after it
}

func newHoldSpec(s settings, key string, o LockOptions) (holdSpec, error) {
	if key == "" {
		return holdSpec{}, &OptionError{"key", "must not be empty"}
	}
	if o.TTL < 0 {
		return holdSpec{}, &OptionError{"ttl", fmt.Sprintf("must be positive, got %s", o.TTL)}
	}
	if o.Wait < 0 {
		return holdSpec{}, &OptionError{"wait", fmt.Sprintf(
			"must be zero (try once) or positive, got %s", o.Wait)}
	}
	spec := holdSpec{key: key, owner: o.Owner, requestID: o.RequestID, ttl: o.TTL,
		wait: o.Wait, metadata: o.Metadata}
	if spec.owner == "" {
		spec.owner = s.owner
	}
	if spec.ttl == 0 {
		spec.ttl = defaultTTL
	}
	if spec.requestID == "" {
		spec.requestID, spec.ownRequestID = newRequestID(), true
	}
	return spec, nil
}

func defaultOwner() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// newRequestID: 128 random bits, one per logical acquire.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go >= 1.24)
	return hex.EncodeToString(b[:])
}
