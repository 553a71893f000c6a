// Command threadlock-conformance is the Go SDK's adapter for the cross-SDK conformance suite
// (tests/conformance/PROTOCOL.md): one JSON command per line on stdin, one JSON answer per
// line on stdout, each turned into calls of the SDK's public API only. Logs go to stderr.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	threadlock "github.com/threadlock/threadlock/clients/go"
)

type command struct {
	Cmd         string            `json:"cmd"`
	Addresses   []string          `json:"addresses"`
	Owner       string            `json:"owner"`
	Session     bool              `json:"session"`
	SessionTTL  *float64          `json:"session_ttl"`
	TLS         *tlsFiles         `json:"tls"`
	CallTimeout *float64          `json:"call_timeout"`
	Key         *string           `json:"key"`
	Prefix      *string           `json:"prefix"`
	TTL         float64           `json:"ttl"`
	Wait        float64           `json:"wait"`
	Metadata    map[string]string `json:"metadata"`
	RequestID   string            `json:"request_id"`
	Handle      string            `json:"handle"`
	Seconds     float64           `json:"seconds"`
	Timeout     float64           `json:"timeout"`
}

type tlsFiles struct {
	CA   string `json:"ca"`
	Cert string `json:"cert"`
	Key  string `json:"key"`
}

type answer map[string]any

type adapter struct {
	client *threadlock.Client
	leases map[string]*threadlock.Lease
}

func main() {
	a := &adapter{leases: map[string]*threadlock.Lease{}}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		if err := out.Encode(a.handle(in.Bytes())); err != nil {
			fmt.Fprintln(os.Stderr, "threadlock-conformance: writing an answer:", err)
			os.Exit(1)
		}
	}
	if a.client != nil {
		_ = a.client.Close()
	}
}

// handle answers one command line; a panic becomes an Internal answer (the suite fails on it).
func (a *adapter) handle(line []byte) (ans answer) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(os.Stderr, "panic: %v\n%s", p, debug.Stack())
			ans = failure("Internal", fmt.Sprint(p), nil)
		}
	}()
	var c command
	if err := json.Unmarshal(line, &c); err != nil {
		return failure("Internal", "bad command line: "+err.Error(), nil)
	}
	if c.Cmd != "init" && a.client == nil {
		return failure("Internal", "init must come first", nil)
	}
	ctx := context.Background()
	switch c.Cmd {
	case "init":
		return a.init(c)
	case "acquire":
		lease, err := a.client.Lock(ctx, deref(c.Key), threadlock.LockOptions{
			TTL: seconds(c.TTL), Wait: seconds(c.Wait), Metadata: c.Metadata,
			RequestID: c.RequestID})
		if err != nil {
			return errorAnswer(err)
		}
		a.leases[c.Handle] = lease
		return answer{"ok": true, "handle": c.Handle, "key": lease.Key(),
			"fencing_token": lease.FencingToken(), "lease_token": lease.LeaseToken(),
			"session_id": lease.SessionID(), "expires_in": lease.ExpiresIn().Seconds()}
	}
	lease := a.leases[c.Handle]
	needsLease := c.Cmd == "check" || c.Cmd == "hold" || c.Cmd == "wait_lost" ||
		c.Cmd == "annotate" || c.Cmd == "release"
	if needsLease && lease == nil {
		return failure("Internal", fmt.Sprintf("no lease with handle %q", c.Handle), nil)
	}
	switch c.Cmd {
	case "check":
		return checkAnswer(lease)
	case "hold": // background renewal: just wait
		select {
		case <-lease.Done():
		case <-time.After(seconds(c.Seconds)):
		}
		return checkAnswer(lease)
	case "wait_lost":
		select {
		case <-lease.Done():
		case <-time.After(seconds(c.Timeout)):
		}
		var lost *threadlock.LeaseLostError
		if errors.As(lease.Err(), &lost) {
			return answer{"ok": true, "lost": true, "reason": lost.Reason}
		}
		return answer{"ok": true, "lost": false, "reason": nil}
	case "annotate":
		if err := lease.Annotate(ctx, c.Metadata); err != nil {
			return errorAnswer(err)
		}
		return answer{"ok": true}
	case "release":
		released, err := lease.Release(ctx)
		if err != nil {
			return errorAnswer(err)
		}
		return answer{"ok": true, "released": released}
	case "status":
		return a.status(ctx, c)
	case "close":
		err := a.client.Close()
		if err != nil {
			return errorAnswer(err)
		}
		return answer{"ok": true}
	}
	return failure("Internal", "unknown cmd "+c.Cmd, nil)
}

func (a *adapter) init(c command) answer {
	cfg := threadlock.Config{Addresses: c.Addresses, Owner: c.Owner, Session: c.Session}
	if c.SessionTTL != nil {
		cfg.SessionTTL = seconds(*c.SessionTTL)
	}
	if c.CallTimeout != nil {
		cfg.CallTimeout = seconds(*c.CallTimeout)
	}
	if c.TLS != nil {
		cfg.TLS = &threadlock.TLSConfig{CAFile: c.TLS.CA, CertFile: c.TLS.Cert, KeyFile: c.TLS.Key}
	}
	client, err := threadlock.New(cfg)
	if err != nil {
		return errorAnswer(err)
	}
	a.client = client
	return answer{"ok": true, "sdk": "go " + threadlock.Version}
}

func (a *adapter) status(ctx context.Context, c command) answer {
	var locks []threadlock.LockState
	var err error
	if c.Key != nil {
		locks, err = a.client.Status(ctx, *c.Key)
	} else {
		locks, err = a.client.StatusPrefix(ctx, deref(c.Prefix))
	}
	if err != nil {
		return errorAnswer(err)
	}
	out := []answer{}
	for _, l := range locks {
		var holder any
		if h := l.Holder; h != nil {
			md := h.Metadata
			if md == nil {
				md = map[string]string{}
			}
			holder = answer{"owner": h.Owner, "fencing_token": h.FencingToken, "metadata": md}
		}
		waiters := []answer{}
		for _, w := range l.Waiters {
			waiters = append(waiters, answer{"owner": w.Owner, "position": w.Position})
		}
		out = append(out, answer{"key": l.Key, "holder": holder, "waiters": waiters})
	}
	return answer{"ok": true, "locks": out}
}

func checkAnswer(lease *threadlock.Lease) answer {
	if err := lease.Check(); err != nil && !errors.Is(err, threadlock.ErrReleased) {
		return errorAnswer(err)
	}
	return answer{"ok": true}
}

// errorAnswer: the SDK's error as the protocol's error object (type = threadlock.Kind).
func errorAnswer(err error) answer {
	kind := threadlock.Kind(err)
	if kind == "" {
		kind = "Internal"
	}
	extra := answer{}
	var busy *threadlock.BusyError
	var lost *threadlock.LeaseLostError
	var coord *threadlock.CoordinatorError
	switch {
	case errors.As(err, &busy):
		extra = answer{"holder": busy.Holder, "waiters": busy.Waiters, "message": busy.Message}
	case errors.As(err, &lost):
		extra = answer{"reason": lost.Reason}
	case errors.As(err, &coord) && kind == "InvalidArgument":
		extra = answer{"field": coord.Field()}
	}
	return failure(kind, err.Error(), extra)
}

func failure(kind, message string, extra answer) answer {
	e := answer{"type": kind, "message": message}
	for k, v := range extra {
		e[k] = v
	}
	return answer{"ok": false, "error": e}
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
