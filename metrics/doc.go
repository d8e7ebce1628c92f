// Package metrics exposes the server's measurements in the Prometheus text format
// (GET /metrics) through the official client library: head position, commit batch sizes
// and latency, the sequencer's queue depth, refusals by code, the lag of the relay, the
// read model and the in-memory projections, and HTTP latency by route.
//
// It is the one package that imports Prometheus (one package per outside technology).
// Nothing here runs on the sequencer's hot path per event: positions and queue depth are
// read from atomics when Prometheus scrapes (Sources), commit figures are observed once
// per batch, and requests once per request. docs/operations.md explains every series and
// the alerts that matter.
package metrics
