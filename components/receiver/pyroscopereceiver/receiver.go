// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver // import "github.com/gatewayz/otelcol-gatewayz/components/receiver/pyroscopereceiver"

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/xconsumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/gatewayz/otelcol-gatewayz/components/internal/ingress"
	// Linked in with this receiver so that the distribution runs its
	// profiles pipelines without a --feature-gates flag.
	_ "github.com/gatewayz/otelcol-gatewayz/components/internal/defaultgates"
	"github.com/gatewayz/otelcol-gatewayz/components/receiver/pyroscopereceiver/internal/metadata"
)

const ingestPath = "/ingest"

type pyroscopeReceiver struct {
	cfg      *Config
	settings receiver.Settings
	next     xconsumer.Profiles
	obsrecv  *receiverhelper.ObsReport
	respond  ingress.Responder
	scope    scopeInfo
	now      func() time.Time
	// decodeSlots bounds the uploads decoded at once, so that the memory
	// of decoding (buffers, the profile being built: about 0.4 MB for a
	// 30 KB upload) does not grow with the number of clients sending at
	// once. Past that, uploads wait with only their body read (a slow
	// client's body arrives outside the slots).
	decodeSlots chan struct{}

	server     *http.Server
	shutdownWG sync.WaitGroup
}

func newReceiver(cfg *Config, set receiver.Settings, next xconsumer.Profiles) (*pyroscopeReceiver, error) {
	obsrecv, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	return &pyroscopeReceiver{
		cfg:      cfg,
		settings: set,
		next:     next,
		obsrecv:  obsrecv,
		respond:  ingress.NewResponder(set.Logger, "Pyroscope upload", "profiles"),
		scope:    scopeInfo{Name: metadata.ScopeName, Version: set.BuildInfo.Version},
		now:      time.Now,
		// Decoding is CPU-bound: many more at once than cores only add memory.
		decodeSlots: make(chan struct{}, max(2, 2*runtime.GOMAXPROCS(0))),
	}, nil
}

// newServer builds the HTTP server (confighttp's handler chain: client
// info with include_metadata, auth, decompression, body size limit, around
// our route) without binding a listener.
func (r *pyroscopeReceiver) newServer(ctx context.Context, host component.Host) (*http.Server, error) {
	var ext map[component.ID]component.Component
	if host != nil {
		ext = host.GetExtensions()
	}
	mux := http.NewServeMux()
	mux.HandleFunc(ingestPath, r.handleIngest)
	return r.cfg.ToServer(ctx, ext, r.settings.TelemetrySettings, mux)
}

// Start binds the listener (failing if the address is taken) and serves
// /ingest in the background.
func (r *pyroscopeReceiver) Start(ctx context.Context, host component.Host) error {
	srv, err := r.newServer(ctx, host)
	if err != nil {
		return err
	}
	ln, err := r.cfg.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("failed to bind to address %s: %w", r.cfg.NetAddr.Endpoint, err)
	}
	r.server = srv
	r.settings.Logger.Info("Starting Pyroscope ingest receiver", zap.String("endpoint", ln.Addr().String()))
	r.shutdownWG.Go(func() {
		if errHTTP := srv.Serve(ln); errHTTP != nil && !errors.Is(errHTTP, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(errHTTP))
		}
	})
	return nil
}

// Shutdown stops the server gracefully, letting in-flight requests finish.
func (r *pyroscopeReceiver) Shutdown(ctx context.Context) error {
	var err error
	if r.server != nil {
		err = r.server.Shutdown(ctx)
	}
	r.shutdownWG.Wait()
	return err
}

func (r *pyroscopeReceiver) handleIngest(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		r.respond.MethodNotAllowed(w, req, http.MethodPost)
		return
	}
	ctx, err := ingress.CheckTenant(req.Context())
	if err != nil {
		r.respond.Reject(w, err)
		return
	}
	in, err := r.decodeRequest(req)
	if errors.Is(err, errClientGone) {
		return
	}
	if err != nil {
		r.respond.Reject(w, err)
		return
	}

	n := in.profiles.SampleCount()
	if n == 0 {
		// An idle process uploads CPU profiles without samples (and a delta
		// can cancel everything out): nothing to forward.
		w.WriteHeader(http.StatusOK)
		return
	}
	ctx = r.obsrecv.StartProfilesOp(ctx)
	err = r.next.ConsumeProfiles(ctx, in.profiles)
	r.obsrecv.EndProfilesOp(ctx, in.format, n, err)
	if err != nil {
		r.respond.ConsumerError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
