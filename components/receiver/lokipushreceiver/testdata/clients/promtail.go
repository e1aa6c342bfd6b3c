// Copyright The otelcol-gatewayz Authors
// SPDX-License-Identifier: Apache-2.0

//go:build ignore

// Command promtail writes a Promtail-style Loki push body to stdout: a
// logproto PushRequest (github.com/grafana/loki/pkg/push), marshalled and
// snappy-compressed in block format, as Promtail's client sends it with
// "Content-Type: application/x-protobuf" and no Content-Encoding.
//
// The checked-in fixture promtail_push.pb.snappy was made with
//
//	go run ./components/receiver/lokipushreceiver/testdata/clients/promtail.go \
//	  -ts 1764213941000000000 > components/receiver/lokipushreceiver/testdata/clients/promtail_push.pb.snappy
//
// An end-to-end test wants fresh timestamps (Loki rejects samples older than
// reject_old_samples_max_age), so run it without -ts, then e.g.
//
//	curl -sS -H 'Content-Type: application/x-protobuf' -H 'X-Scope-OrgID: tenant-a' \
//	  --data-binary @body.bin http://localhost:3100/loki/api/v1/push
package main

import (
	"flag"
	"log"
	"os"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
)

func main() {
	tsFlag := flag.Int64("ts", 0, "timestamp of the first entry in Unix nanoseconds (default: now)")
	flag.Parse()
	base := time.Now()
	if *tsFlag != 0 {
		base = time.Unix(0, *tsFlag)
	}
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }

	// Promtail sends labels as Prometheus labels.String(): sorted names,
	// `name="value"` joined by ", ".
	req := push.PushRequest{Streams: []push.Stream{
		{
			Labels: `{filename="/var/log/gatewayz/api.log", job="gatewayz-api", k8s_namespace_name="gatewayz", level="info"}`,
			Entries: []push.Entry{
				{Timestamp: at(0), Line: `{"level":"info","msg":"request served","method":"GET","path":"/v1/quote","status":200,"duration_ms":12.5,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}`},
				{Timestamp: at(1), Line: `{"level":"info","msg":"request served","method":"POST","path":"/v1/orders","status":201,"duration_ms":48.1,"trace_id":"5b8aa5a2d2c872e8321cf37308d69df2","span_id":"051581bf3cb55c13"}`},
			},
		},
		{
			Labels: `{filename="/var/log/gatewayz/worker.log", job="gatewayz-worker", k8s_namespace_name="gatewayz"}`,
			Entries: []push.Entry{
				{
					Timestamp: at(2),
					Line:      "level=error msg=\"settlement failed\" order=8812 err=\"upstream timeout\"",
					StructuredMetadata: push.LabelsAdapter{
						{Name: "level", Value: "error"},
						{Name: "pod", Value: "gatewayz-worker-6f7c9d-x2v4q"},
						{Name: "trace_id", Value: "0af7651916cd43dd8448eb211c80319c"},
					},
				},
			},
		},
	}}
	b, err := req.Marshal()
	if err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stdout.Write(snappy.Encode(nil, b)); err != nil {
		log.Fatal(err)
	}
}
