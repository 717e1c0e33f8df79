package postwave

import (
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/postwave/postwave/clients/go/postwavev1"
)

// The same vector is checked in every client: the keys must agree across languages.
func TestIdempotencyKeyVector(t *testing.T) {
	if got, want := IdempotencyKey("order-42", "receipt"), "pw-9296d8abecb6b4d238907c8f2e59e1095853c87b"; got != want {
		t.Fatalf("IdempotencyKey = %s, want %s", got, want)
	}
}

func TestDelayHonoursRetryInfo(t *testing.T) {
	st, err := status.New(codes.ResourceExhausted, "slow down").WithDetails(
		&errdetails.RetryInfo{RetryDelay: durationpb.New(1500 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultRetryPolicy.Delay(0, st.Err())
	if d < 1500*time.Millisecond || d > 1650*time.Millisecond {
		t.Fatalf("Delay = %v, want 1.5s..1.65s", d)
	}
	if !Retryable(st.Err()) || Retryable(status.Error(codes.InvalidArgument, "no")) {
		t.Fatal("Retryable misclassifies")
	}
}

func TestBackoffGrowsWithinBounds(t *testing.T) {
	for attempt := 0; attempt < 10; attempt++ {
		d := DefaultRetryPolicy.Delay(attempt, status.Error(codes.Unavailable, "down"))
		if d <= 0 || d > DefaultRetryPolicy.MaxBackoff {
			t.Fatalf("attempt %d: delay %v out of bounds", attempt, d)
		}
	}
}

func TestWithSendIDKeepsOrFills(t *testing.T) {
	req := &postwavev1.SendRequest{Subject: "x"}
	filled, err := withSendID(req, "")
	if err != nil || filled.GetSendId() == "" || req.GetSendId() != "" {
		t.Fatalf("withSendID: %v %q (original %q)", err, filled.GetSendId(), req.GetSendId())
	}
	if _, err := withSendID(&postwavev1.SendRequest{SendId: "a"}, "b"); err == nil {
		t.Fatal("a conflicting idempotency key must fail")
	}
}
