package threadlock

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
)

// Errors of the SDK. Every error it returns matches ErrThreadlock with errors.Is, except a
// cancellation or deadline of the caller's own context (that error is ctx.Err(), wrapped).
//
//	ErrThreadlock            root
//	├── *BusyError           ErrBusy: the key is held by someone else (holder, queue, message)
//	├── *LeaseLostError      ErrLeaseLost: a lease you held ended (renewal refused, or TTL lapsed)
//	├── *OptionError         ErrInvalidOption: the SDK refused an argument before any call
//	└── *CoordinatorError    a coordinator call failed (.Code, .Details); errors.Is matches
//	      ErrInvalidArgument  INVALID_ARGUMENT; Field() names the field
//	      ErrNotFound         NOT_FOUND: a lease token or session that does not exist (any more)
//	      ErrConflict         FAILED_PRECONDITION / ABORTED: a request_id reused or superseded
//	      ErrUnavailable      UNAVAILABLE / DEADLINE_EXCEEDED: no coordinator answered in time
var (
	ErrThreadlock      = errors.New("threadlock")
	ErrBusy            = errors.New("threadlock: key busy")
	ErrLeaseLost       = errors.New("threadlock: lease lost")
	ErrInvalidOption   = errors.New("threadlock: invalid option")
	ErrInvalidArgument = errors.New("threadlock: invalid argument")
	ErrNotFound        = errors.New("threadlock: not found")
	ErrConflict        = errors.New("threadlock: conflict")
	ErrUnavailable     = errors.New("threadlock: unavailable")
	// ErrReleased is what Lease.Err returns after a clean Release (as context.Canceled is for
	// a context): the lease ended because its holder gave it back, not because it was lost.
	ErrReleased = errors.New("threadlock: lease released")
	// ErrClosed: the Client was closed.
	ErrClosed = fmt.Errorf("%w: client closed", ErrThreadlock)
)

// BusyError: the key stayed held by someone else (for the whole Wait, if any).
type BusyError struct {
	Key string
	// Message is the coordinator's sentence for an end user, e.g. "Conversation conv_1 is busy
	// with another request (held by worker-3@pod-a for 12s). Please wait ... and try again."
	Message      string
	Holder       string // the holder's owner
	HolderSince  time.Time
	HolderUntil  time.Time
	FencingToken int64 // the holder's
	Metadata     map[string]string
	Waiters      int           // callers queued for the key, besides the holder
	Waited       time.Duration // how long this call queued
}

func (e *BusyError) Error() string { return e.Message }

func (e *BusyError) Is(target error) bool { return target == ErrBusy || target == ErrThreadlock }

// LeaseLostError: the lease on Key ended while you held it. Stop the protected work: someone
// else may hold the key now, with a higher fencing token than FencingToken.
type LeaseLostError struct {
	Key          string
	FencingToken int64
	Reason       string
}

func (e *LeaseLostError) Error() string {
	return fmt.Sprintf("threadlock: lost the lock on %q (fencing token %d): %s",
		e.Key, e.FencingToken, e.Reason)
}

func (e *LeaseLostError) Is(target error) bool {
	return target == ErrLeaseLost || target == ErrThreadlock
}

// OptionError: an argument the SDK refuses before calling anyone (empty key, negative TTL).
// Name is the request field's wire name for what Lock sends ("key", "ttl", "wait": the same
// name CoordinatorError.Field gives), and the Config field's name for client options
// ("Addresses", "TLS.CertFile").
type OptionError struct {
	Name   string
	Reason string
}

func (e *OptionError) Error() string { return fmt.Sprintf("threadlock: %s: %s", e.Name, e.Reason) }

// Field names the refused option (as CoordinatorError.Field names a refused request field).
func (e *OptionError) Field() string { return e.Name }

func (e *OptionError) Is(target error) bool {
	return target == ErrInvalidOption || target == ErrThreadlock
}

// CoordinatorError: a call to the coordinator failed with gRPC status Code.
type CoordinatorError struct {
	Method  string // "Acquire", "KeepAlive", ...
	Code    codes.Code
	Details string
}

func (e *CoordinatorError) Error() string {
	return fmt.Sprintf("threadlock: %s: %s: %s", e.Method, e.Code, e.Details)
}

// Field is the request field an INVALID_ARGUMENT names ("ttl: must be ..." -> "ttl"), else "".
func (e *CoordinatorError) Field() string {
	if e.Code != codes.InvalidArgument {
		return ""
	}
	field, _, _ := strings.Cut(e.Details, ":")
	return field
}

func (e *CoordinatorError) Is(target error) bool {
	return target == ErrThreadlock || (target != nil && target == sentinelOf[e.Code])
}

// sentinelOf is the one status -> error map: every coordinator failure goes through it.
var sentinelOf = map[codes.Code]error{
	codes.InvalidArgument:    ErrInvalidArgument,
	codes.NotFound:           ErrNotFound,
	codes.FailedPrecondition: ErrConflict,
	codes.Aborted:            ErrConflict,
	codes.Unavailable:        ErrUnavailable,
	codes.DeadlineExceeded:   ErrUnavailable,
}

func coordinatorError(method string, code codes.Code, details string) *CoordinatorError {
	if details == "" {
		details = code.String()
	}
	return &CoordinatorError{Method: method, Code: code, Details: details}
}

// Kind is the SDK's name for the class of err, the same names every threadlock SDK uses:
// "ThreadBusy", "LeaseLost", "InvalidArgument", "NotFound", "Conflict", "Unavailable",
// "CoordinatorError", "ValueError" (an OptionError), or "" for errors not from the SDK.
func Kind(err error) string {
	kinds := []struct {
		sentinel error
		name     string
	}{
		{ErrBusy, "ThreadBusy"}, {ErrLeaseLost, "LeaseLost"}, {ErrInvalidOption, "ValueError"},
		{ErrInvalidArgument, "InvalidArgument"}, {ErrNotFound, "NotFound"},
		{ErrConflict, "Conflict"}, {ErrUnavailable, "Unavailable"},
		{ErrThreadlock, "CoordinatorError"},
	}
	for _, k := range kinds {
		if errors.Is(err, k.sentinel) {
			return k.name
		}
	}
	return ""
}
