package postwave

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/postwave/postwave/clients/go/postwavev1"
)

// SendStream sends many requests over one BatchSend stream and returns one response per
// request, in order. Every item without a send_id gets one, so items answered UNAVAILABLE or
// RESOURCE_EXHAUSTED (or left unanswered by a broken stream) are sent again safely, within
// the retry policy. Other per-item errors come back as they are: check GetCode() (0 =
// accepted) and GetError().
func (c *Client) SendStream(ctx context.Context, reqs []*postwavev1.SendRequest) ([]*postwavev1.SendResponse, error) {
	items := make([]*postwavev1.SendRequest, len(reqs))
	for i, req := range reqs {
		item, err := withSendID(req, "")
		if err != nil {
			return nil, err
		}
		items[i] = item
	}
	results := make([]*postwavev1.SendResponse, len(items))
	todo := make([]int, len(items))
	for i := range todo {
		todo[i] = i
	}
	for attempt := 0; attempt < c.retry.attempts() && len(todo) > 0; attempt++ {
		err := c.streamOnce(ctx, items, todo, results)
		if err != nil && (!Retryable(err) || attempt+1 >= c.retry.attempts()) {
			return nil, err
		}
		todo = pending(todo, results)
		if len(todo) == 0 || attempt+1 >= c.retry.attempts() {
			break
		}
		if serr := sleep(ctx, c.retry.Delay(attempt, err)); serr != nil {
			return nil, serr
		}
	}
	for i, r := range results {
		if r == nil {
			return nil, fmt.Errorf("postwave: BatchSend left request %d unanswered", i)
		}
	}
	return results, nil
}

// streamOnce sends items[todo...] on one stream, filling results as answers arrive.
func (c *Client) streamOnce(ctx context.Context, items []*postwavev1.SendRequest, todo []int, results []*postwavev1.SendResponse) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.Send.BatchSend(ctx)
	if err != nil {
		return err
	}
	sent := make(chan error, 1)
	go func() {
		for _, i := range todo {
			if err := stream.Send(items[i]); err != nil {
				sent <- err // io.EOF: the server ended the stream; Recv tells why
				return
			}
		}
		sent <- stream.CloseSend()
	}()
	for _, i := range todo {
		reply, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("postwave: BatchSend ended early")
			}
			return err
		}
		results[i] = reply
	}
	if err := <-sent; err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

func pending(todo []int, results []*postwavev1.SendResponse) []int {
	var left []int
	for _, i := range todo {
		if results[i] == nil || itemRetryable(results[i].GetCode()) {
			left = append(left, i)
		}
	}
	return left
}
