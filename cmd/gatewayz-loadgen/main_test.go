package main

import (
	"io"
	"strings"
	"testing"

	"github.com/gatewayz/otelcol-gatewayz/internal/loadgen"
)

func TestParseSend(t *testing.T) {
	_, opts, err := parseSend([]string{"-kinds", "traces,pyroscope,loki-json", "-rate", "100,pyroscope=0.5",
		"-duration", "3s", "-workers", "2", "-batch", "10", "-tenant", "acme", "-token", "tok", "-loki", "http://127.0.0.1:13100"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(opts) != 3 {
		t.Fatalf("%d runs, want 3: %+v", len(opts), opts)
	}
	want := map[loadgen.Kind]struct {
		target string
		rate   float64
	}{
		loadgen.Traces:    {"127.0.0.1:4317", 100},
		loadgen.Pyroscope: {"http://127.0.0.1:4040", 0.5},
		loadgen.LokiJSON:  {"http://127.0.0.1:13100", 100},
	}
	for _, o := range opts {
		w := want[o.Kind]
		if o.Target != w.target || o.Rate != w.rate || o.Duration.Seconds() != 3 || o.Workers != 2 ||
			o.BatchSize != 10 || o.Tenant != "acme" || o.Token != "tok" {
			t.Errorf("%s: %+v, want target %s rate %v and the flags' other values", o.Kind, o, w.target, w.rate)
		}
	}
}

func TestParseSendErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-kinds", "traces,spans"}, `unknown kind "spans"`},
		{[]string{"-kinds", "logs,logs"}, "logs twice"},
		{[]string{"-kinds", "logs,traces", "-target", "x:1"}, "-target needs exactly one kind"},
		{[]string{"-rate", "fast"}, `"fast" is not a rate`},
		{[]string{"-rate", "-3"}, `"-3" is not a rate`},
		{[]string{"-rate", "10,profiles=1"}, `unknown kind "profiles"`},
		{[]string{"-kinds", "none"}, "nothing to do"},
		{[]string{"traces"}, "unexpected arguments"},
	} {
		_, _, err := parseSend(tc.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseSend(%q) = %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}
