package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/metrics"
)

// metricsWaitMax bounds the wait for an asynchronous series (a lag) to reach a value.
const metricsWaitMax = 10 * time.Second

// scrape reads GET /metrics as nobody (no token) and parses it with the client library's
// parser.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := serveAs(h, http.MethodGet, "/metrics")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, rec.Body)
	}
	return fams
}

// value returns the value of the series name whose labels include want (label=value
// pairs): a gauge's or counter's value, a histogram's sample count. It returns -1 when
// the series is absent.
func value(fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(want); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == want[i] && l.GetValue() == want[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

func serveAs(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func mustDate(t *testing.T, s string) ledger.Date {
	t.Helper()
	d, err := ledger.ParseDate(s, "date")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// waitValue polls the series until cond holds, for at most metricsWaitMax.
func waitValue(t *testing.T, h http.Handler, what string, cond func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(metricsWaitMax)
	for {
		fams := scrape(t, h)
		if cond(fams) {
			return fams
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached in %s", what, metricsWaitMax)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMetrics scrapes GET /metrics of a whole node and checks that every series of
// docs/operations.md is there and moves when its cause happens: a commit moves the head,
// the batch and latency histograms and the route's latency; a refused write counts its
// code; a stalled relay and a blocked read model show their lag; a queued request the
// queue depth.
func TestMetrics(t *testing.T) {
	dbURL := testenv.DB(t)
	a := startACNode(t, dbURL)
	h := a.n.handler
	before := scrape(t, h)
	for _, name := range []string{metrics.HeadPosition, metrics.QueueDepth, metrics.CommitBatch, metrics.CommitDuration,
		metrics.RelayLag, metrics.ReadModelLag, metrics.ProjectionLag} {
		if before[name] == nil {
			t.Errorf("series %s is missing", name)
		}
	}
	if got := value(before, metrics.HeadPosition); got != float64(a.head()) {
		t.Errorf("head position %v, want %d", got, a.head())
	}
	for _, p := range []string{"balances", "progress"} {
		if value(before, metrics.ProjectionLag, "projection", p) < 0 {
			t.Errorf("no projection lag of %s", p)
		}
	}

	// The vectors show a series once it was observed: the scrape above is a request.
	if scrape(t, h)[metrics.HTTPDuration] == nil {
		t.Errorf("series %s is missing", metrics.HTTPDuration)
	}

	// A commit: head +1, one more batch and commit latency, the route's latency.
	line := `{"program":"GNBV","year":2024,"source":"NSTW-DTPT","project":"DA1","unit":"062"}`
	if rec := a.do("officer062", http.MethodPost, "/v1/allocations",
		`{"line":`+line+`,"amount":1000,"effective_date":"2024-06-01","decision":"1/QĐ"}`); rec.Code != http.StatusCreated {
		t.Fatalf("allocation: %d %s", rec.Code, rec.Body)
	}
	after := scrape(t, h)
	for _, c := range []struct {
		name   string
		labels []string
	}{
		{metrics.HeadPosition, nil}, {metrics.CommitBatch, nil}, {metrics.CommitDuration, nil},
		{metrics.HTTPDuration, []string{"route", "/v1/allocations", "method", "POST", "status", "201"}},
	} {
		if b, n := value(before, c.name, c.labels...), value(after, c.name, c.labels...); n != max(b, 0)+1 {
			t.Errorf("%s%v: %v before the commit, %v after; want +1", c.name, c.labels, b, n)
		}
	}

	// A refusal: insufficient_funds +1.
	rec := a.do("officer062", http.MethodPost, "/v1/disbursements", `{"line":`+line+`,"amount":999000000000000,"kind":"payment",
		"effective_date":"2024-06-02","payee":"X","voucher":{"office":"KBNN","type":"C2-02a","number":"M1","date":"2024-06-02"}}`)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("over-spending: %d %s", rec.Code, rec.Body)
	}
	refused := scrape(t, h)
	if b, n := value(after, metrics.Refusals, "code", "insufficient_funds"), value(refused, metrics.Refusals, "code", "insufficient_funds"); n != max(b, 0)+1 {
		t.Errorf("refusals{insufficient_funds}: %v before, %v after", b, n)
	}

	// The read model blocked by a lock on its checkpoint: its lag grows, then drains.
	tx, err := a.n.store.Pool().Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), `LOCK TABLE read.checkpoint IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	a.submit(&ledger.Allocate{Line: ledger.Line{Program: "GNBV", Year: 2024, Source: "NSTW-DTPT", Project: "DA1", Unit: "062"},
		Amount: 1000, EffectiveDate: mustDate(t, "2024-06-03"), Decision: "2/QĐ"})
	waitValue(t, h, "read-model lag ≥ 1", func(f map[string]*dto.MetricFamily) bool { return value(f, metrics.ReadModelLag) >= 1 })
	_ = tx.Rollback(context.Background())
	waitValue(t, h, "read-model lag back to 0", func(f map[string]*dto.MetricFamily) bool { return value(f, metrics.ReadModelLag) == 0 })

	// The relay stopped: the next commit is not published and the relay lag shows it.
	waitValue(t, h, "relay lag 0", func(f map[string]*dto.MetricFamily) bool { return value(f, metrics.RelayLag) == 0 })
	a.n.bus.stopRelay()
	<-a.n.bus.relayDone
	a.submit(&ledger.Allocate{Line: ledger.Line{Program: "GNBV", Year: 2024, Source: "NSTW-DTPT", Project: "DA1", Unit: "062"},
		Amount: 1000, EffectiveDate: mustDate(t, "2024-06-04"), Decision: "3/QĐ"})
	if got := value(scrape(t, h), metrics.RelayLag); got != 1 {
		t.Errorf("relay lag with the relay stopped: %v, want 1", got)
	}

	// A request waiting for a sequencer: the queue depth of one that does not run.
	idle := ledger.NewSequencer(ledger.SequencerConfig{Store: a.n.session})
	m := metrics.New(metrics.Sources{Head: func() int64 { return 0 }, QueueDepth: idle.QueueDepth})
	qctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _, _ = idle.Submit(qctx, &ledger.Request{Commands: []ledger.Command{&ledger.Allocate{}}}) }()
	mh := m.Handler()
	waitValue(t, mh, "queue depth 1", func(f map[string]*dto.MetricFamily) bool { return value(f, metrics.QueueDepth) == 1 })

	// No token is needed.
	if rec := serveAs(h, http.MethodGet, "/metrics"); !strings.Contains(rec.Body.String(), "# TYPE ledger_head_position gauge") {
		t.Errorf("exposition lacks the head's TYPE line")
	}
}

// TestMetricsAddr: with --metrics-addr the exposition is served there, without a token,
// and no longer on the API's address.
func TestMetricsAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	s := startServer(t, testenv.DB(t), "--metrics-addr", addr)
	get := func(url string) (int, string) {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("http://" + addr + "/metrics"); code != http.StatusOK || !strings.Contains(body, metrics.HeadPosition+" ") {
		t.Errorf("GET /metrics on --metrics-addr: %d %.200s", code, body)
	}
	if code, _ := get(s.url + "/metrics"); code != http.StatusNotFound {
		t.Errorf("GET /metrics on the API's address with --metrics-addr: %d, want 404", code)
	}
}
