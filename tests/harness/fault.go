package harness

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
)

// Fault is how a backend stand-in misbehaves, so retry and outage tests
// can take a backend down without pointing the collector at a dead port.
// The zero Fault accepts every request.
type Fault struct {
	// HTTPStatus, when non-zero, answers every HTTP request with it
	// instead of accepting it.
	HTTPStatus int
	// GRPCCode, when not codes.OK, answers every gRPC request with it.
	GRPCCode codes.Code
	// Delay holds every request this long before it is answered (accepted
	// or refused), as a backend under load does.
	Delay time.Duration
	// For ends the fault this long after it is set; 0 keeps it until the
	// next SetFault.
	For time.Duration
}

// faults is the fault state a backend stand-in shares between its
// listeners.
type faults struct {
	mu      sync.Mutex
	fault   Fault
	until   time.Time
	refused int
}

func (f *faults) set(fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = fault
	f.until = time.Time{}
	if fault.For > 0 {
		f.until = time.Now().Add(fault.For)
	}
}

func (f *faults) current() Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.until.IsZero() && time.Now().After(f.until) {
		f.fault = Fault{}
		f.until = time.Time{}
	}
	return f.fault
}

// wait holds the request for the fault's delay and returns the fault.
func (f *faults) wait(ctx context.Context) Fault {
	fault := f.current()
	if fault.Delay > 0 {
		select {
		case <-time.After(fault.Delay):
		case <-ctx.Done():
		}
	}
	return fault
}

// refuseHTTP is the status to refuse an HTTP request with, 0 to accept it.
func (f *faults) refuseHTTP(ctx context.Context) int {
	status := f.wait(ctx).HTTPStatus
	if status != 0 {
		f.countRefusal()
	}
	return status
}

// refuseGRPC is the code to refuse a gRPC request with, codes.OK to accept it.
func (f *faults) refuseGRPC(ctx context.Context) codes.Code {
	code := f.wait(ctx).GRPCCode
	if code != codes.OK {
		f.countRefusal()
	}
	return code
}

func (f *faults) countRefusal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refused++
}

func (f *faults) refusedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refused
}
