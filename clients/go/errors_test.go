package threadlock_test

import (
	"errors"
	"fmt"
	"testing"

	threadlock "github.com/threadlock/threadlock/clients/go"
	"google.golang.org/grpc/codes"
)

// The one status -> error map, seen through errors.Is / errors.As (no coordinator needed).
func TestCoordinatorErrorsMatchTheirSentinels(t *testing.T) {
	for code, want := range map[codes.Code]error{
		codes.InvalidArgument: threadlock.ErrInvalidArgument, codes.NotFound: threadlock.ErrNotFound,
		codes.FailedPrecondition: threadlock.ErrConflict, codes.Aborted: threadlock.ErrConflict,
		codes.Unavailable: threadlock.ErrUnavailable, codes.DeadlineExceeded: threadlock.ErrUnavailable,
	} {
		err := fmt.Errorf("wrapped: %w", &threadlock.CoordinatorError{Method: "Acquire", Code: code,
			Details: "ttl: bad"})
		if !errors.Is(err, want) || !errors.Is(err, threadlock.ErrThreadlock) {
			t.Errorf("%s does not match %v", code, want)
		}
		if errors.Is(err, threadlock.ErrBusy) || errors.Is(err, threadlock.ErrLeaseLost) {
			t.Errorf("%s matches busy or lost", code)
		}
	}
	internal := &threadlock.CoordinatorError{Code: codes.Internal, Details: "boom"}
	if threadlock.Kind(internal) != "CoordinatorError" || internal.Field() != "" {
		t.Errorf("Internal: kind %q field %q", threadlock.Kind(internal), internal.Field())
	}
	if threadlock.Kind(errors.New("other")) != "" {
		t.Error("a foreign error has a kind")
	}
}
