// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/pyroscopereceiver"

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/xconsumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/gatewayz/otelcol-gatewayz/components/internal/tenant"
	"github.com/gatewayz/otelcol-gatewayz/components/receiver/pyroscopereceiver/internal/metadata"
)

const (
	ingestPath = "/ingest"
	transport  = "http"
	// retryAfterSeconds is sent with 503 when the pipeline refuses data
	// with a retryable error.
	retryAfterSeconds = "5"
)

type pyroscopeReceiver struct {
	cfg      *Config
	settings receiver.Settings
	next     xconsumer.Profiles
	obsrep   *receiverhelper.ObsReport
	scope    scopeInfo
	now      func() int64 // unix nanoseconds; replaced in tests

	server *http.Server
	addr   net.Addr // bound address, set by Start
	wg     sync.WaitGroup
}

func newReceiver(cfg *Config, set receiver.Settings, next xconsumer.Profiles) (*pyroscopeReceiver, error) {
	obsrep, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              transport,
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	return &pyroscopeReceiver{
		cfg:      cfg,
		settings: set,
		next:     next,
		obsrep:   obsrep,
		scope:    scopeInfo{Name: metadata.ScopeName, Version: set.BuildInfo.Version},
		now:      nowNanos,
	}, nil
}

// handler returns the HTTP handler serving POST /ingest, without the
// confighttp middleware (decompression, size limit, client metadata).
func (r *pyroscopeReceiver) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(ingestPath, r.handleIngest)
	return mux
}

// Start binds the listener (failing if the address is taken) and serves
// requests in the background.
func (r *pyroscopeReceiver) Start(ctx context.Context, host component.Host) error {
	ln, err := r.cfg.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("failed to bind to %s: %w", r.cfg.NetAddr.Endpoint, err)
	}
	srv, err := r.cfg.ToServer(ctx, host.GetExtensions(), r.settings.TelemetrySettings, r.handler())
	if err != nil {
		_ = ln.Close()
		return err
	}
	r.server = srv
	r.addr = ln.Addr()
	r.settings.Logger.Info("Starting Pyroscope ingest server", zap.String("endpoint", ln.Addr().String()))
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if serveErr := srv.Serve(ln); serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(serveErr))
		}
	}()
	return nil
}

// Shutdown stops accepting requests and waits for in-flight ones.
func (r *pyroscopeReceiver) Shutdown(ctx context.Context) error {
	if r.server == nil {
		return nil
	}
	err := r.server.Shutdown(ctx)
	r.wg.Wait()
	return err
}

func (r *pyroscopeReceiver) handleIngest(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on %s: use POST", req.Method, ingestPath))
		return
	}
	ctx, err := tenant.CheckClientMetadata(req.Context())
	if err != nil {
		r.settings.Logger.Debug("Rejected Pyroscope upload", zap.Int("status", http.StatusBadRequest), zap.String("reason", err.Error()))
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	in, herr := r.decodeRequest(req)
	if herr != nil {
		r.settings.Logger.Debug("Rejected Pyroscope upload", zap.Int("status", herr.status), zap.String("reason", herr.msg))
		writeError(w, herr.status, herr.msg)
		return
	}

	n := in.profiles.SampleCount()
	if n == 0 {
		// An idle process uploads CPU profiles without samples (and a delta
		// can cancel everything out): nothing to forward.
		w.WriteHeader(http.StatusOK)
		return
	}
	ctx = r.obsrep.StartProfilesOp(ctx)
	err = r.next.ConsumeProfiles(ctx, in.profiles)
	r.obsrep.EndProfilesOp(ctx, in.format, n, err)
	if err != nil {
		if consumererror.IsPermanent(err) {
			writeError(w, http.StatusBadRequest, "profiles rejected by the pipeline: "+err.Error())
			return
		}
		w.Header().Set("Retry-After", retryAfterSeconds)
		writeError(w, http.StatusServiceUnavailable, "profiles not accepted, retry later: "+err.Error())
		return
	}
	w.WriteHeader(http.StatusOK)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	http.Error(w, msg, status)
}
