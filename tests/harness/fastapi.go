package harness

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FakeFastAPIDataPath is where StartFakeFastAPI serves the data metrics. It
// is not the config's default, so a gateway that ignored
// FASTAPI_DATA_METRICS_PATH would scrape nothing: point it there.
const FakeFastAPIDataPath = "/internal/data-metrics"

// What the fake backend exposes, for tests to compare against.
const (
	// FakeFastAPIRequests is the sum of gatewayz_http_requests_total on
	// /metrics, FakeFastAPIFailedRequests its status="502" series.
	FakeFastAPIRequests       = 50
	FakeFastAPIFailedRequests = 8
	// FakeFastAPIModels is gatewayz_models_available on the data path.
	FakeFastAPIModels = 117
)

// StartFakeFastAPI serves the two Prometheus endpoints the gateway scrapes
// from the GatewayZ backend (/metrics for job gatewayz_production,
// FakeFastAPIDataPath for job gatewayz_data_metrics_production) and returns
// its host:port, the value of FASTAPI_TARGET.
func StartFakeFastAPI(t testing.TB) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, `# HELP gatewayz_http_requests_total Requests served.
# TYPE gatewayz_http_requests_total counter
gatewayz_http_requests_total{route="/v1/chat/completions",status="200"} %d
gatewayz_http_requests_total{route="/v1/chat/completions",status="502"} %d
`, FakeFastAPIRequests-FakeFastAPIFailedRequests, FakeFastAPIFailedRequests)
	})
	mux.HandleFunc(FakeFastAPIDataPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, `# HELP gatewayz_models_available Models the router can serve.
# TYPE gatewayz_models_available gauge
gatewayz_models_available %d
`, FakeFastAPIModels)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}
