// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

package pyroscopereceiver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/grafana/pyroscope-go/upstream"
	"github.com/grafana/pyroscope-go/upstream/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/consumer/xconsumer"
	"go.opentelemetry.io/collector/pdata/pprofile"
)

type recLogger struct {
	mu     sync.Mutex
	errors []string
}

func (*recLogger) Infof(string, ...any)  {}
func (*recLogger) Debugf(string, ...any) {}
func (l *recLogger) Errorf(f string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errors = append(l.errors, fmt.Sprintf(f, a...))
}

// TestPyroscopeGoUploader sends profiles with pyroscope-go's own uploader
// (upstream/remote, the code every pyroscope-go app runs) to the receiver
// behind the full confighttp server.
func TestPyroscopeGoUploader(t *testing.T) {
	var mu sync.Mutex
	var got []pprofile.Profiles
	var tenants []string
	next, err := xconsumer.NewProfiles(func(ctx context.Context, pd pprofile.Profiles) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, pd)
		tenants = append(tenants, client.FromContext(ctx).Metadata.Get("X-Scope-OrgID")...)
		return nil
	})
	require.NoError(t, err)
	srv := httptest.NewServer(newTestReceiver(t, next, func(c *Config) { c.IncludeMetadata = true }).h)
	defer srv.Close()
	base := srv.URL

	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	logger := &recLogger{}
	up, err := remote.NewRemote(remote.Config{
		Address:    base,
		TenantID:   "team-a",
		Threads:    1,
		Timeout:    10 * time.Second,
		Logger:     logger,
		HTTPClient: &http.Client{Transport: transport, Timeout: 10 * time.Second},
	})
	require.NoError(t, err)
	up.Start()

	start := time.Unix(1_700_000_000, 0)
	name := "checkout{__session_id__=0a1b2c3d4e5f6071,env=prod}"
	cpu := realCPUProfile(t)
	up.Upload(&upstream.UploadJob{
		Name: name, StartTime: start, EndTime: start.Add(15 * time.Second), SpyName: "gospy",
		SampleRate: 100, Units: "samples", AggregationType: "sum", Format: upstream.FormatPprof, Profile: cpu,
	})
	heap := realHeapProfile(t)
	up.Upload(&upstream.UploadJob{
		Name: name, StartTime: start, EndTime: start.Add(15 * time.Second), SpyName: "gospy",
		SampleRate: 100, Format: upstream.FormatPprof, Profile: heap,
		SampleTypeConfig: map[string]*upstream.SampleType{
			"alloc_objects": {Units: "objects"}, "alloc_space": {Units: "bytes"},
			"inuse_space": {Units: "bytes", Aggregation: "average"}, "inuse_objects": {Units: "objects", Aggregation: "average"},
		},
	})
	up.Flush()
	up.Stop()

	logger.mu.Lock()
	assert.Empty(t, logger.errors)
	logger.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 2)
	assert.Equal(t, []string{"team-a", "team-a"}, tenants)
	byTypes := map[int]pprofile.Profiles{}
	for _, pd := range got {
		byTypes[pd.ResourceProfiles().At(0).ScopeProfiles().At(0).Profiles().Len()] = pd
		assert.Equal(t, map[string]any{
			"service.name": "checkout", "env": "prod", "pyroscope.session_id": "0a1b2c3d4e5f6071", "pyroscope.spy_name": "gospy",
		}, resourceAttrs(pd))
	}
	// CPU: samples/count only (Pyroscope derives the nanoseconds); heap:
	// its four sample types.
	require.Contains(t, byTypes, 1)
	require.Contains(t, byTypes, 4)
	requireSameProfile(t, mustParse(t, cpu), byTypes[1], "cpu/nanoseconds")
	requireSameProfile(t, mustParse(t, heap), byTypes[4])
}
