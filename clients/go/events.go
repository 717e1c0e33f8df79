package postwave

import (
	"context"
	"errors"
	"io"
	"iter"

	"github.com/postwave/postwave/clients/go/postwavev1"
)

// TailEvents yields the tenant's events after req.Cursor and, unless req.NoFollow, new ones
// as they happen. A broken stream is resumed from the last event seen, so none is lost or
// repeated. Stop by breaking out of the loop or cancelling ctx.
//
//	for event, err := range client.TailEvents(ctx, &postwavev1.StreamEventsRequest{Types: []string{"delivered"}}) {
//		if err != nil { ... }
//	}
func (c *Client) TailEvents(ctx context.Context, req *postwavev1.StreamEventsRequest) iter.Seq2[*postwavev1.Event, error] {
	return func(yield func(*postwavev1.Event, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		cursor := req.GetCursor()
		for attempt := 0; ; {
			next := &postwavev1.StreamEventsRequest{
				Types: req.GetTypes(), MessageId: req.GetMessageId(), Cursor: cursor, NoFollow: req.GetNoFollow(),
			}
			stream, err := c.Events.StreamEvents(ctx, next)
			for err == nil {
				var event *postwavev1.Event
				if event, err = stream.Recv(); err == nil {
					cursor, attempt = event.GetId(), 0
					if !yield(event, nil) {
						return
					}
				}
			}
			if errors.Is(err, io.EOF) {
				return
			}
			if !Retryable(err) || attempt+1 >= c.retry.attempts() {
				yield(nil, err)
				return
			}
			if serr := sleep(ctx, c.retry.Delay(attempt, err)); serr != nil {
				yield(nil, err)
				return
			}
			attempt++
		}
	}
}
