package loadgen

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// rawCodec sends a prepared protobuf body as it is and hands the answer
// back undecoded: marshalling pdata for every request would make the
// generator, not the collector, the thing measured.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

// Name is the content subtype the receiver expects (application/grpc+proto).
func (rawCodec) Name() string { return "proto" }

// grpcTarget is one connection shared by a kind's workers (gRPC
// multiplexes them), with the metadata every request carries.
type grpcTarget struct {
	conn   *grpc.ClientConn
	method string
	md     metadata.MD
}

func dialGRPC(o Options, method string) (*grpcTarget, error) {
	conn, err := grpc.NewClient(o.Target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{}), grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		return nil, fmt.Errorf("%s: dialling %s: %w", o.Kind, o.Target, err)
	}
	md := metadata.MD{}
	if o.Tenant != "" {
		md.Set("X-Scope-OrgID", o.Tenant)
	}
	if o.Token != "" {
		md.Set("Authorization", "Bearer "+o.Token)
	}
	return &grpcTarget{conn: conn, method: method, md: md}, nil
}

// call sends body and returns the raw answer or the refusal.
func (g *grpcTarget) call(ctx context.Context, body []byte, resp *[]byte) outcome {
	ctx = metadata.NewOutgoingContext(ctx, g.md)
	err := g.conn.Invoke(ctx, g.method, &body, resp)
	if err == nil {
		return outcome{}
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.ResourceExhausted:
		return outcome{refused: true, retryAfter: grpcRetryDelay(err), err: err}
	}
	return outcome{err: err}
}

// grpcRetryDelay is the server's RetryInfo delay, if it sent one.
func grpcRetryDelay(err error) time.Duration {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

func (g *grpcTarget) close() { _ = g.conn.Close() }
