// Command quickstart sends a message with an idempotency key, streams a batch, reads a
// status and tails events through postwave's Go client.
//
// Configuration (environment):
//
//	POSTWAVE_SERVER     host:port of the gRPC API (default 127.0.0.1:50051)
//	POSTWAVE_API_KEY    an API key with scopes mail.send, mail.read and events.read
//	EXAMPLE_TO_DOMAIN   domain of the recipients (default example.net)
//	EXAMPLE_FROM        sender (default "Quickstart <quickstart@example.com>")
//	EXAMPLE_TAG         marks subjects and recipients (default go)
//	EXAMPLE_BATCH       how many messages the batch streams (default 100)
//
// It prints one JSON summary line and exits 0 when every step checked out.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	postwave "github.com/postwave/postwave/clients/go"
	"github.com/postwave/postwave/clients/go/postwavev1"
)

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func message(from, to, subject, text string) *postwavev1.SendRequest {
	return &postwavev1.SendRequest{
		From: from, Subject: subject, Text: text,
		Personalizations: []*postwavev1.Personalization{{To: []string{to}}},
	}
}

func ids(reply *postwavev1.SendResponse) []string {
	var out []string
	for _, m := range reply.GetMessages() {
		out = append(out, m.GetMessageId())
	}
	return out
}

func run() (bool, error) {
	server := env("POSTWAVE_SERVER", "127.0.0.1:50051")
	domain := env("EXAMPLE_TO_DOMAIN", "example.net")
	from := env("EXAMPLE_FROM", "Quickstart <quickstart@example.com>")
	tag := env("EXAMPLE_TAG", "go")
	batchSize, err := strconv.Atoi(env("EXAMPLE_BATCH", "100"))
	if err != nil {
		return false, err
	}
	client, err := postwave.Dial(server, os.Getenv("POSTWAVE_API_KEY"))
	if err != nil {
		return false, err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// 1. One message with an idempotency key; sending it again returns the same answer.
	welcome := message(from, fmt.Sprintf("%s-welcome@%s", tag, domain), fmt.Sprintf("[%s] welcome", tag),
		"Hello from the postwave quickstart.")
	key := postwave.IdempotencyKey("quickstart", tag, "welcome")
	first, err := client.SendMessage(ctx, welcome, key)
	if err != nil {
		return false, fmt.Errorf("send: %w", err)
	}
	again, err := client.SendMessage(ctx, welcome, key)
	if err != nil {
		return false, fmt.Errorf("send again: %w", err)
	}
	welcomeID := first.GetMessages()[0].GetMessageId()
	same := slices.Equal(ids(first), ids(again))

	// 2. A batch over one BatchSend stream: one answer per request, in order.
	batch := make([]*postwavev1.SendRequest, batchSize)
	for i := range batch {
		batch[i] = message(from, fmt.Sprintf("%s-bulk-%d@%s", tag, i, domain), fmt.Sprintf("[%s] bulk %d", tag, i),
			fmt.Sprintf("Message %d of the batch.", i))
		batch[i].Stream = postwavev1.Stream_STREAM_BULK
		batch[i].BatchId = "quickstart-" + tag
	}
	replies, err := client.SendStream(ctx, batch)
	if err != nil {
		return false, fmt.Errorf("batch: %w", err)
	}
	var batchIDs []string
	for _, r := range replies {
		if r.GetCode() == 0 {
			batchIDs = append(batchIDs, r.GetMessages()[0].GetMessageId())
		}
	}

	// 3. The welcome message's status, once it has been delivered.
	var status *postwavev1.MessageStatus
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if status, err = client.GetStatus(ctx, welcomeID); err != nil {
			return false, fmt.Errorf("status: %w", err)
		}
		if status.GetState() != "accepted" && status.GetState() != "queued" && status.GetState() != "deferred" || time.Now().After(deadline) {
			break
		}
	}

	// 4. Tail the events until every message of this run has been delivered.
	wanted := map[string]bool{welcomeID: true}
	for _, id := range batchIDs {
		wanted[id] = true
	}
	delivered := map[string]bool{}
	var cursor int64
	tailCtx, stopTail := context.WithTimeout(ctx, 90*time.Second)
	defer stopTail()
	for event, err := range client.TailEvents(tailCtx, &postwavev1.StreamEventsRequest{Types: []string{"delivered"}}) {
		if err != nil {
			break // the deadline: report what arrived
		}
		cursor = event.GetId()
		if wanted[event.GetMessageId()] {
			delivered[event.GetMessageId()] = true
		}
		if len(delivered) == len(wanted) {
			break
		}
	}

	summary := map[string]any{
		"language":           "go",
		"send_id":            first.GetSendId(),
		"welcome_message_id": welcomeID,
		"replayed_same_ids":  same,
		"batch_accepted":     len(batchIDs),
		"batch_message_ids":  batchIDs,
		"status":             status.GetState(),
		"attempts":           len(status.GetAttempts()),
		"delivered_events":   len(delivered),
		"last_cursor":        cursor,
		"key_check":          postwave.IdempotencyKey("order-42", "receipt"),
	}
	line, err := json.Marshal(summary)
	if err != nil {
		return false, err
	}
	fmt.Println(string(line))
	return same && len(batchIDs) == batchSize && status.GetState() == "delivered" && len(delivered) == len(wanted), nil
}

func main() {
	ok, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}
