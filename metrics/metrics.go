package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Names of the series, as docs/operations.md and deploy/grafana-dashboard.json use them.
const (
	HeadPosition     = "ledger_head_position"
	QueueDepth       = "ledger_sequencer_queue_depth"
	CommitBatch      = "ledger_commit_batch_events"
	CommitDuration   = "ledger_commit_duration_seconds"
	Refusals         = "ledger_refusals_total"
	RelayLag         = "ledger_relay_lag_events"
	ReadModelLag     = "ledger_read_model_lag_events"
	ProjectionLag    = "ledger_projection_lag_events"
	HTTPDuration     = "ledger_http_request_duration_seconds"
	SnapshotPosition = "ledger_snapshot_position"
	SnapshotTime     = "ledger_snapshot_timestamp_seconds"
	SnapshotBytes    = "ledger_snapshot_bytes"
	SnapshotDuration = "ledger_snapshot_duration_seconds"
	unmatchedRoute   = "unmatched" // the route label of a request that matched no route
	commitBatchMax   = 8192        // the largest bucket bound: ledger.BatchMaxEvents
	commitBatchStart = 1
)

// Sources reads the positions and the queue when Prometheus scrapes. Every function must
// be safe for concurrent use and cheap (an atomic load); a nil function leaves its series
// out (a replica has no sequencer queue, a writer without NATS no relay).
type Sources struct {
	// Head is the writer's (or the replica's) last committed position.
	Head func() int64
	// QueueDepth is how many requests wait for the sequencer.
	QueueDepth func() int
	// RelayPublished is the last position the relay published on NATS.
	RelayPublished func() int64
	// ReadModel is the last position folded into the read-model tables (schema read).
	ReadModel func() int64
	// Projections are the in-memory projections by name (balances, progress): the last
	// position each has folded.
	Projections map[string]func() int64
}

// Metrics holds the registry and the series observed by the writer and the API. It is
// safe for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	batch    prometheus.Histogram
	commit   prometheus.Histogram
	refusals *prometheus.CounterVec
	http     *prometheus.HistogramVec
	// The newest snapshot loaded or taken (all 0 until there is one).
	snapPos, snapTime, snapBytes, snapDuration prometheus.Gauge
}

// New returns the metrics of one server reading src, with Go's runtime and process
// series besides.
func New(src Sources) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{Name: CommitBatch,
			Help:    "Events per group commit of the single writer.",
			Buckets: prometheus.ExponentialBucketsRange(commitBatchStart, commitBatchMax, 14)}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: CommitDuration,
			Help:    "Time to append one group commit to PostgreSQL (COPY and COMMIT).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: Refusals,
			Help: "Requests answered with a problem, by its stable code (insufficient_funds, forbidden, rate_limited, ...)."},
			[]string{"code"}),
		http: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: HTTPDuration,
			Help:    "HTTP request latency by route pattern, method and status.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"route", "method", "status"}),
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	}
	m.snapPos = gauge(SnapshotPosition, "Position of the newest snapshot loaded or taken.")
	m.snapTime = gauge(SnapshotTime, "When the newest snapshot was taken (Unix seconds); its age is time() minus this.")
	m.snapBytes = gauge(SnapshotBytes, "Size of the newest snapshot.")
	m.snapDuration = gauge(SnapshotDuration, "Time the newest snapshot took to fold and encode.")
	m.reg.MustRegister(m.batch, m.commit, m.refusals, m.http, &positions{src: src},
		m.snapPos, m.snapTime, m.snapBytes, m.snapDuration, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the exposition (GET /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Batch records one group commit: its events and the time its Append took. The
// sequencer calls it once per batch (ledger.SequencerConfig.OnBatch).
func (m *Metrics) Batch(events int, commit time.Duration) {
	m.batch.Observe(float64(events))
	m.commit.Observe(commit.Seconds())
}

// Request records one HTTP request. route is the route pattern ("/v1/lines/:line_id"),
// never the raw path, so that the label set stays bounded; "" counts as unmatched.
func (m *Metrics) Request(route, method string, status int, d time.Duration) {
	if route == "" {
		route = unmatchedRoute
	}
	m.http.WithLabelValues(route, method, strconv.Itoa(status)).Observe(d.Seconds())
}

// Snapshot records the newest snapshot: its position, when it was taken, its size and
// how long it took.
func (m *Metrics) Snapshot(position int64, takenAt time.Time, size int64, took time.Duration) {
	m.snapPos.Set(float64(position))
	m.snapTime.Set(float64(takenAt.UnixNano()) / 1e9)
	m.snapBytes.Set(float64(size))
	m.snapDuration.Set(took.Seconds())
}

// Refused counts one request answered with the problem code.
func (m *Metrics) Refused(code string) { m.refusals.WithLabelValues(code).Inc() }

// positions reads Sources at scrape time.
type positions struct{ src Sources }

var (
	headDesc       = prometheus.NewDesc(HeadPosition, "Last committed ledger position.", nil, nil)
	queueDesc      = prometheus.NewDesc(QueueDepth, "Write requests waiting for the single writer (bounded by ledger.QueueMax).", nil, nil)
	relayDesc      = prometheus.NewDesc(RelayLag, "Events committed but not yet published on NATS by the relay.", nil, nil)
	readModelDesc  = prometheus.NewDesc(ReadModelLag, "Events committed but not yet in the read-model tables (schema read).", nil, nil)
	projectionDesc = prometheus.NewDesc(ProjectionLag, "Events committed but not yet folded by an in-memory projection.", []string{"projection"}, nil)
)

func (p *positions) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{headDesc, queueDesc, relayDesc, readModelDesc, projectionDesc} {
		ch <- d
	}
}

func (p *positions) Collect(ch chan<- prometheus.Metric) {
	if p.src.Head == nil {
		return
	}
	head := p.src.Head()
	lag := func(pos int64) float64 { return float64(max(head-pos, 0)) }
	ch <- prometheus.MustNewConstMetric(headDesc, prometheus.GaugeValue, float64(head))
	if f := p.src.QueueDepth; f != nil {
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(f()))
	}
	if f := p.src.RelayPublished; f != nil {
		ch <- prometheus.MustNewConstMetric(relayDesc, prometheus.GaugeValue, lag(f()))
	}
	if f := p.src.ReadModel; f != nil {
		ch <- prometheus.MustNewConstMetric(readModelDesc, prometheus.GaugeValue, lag(f()))
	}
	for name, f := range p.src.Projections {
		ch <- prometheus.MustNewConstMetric(projectionDesc, prometheus.GaugeValue, lag(f()), name)
	}
}
