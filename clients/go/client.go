// Package postwave is the Go client of postwave's gRPC API: the generated stubs (package
// postwavev1) behind a thin layer that adds the API key to every call, retries what the
// server refused without doing anything, and helps with idempotency keys, streaming
// batches and the event tail.
//
//	client, err := postwave.Dial("127.0.0.1:50051", apiKey)
//	...
//	reply, err := client.SendMessage(ctx, req, postwave.IdempotencyKey("order", "42", "receipt"))
package postwave

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/postwave/postwave/clients/go/postwavev1"
)

// Client is a connection to one postwave API server. Its stubs (Send, Events, Admin) are the
// generated clients; every unary call through them carries the API key and is retried as the
// RetryPolicy says.
type Client struct {
	conn   *grpc.ClientConn
	retry  RetryPolicy
	Send   postwavev1.SendServiceClient
	Events postwavev1.EventServiceClient
	Admin  postwavev1.AdminServiceClient
}

type options struct {
	creds credentials.TransportCredentials
	retry RetryPolicy
	extra []grpc.DialOption
}

// Option configures Dial.
type Option func(*options)

// WithTransportCredentials sets TLS credentials; the default is a plaintext connection.
func WithTransportCredentials(creds credentials.TransportCredentials) Option {
	return func(o *options) { o.creds = creds }
}

// WithRetryPolicy replaces DefaultRetryPolicy; NoRetry turns retries off.
func WithRetryPolicy(policy RetryPolicy) Option {
	return func(o *options) { o.retry = policy }
}

// WithDialOptions adds raw gRPC dial options.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.extra = append(o.extra, opts...) }
}

// Dial creates a client of the server at target ("host:port") that authenticates with apiKey.
func Dial(target, apiKey string, opts ...Option) (*Client, error) {
	o := options{creds: insecure.NewCredentials(), retry: DefaultRetryPolicy}
	for _, opt := range opts {
		opt(&o)
	}
	secure := o.creds.Info().SecurityProtocol != "insecure"
	dial := append([]grpc.DialOption{
		grpc.WithTransportCredentials(o.creds),
		grpc.WithPerRPCCredentials(bearer{key: apiKey, secure: secure}),
		grpc.WithChainUnaryInterceptor(o.retry.unaryInterceptor()),
	}, o.extra...)
	conn, err := grpc.NewClient(target, dial...)
	if err != nil {
		return nil, fmt.Errorf("postwave: %w", err)
	}
	return &Client{
		conn:   conn,
		retry:  o.retry,
		Send:   postwavev1.NewSendServiceClient(conn),
		Events: postwavev1.NewEventServiceClient(conn),
		Admin:  postwavev1.NewAdminServiceClient(conn),
	}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// SendMessage accepts one request. idempotencyKey becomes its send_id; when both are empty a
// random key is used, so that a retry can never deliver the message twice.
func (c *Client) SendMessage(ctx context.Context, req *postwavev1.SendRequest, idempotencyKey string) (*postwavev1.SendResponse, error) {
	req, err := withSendID(req, idempotencyKey)
	if err != nil {
		return nil, err
	}
	return c.Send.Send(ctx, req)
}

// GetStatus returns a message's state, delivery attempts and events.
func (c *Client) GetStatus(ctx context.Context, messageID string) (*postwavev1.MessageStatus, error) {
	return c.Send.GetStatus(ctx, &postwavev1.GetStatusRequest{MessageId: messageID})
}

// bearer puts "authorization: Bearer <key>" on every call.
type bearer struct {
	key    string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.key}, nil
}

func (b bearer) RequireTransportSecurity() bool { return b.secure }
