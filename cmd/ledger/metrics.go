package main

import (
	"fmt"
	"io"
	"net/http"

	"github.com/vnntp/ledger/api"
	"github.com/vnntp/ledger/metrics"
)

// nodeMetrics returns the metrics of a writing node, read from its sequencer, relay,
// read model and projections at scrape time.
func nodeMetrics(n *node) *metrics.Metrics {
	return metrics.New(metrics.Sources{
		Head:       func() int64 { return n.seq.Head().Position },
		QueueDepth: func() int { return n.seq.QueueDepth() }, // n.seq is made after the metrics
		RelayPublished: func() int64 {
			if r := n.bus.relay.Load(); r != nil {
				return r.Published()
			}
			return 0
		},
		ReadModel:   n.readModel.Position,
		Projections: map[string]func() int64{"balances": n.balances.Position, "progress": n.progress.Position},
	})
}

// exposeMetrics puts m into the API's config: on the API's own address (GET /metrics,
// no token) unless --metrics-addr gives the metrics an address of their own, which the
// caller then serves with serveMetrics.
func exposeMetrics(cfg *Config, ac *api.Config, m *metrics.Metrics) {
	ac.Observer = m
	if cfg.MetricsAddr == "" {
		ac.Metrics = m.Handler()
	}
}

// serveMetrics listens on --metrics-addr, if given, and serves GET /metrics there only.
// It returns a stop function (a no-op without --metrics-addr).
func serveMetrics(cfg *Config, m *metrics.Metrics, stdout io.Writer) (func(), error) {
	if cfg.MetricsAddr == "" {
		return func() {}, nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mcfg := *cfg
	mcfg.HTTPAddr = cfg.MetricsAddr
	srv, url, _, err := startHTTP(&mcfg, mux)
	if err != nil {
		return nil, fmt.Errorf("metrics-addr: %w", err)
	}
	fmt.Fprintf(stdout, "  metrics:   %s/metrics\n", url)
	return func() { _ = srv.Close() }, nil
}
