// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

// Package ingress is the answer path the gateway's HTTP push receivers
// (lokipush, pyroscope) share, so that a client sees one status policy and
// one wording whichever protocol it speaks: a request rejected as a whole is
// an *Error with its status, a pipeline's refusal is 400 when it is
// permanent and 503 with Retry-After otherwise, and every rejection is
// logged at debug level the same way.
package ingress // import "github.com/gatewayz/otelcol-gatewayz/components/internal/ingress"

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"

	"github.com/gatewayz/otelcol-gatewayz/components/internal/tenant"
)

// RetryAfter is the default delay a refused client is told to wait (the
// backpressure processor's retry_after, which sends it as gRPC RetryInfo;
// ConsumerError uses it when a refusal carries none). A retryable refusal
// comes from the memory_limiter or a full sending queue, which clear at the
// speed the backends accept data, not within a second; 5 s is also what the
// backends behind the gateway tell their own writers (Mimir's distributor
// about 6 s, Thanos 5 s), so a client slows down alike whichever of them is
// the bottleneck, and many clients retrying every second cannot pile onto a
// gateway that is already refusing.
const RetryAfter = 5 * time.Second

// RetryAfterSeconds is RetryAfter as a Retry-After header value.
var RetryAfterSeconds = retryAfterHeader(RetryAfter)

func retryAfterHeader(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10)
}

// Error is a request rejected as a whole, answered with Status and Msg as
// plain text.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Errorf returns an *Error with status and a formatted message.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// BadRequest is Errorf with 400.
func BadRequest(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, format, args...)
}

// TooLarge is Errorf with 413.
func TooLarge(format string, args ...any) *Error {
	return Errorf(http.StatusRequestEntityTooLarge, format, args...)
}

// UnsupportedMediaType is Errorf with 415.
func UnsupportedMediaType(format string, args ...any) *Error {
	return Errorf(http.StatusUnsupportedMediaType, format, args...)
}

// Responder answers and logs the requests of one receiver.
type Responder struct {
	logger *zap.Logger
	// request names what is rejected in log messages ("Loki push request").
	request string
	// signal names what the pipeline refuses ("logs", "profiles").
	signal string
}

// NewResponder returns a Responder logging to logger.
func NewResponder(logger *zap.Logger, request, signal string) Responder {
	return Responder{logger: logger, request: request, signal: signal}
}

// CheckTenant validates the X-Scope-OrgID that include_metadata passes on
// (see tenant.CheckClientMetadata); a bad one is a 400 *Error. Call it
// before reading the body: a client must not be told its data was accepted
// when the backend will refuse the tenant.
func CheckTenant(ctx context.Context) (context.Context, error) {
	ctx, err := tenant.CheckClientMetadata(ctx)
	if err != nil {
		return ctx, &Error{Status: http.StatusBadRequest, Msg: err.Error()}
	}
	return ctx, nil
}

// Reject answers err with its status when it is an *Error, else with 400
// (a decoder's error is the client's fault unless it says otherwise).
func (r Responder) Reject(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	if e, ok := errors.AsType[*Error](err); ok {
		status = e.Status
	}
	r.write(w, status, err.Error())
}

// MethodNotAllowed answers 405 for a method other than allowed (the first
// is the one the message suggests).
func (r Responder) MethodNotAllowed(w http.ResponseWriter, req *http.Request, allowed ...string) {
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	r.write(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on %s: use %s", req.Method, req.URL.Path, allowed[0]))
}

// ConsumerError answers the error of the next consumer: a permanent one
// will fail again, so 400 tells the client not to retry; anything else
// (memory_limiter, a full queue) is 503 with Retry-After: the delay the
// refusal's gRPC RetryInfo names (the backpressure processor's
// retry_after), else RetryAfter.
func (r Responder) ConsumerError(w http.ResponseWriter, err error) {
	if consumererror.IsPermanent(err) {
		r.write(w, http.StatusBadRequest, fmt.Sprintf("the pipeline rejected the %s permanently: %v", r.signal, err))
		return
	}
	w.Header().Set("Retry-After", retryAfterOf(err))
	r.write(w, http.StatusServiceUnavailable, fmt.Sprintf("the pipeline refused the %s, retry later: %v", r.signal, err))
}

func (r Responder) write(w http.ResponseWriter, status int, msg string) {
	r.logger.Debug("Rejected "+r.request, zap.Int("status", status), zap.String("reason", msg))
	http.Error(w, msg, status)
}

// retryAfterOf is the Retry-After value for a retryable refusal: whole
// seconds of its RetryInfo delay, at least one, else RetryAfterSeconds.
func retryAfterOf(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return RetryAfterSeconds
	}
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return retryAfterHeader(max(ri.GetRetryDelay().AsDuration(), time.Second))
		}
	}
	return RetryAfterSeconds
}
