package postwave

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/postwave/postwave/clients/go/postwavev1"
)

// IdempotencyKey derives a stable send_id from your own identifiers, e.g.
// IdempotencyKey("order", orderID, "receipt"): sha256 over the parts joined by U+001F.
// postwave keeps a send_id for 24 hours; the same key with the same body returns the first
// answer, with a different body ALREADY_EXISTS. Every postwave client derives the same key
// from the same parts.
func IdempotencyKey(parts ...string) string {
	if len(parts) == 0 {
		panic("postwave.IdempotencyKey needs at least one part")
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x1f")))
	return "pw-" + hex.EncodeToString(sum[:])[:40]
}

// NewIdempotencyKey returns a random key, for a request with no natural identity.
func NewIdempotencyKey() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "pw-" + hex.EncodeToString(b[:])
}

func withSendID(req *postwavev1.SendRequest, key string) (*postwavev1.SendRequest, error) {
	if key != "" && req.GetSendId() != "" && req.GetSendId() != key {
		return nil, fmt.Errorf("postwave: send_id %q differs from idempotency key %q", req.GetSendId(), key)
	}
	if req.GetSendId() != "" {
		return req, nil
	}
	if key == "" {
		key = NewIdempotencyKey()
	}
	clone := proto.Clone(req).(*postwavev1.SendRequest)
	clone.SendId = key
	return clone, nil
}
