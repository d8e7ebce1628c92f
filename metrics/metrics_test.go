package metrics

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestLagsFollowPositions: each lag is the head minus the consumer's position, read at
// scrape time, and never negative; observations land in their series.
func TestLagsFollowPositions(t *testing.T) {
	var head, relay, rm, bal atomic.Int64
	m := New(Sources{Head: head.Load, RelayPublished: relay.Load, ReadModel: rm.Load,
		Projections: map[string]func() int64{"balances": bal.Load}})
	m.Batch(3, 2*time.Millisecond)
	m.Request("", "GET", 404, time.Millisecond)
	m.Refused("not_found")
	head.Store(10)
	relay.Store(7)
	rm.Store(12) // a consumer ahead of the head it was read with: lag 0, not -2
	bal.Store(4)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{HeadPosition: 10, RelayLag: 3, ReadModelLag: 0, ProjectionLag: 6} {
		if f := fams[name]; f == nil || f.GetMetric()[0].GetGauge().GetValue() != want {
			t.Errorf("%s = %v, want %v", name, f, want)
		}
	}
	if fams[QueueDepth] != nil {
		t.Errorf("queue depth without a source: %v", fams[QueueDepth])
	}
	if f := fams[CommitBatch]; f == nil || f.GetMetric()[0].GetHistogram().GetSampleSum() != 3 {
		t.Errorf("batch: %v", f)
	}
	if f := fams[HTTPDuration]; f == nil || f.GetMetric()[0].GetLabel()[1].GetValue() != unmatchedRoute {
		t.Errorf("http: %v", f)
	}
	if f := fams[Refusals]; f == nil || f.GetMetric()[0].GetCounter().GetValue() != 1 {
		t.Errorf("refusals: %v", f)
	}
}

// TestGrafanaDashboardUsesTheSeries: deploy/grafana/ledger-dashboard.json is JSON and
// charts every series this package exports, by the names it exports.
func TestGrafanaDashboardUsesTheSeries(t *testing.T) {
	b, err := os.ReadFile("../deploy/grafana/ledger-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Targets []struct{ Expr string } `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	var exprs strings.Builder
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs.WriteString(tg.Expr + "\n")
		}
	}
	for _, name := range []string{HeadPosition, QueueDepth, CommitBatch, CommitDuration, Refusals, RelayLag, ReadModelLag,
		ProjectionLag, HTTPDuration} {
		if !strings.Contains(exprs.String(), name) {
			t.Errorf("the dashboard does not chart %s", name)
		}
	}
}
