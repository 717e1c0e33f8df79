package postwave

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/postwave/postwave/clients/go/postwavev1"
)

// RetryPolicy retries calls the server refused without doing anything: UNAVAILABLE (a
// backend is down, nothing was accepted) and RESOURCE_EXHAUSTED (rate or quota used up).
// A google.rpc.RetryInfo in the error's details sets the delay; otherwise it doubles from
// InitialBackoff up to MaxBackoff, with jitter.
type RetryPolicy struct {
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	Multiplier     float64
}

// DefaultRetryPolicy makes up to 5 attempts, starting at 200 ms.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 5, InitialBackoff: 200 * time.Millisecond, MaxBackoff: 10 * time.Second, Multiplier: 2}

// NoRetry makes every call once.
var NoRetry = RetryPolicy{MaxAttempts: 1}

// Retryable reports whether err is worth retrying.
func Retryable(err error) bool {
	code := status.Code(err)
	return code == codes.Unavailable || code == codes.ResourceExhausted
}

// itemRetryable reports whether a per-item code of a BatchSend response is worth retrying.
func itemRetryable(code int32) bool {
	return codes.Code(code) == codes.Unavailable || codes.Code(code) == codes.ResourceExhausted
}

// RetryDelay returns the delay a google.rpc.RetryInfo detail of err asks for.
func RetryDelay(err error) (time.Duration, bool) {
	st, ok := status.FromError(err)
	if !ok {
		return 0, false
	}
	for _, detail := range st.Details() {
		if info, ok := detail.(*errdetails.RetryInfo); ok {
			return info.GetRetryDelay().AsDuration(), true
		}
	}
	return 0, false
}

// Delay is the wait before retry number attempt+1 (attempt counts from 0).
func (p RetryPolicy) Delay(attempt int, err error) time.Duration {
	if hint, ok := RetryDelay(err); ok {
		return hint + time.Duration(rand.Float64()*0.1*float64(hint)) // at least what the server asked
	}
	ceiling := math.Min(float64(p.MaxBackoff), float64(p.InitialBackoff)*math.Pow(p.Multiplier, float64(attempt)))
	return time.Duration(ceiling/2 + rand.Float64()*ceiling/2)
}

func (p RetryPolicy) attempts() int {
	if p.MaxAttempts < 1 {
		return 1
	}
	return p.MaxAttempts
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

func (p RetryPolicy) unaryInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if send, ok := req.(*postwavev1.SendRequest); ok && send.GetSendId() == "" {
			// Without an idempotency key a retried Send could deliver twice (use SendMessage).
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		var err error
		for attempt := 0; attempt < p.attempts(); attempt++ {
			if err = invoker(ctx, method, req, reply, cc, opts...); err == nil || !Retryable(err) {
				return err
			}
			if attempt+1 < p.attempts() {
				if serr := sleep(ctx, p.Delay(attempt, err)); serr != nil {
					return err
				}
			}
		}
		return err
	}
}
