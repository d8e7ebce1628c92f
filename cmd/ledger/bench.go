package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Bench defaults (docs/benchmarks.md): the baseline is raw one-row-per-transaction inserts
// with 16 clients; the product is one disbursement per HTTP request with 16, 64 and 256
// clients, then bulk batches, rebuild, start-up, queries and memory on a generated ledger.
const (
	baselineClients      = 16
	benchLines           = 64
	benchLineAmount      = 1_000_000_000_000_000 // đồng per line, far more than a run spends
	benchDisburseDong    = 1_000
	benchSetupTimeout    = 2 * time.Minute
	benchHTTPTimeout     = 30 * time.Second
	benchLatencyPrealloc = 1 << 16
	// rawMultiRows is the size of one multi-row INSERT and of one COPY of the baselines,
	// and bulkBatch the size of one POST /v1/batch: the same rows, the same batch.
	rawMultiRows = 1000
	bulkBatch    = 1000
	bulkClients  = 4
	// Generated ledger sizes: the default, BENCH_QUICK=1 and BENCH_FULL=1.
	benchEvents      = 1_000_000
	benchEventsQuick = 100_000
	benchEventsFull  = 10_000_000
	// benchEventsMax bounds --events.
	benchEventsMax = 100_000_000
	// BENCH_QUICK=1 shortens every measurement to this and runs each once.
	benchQuickDuration = 2 * time.Second
	// Progress queries measured in-process and over HTTP (fewer in quick mode).
	benchQueries      = 2000
	benchQueriesQuick = 300
	// GET /v1/lines?at= requests measured on the generated ledger (fewer in quick mode),
	// each at a random position, one page of benchLinesAtLimit lines.
	benchLinesAtQueries      = 500
	benchLinesAtQueriesQuick = 100
	benchLinesAtLimit        = 100
	// benchStartTimeout bounds the start of the server process on the generated ledger.
	benchStartTimeout = 10 * time.Minute
	// The write path under reads: benchMixedWriters post disbursements while
	// benchMixedReaders read what leaders read, against the same writers alone on the same
	// node; the write p99 may grow by at most benchMixedP99Ratio.
	benchMixedWriters  = 64
	benchMixedReaders  = 16
	benchMixedP99Ratio = 1.2
	// benchFloorClients is the floor's load: the write path's goal load.
	benchFloorClients = 64
)

// benchMixedReads are the reads of the mixed load, taken in turn by each reader: the
// country-wide progress report, the lines, the dashboard's overview page.
var benchMixedReads = []string{"/v1/progress?group_by=district", "/v1/lines", "/"}

// benchClientCounts are the write-path loads measured; the goal is set at 64 clients.
var benchClientCounts = []int{16, 64, 256}

// benchResult is one figure of a run, as printed and written to the result file.
type benchResult struct {
	Name      string  `json:"name"`
	Value     float64 `json:"value"`
	Unit      string  `json:"unit"`
	Baseline  float64 `json:"baseline,omitempty"`
	BaseName  string  `json:"baseline_name,omitempty"`
	Ratio     float64 `json:"ratio,omitempty"`
	Goal      string  `json:"goal,omitempty"`
	Met       *bool   `json:"met,omitempty"` // nil: informational, no goal at this size
	P50Millis float64 `json:"p50_ms,omitempty"`
	P99Millis float64 `json:"p99_ms,omitempty"`
	Runs      int     `json:"runs"`
}

// samples gathers the figures of several runs by name; the median is reported.
type samples map[string][]float64

func (s samples) add(name string, v float64) { s[name] = append(s[name], v) }
func (s samples) med(name string) float64    { return median(s[name]) }

// benchMode is the size of a run, from BENCH_QUICK and BENCH_FULL (and --events).
type benchMode struct {
	name         string
	events       int
	queries      int
	linesQueries int
	// only holds the sections to run (--only); nil runs every one.
	only map[string]bool
}

// runs reports whether section (one of benchSections) is selected.
func (m benchMode) runs(section string) bool { return m.only == nil || m.only[section] }

// generated reports whether a selected section needs the generated ledger.
func (m benchMode) generated() bool {
	return m.runs(benchRebuild) || m.runs(benchServer) || m.runs(benchLinesAt) || m.runs(benchSnapshot)
}

// The sections of `ledger bench`, which --only selects.
const (
	benchRaw      = "raw"       // raw PostgreSQL baselines: INSERT, multi-row INSERT, COPY
	benchWrite    = "write"     // the write path over HTTP at each client count
	benchRule2    = "rule2"     // the write path with availability at the head only, paired
	benchMixed    = "mixed"     // the write path while clients read
	benchBulk     = "bulk"      // POST /v1/batch
	benchFloor    = "floor"     // echo on net/http alone, under the write path's load
	benchLongLine = "long-line" // Decide + Apply on a long line, in-process
	benchRebuild  = "rebuild"   // generated ledger: read-back, rebuild, in-process progress queries
	benchServer   = "server"    // generated ledger: server start-up, relay, memory, progress over HTTP
	benchLinesAt  = "lines-at"  // generated ledger: GET /v1/lines?at= in the server process
	benchSnapshot = "snapshot"  // generated ledger: take a snapshot from scratch; the server then starts from it
)

var benchSections = []string{benchRaw, benchWrite, benchFloor, benchRule2, benchMixed, benchBulk, benchLongLine, benchRebuild, benchServer, benchLinesAt, benchSnapshot}

// parseBenchOnly parses --only: nil for every section.
func parseBenchOnly(v string) (map[string]bool, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	only := map[string]bool{}
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(benchSections, name) {
			return nil, fmt.Errorf("only: %q is not a section; the sections are %s", name, strings.Join(benchSections, ", "))
		}
		only[name] = true
	}
	return only, nil
}

func benchModeOf(cfg *Config) benchMode {
	var m benchMode
	switch {
	case os.Getenv("BENCH_FULL") == "1":
		m = benchMode{"full", benchEventsFull, benchQueries, benchLinesAtQueries, nil}
	case os.Getenv("BENCH_QUICK") == "1":
		cfg.BenchDuration, cfg.BenchRuns = benchQuickDuration, 1
		m = benchMode{"quick", benchEventsQuick, benchQueriesQuick, benchLinesAtQueriesQuick, nil}
	default:
		m = benchMode{"default", benchEvents, benchQueries, benchLinesAtQueries, nil}
	}
	if cfg.BenchEvents > 0 {
		m.events = cfg.BenchEvents
	}
	m.only, _ = parseBenchOnly(cfg.BenchOnly) // checked by Config.finish
	return m
}

// bench measures, in one run on the same PostgreSQL and on scratch databases it creates
// and drops, the raw baselines and the product (docs/benchmarks.md), each throughput the
// median of cfg.BenchRuns runs, and prints every figure with its ratio to its baseline
// and its goal.
func bench(ctx context.Context, cfg *Config, stdout io.Writer) error {
	mode := benchModeOf(cfg)
	started := time.Now()
	fmt.Fprintf(stdout, "ledger bench (%s mode): %d run(s) of %s per measurement, generated ledger of %d events, GOMAXPROCS %d\n",
		mode.name, cfg.BenchRuns, cfg.BenchDuration, mode.events, runtime.GOMAXPROCS(0))
	if mode.only != nil {
		fmt.Fprintf(stdout, "sections: %s\n", cfg.BenchOnly)
	}
	s := samples{}
	lat := samples{}
	clientCounts := benchClientCounts
	if !slices.Contains(clientCounts, cfg.BenchClients) && cfg.BenchClients > 0 {
		clientCounts = append(slices.Clone(clientCounts), cfg.BenchClients)
	}
	scratch := 0
	withDB := func(fn func(dbURL string) error) error {
		scratch++
		dbURL, drop, err := scratchDatabase(ctx, cfg.DatabaseURL, fmt.Sprintf("ledger_bench_%d_%d", os.Getpid(), scratch))
		if err != nil {
			return err
		}
		defer drop()
		return fn(dbURL)
	}
	// record keeps a load's figures under k: rate, cpu, p50 and p99.
	record := func(k string, f loadFigures) {
		s.add(k, f.rate)
		s.add(k+"cpu", f.cpu)
		lat.add(k+"p50", f.p50)
		lat.add(k+"p99", f.p99)
	}
	for run := 1; run <= cfg.BenchRuns && (mode.runs(benchRaw) || mode.runs(benchWrite) || mode.runs(benchFloor) ||
		mode.runs(benchRule2) || mode.runs(benchMixed) || mode.runs(benchBulk)); run++ {
		err := withDB(func(dbURL string) error {
			if !mode.runs(benchRaw) {
				return nil
			}
			raw, err := rawBaselines(ctx, dbURL, cfg.BenchDuration)
			if err != nil {
				return fmt.Errorf("baselines: %w", err)
			}
			for k, v := range raw {
				s.add(k, v)
			}
			fmt.Fprintf(stdout, "run %d: raw single-row %.0f rows/s, multi-row %.0f rows/s, COPY %.0f rows/s\n",
				run, raw["single"], raw["multi"], raw["copy"])
			return nil
		})
		if err != nil {
			return err
		}
		for _, clients := range clientCounts {
			// rule2 pairs its load with the checked load at benchRule2Clients.
			if !mode.runs(benchWrite) && !(mode.runs(benchRule2) && clients == benchRule2Clients) {
				continue
			}
			err := withDB(func(dbURL string) error {
				profile := run == 1 && clients == cfg.BenchClients
				f, err := httpWriteLoad(ctx, cfg, dbURL, clients, profile)
				if err != nil {
					return fmt.Errorf("write path, %d clients: %w", clients, err)
				}
				record(fmt.Sprintf("write%d", clients), f)
				fmt.Fprintf(stdout, "run %d: write path, %d clients: %.0f events/s (p50 %.1f ms, p99 %.1f ms, process CPU %.0f µs/event)\n",
					run, clients, f.rate, f.p50, f.p99, f.cpu)
				return nil
			})
			if err != nil {
				return err
			}
		}
		if mode.runs(benchFloor) {
			profile := "" // the first run's, beside --cpuprofile
			if run == 1 && cfg.CPUProfile != "" {
				profile = cfg.CPUProfile + ".floor"
			}
			f, err := httpFloorLoad(ctx, cfg, benchFloorClients, profile)
			if err != nil {
				return fmt.Errorf("floor: %w", err)
			}
			record("floor", f)
			fmt.Fprintf(stdout, "run %d: floor, echo alone, %d clients: %.0f requests/s (p50 %.1f ms, p99 %.1f ms, process CPU %.0f µs/request)\n",
				run, benchFloorClients, f.rate, f.p50, f.p99, f.cpu)
		}
		err = withDB(func(dbURL string) error {
			if !mode.runs(benchRule2) {
				return nil
			}
			// The same load on a writer that checks availability at the head only: what
			// rule 2 at every business date costs (bench_rule2.go).
			base := *cfg
			base.availabilityAtHeadOnly = true
			f, err := httpWriteLoad(ctx, &base, dbURL, benchRule2Clients, false)
			if err != nil {
				return fmt.Errorf("write path, head-only availability: %w", err)
			}
			record("writeHeadOnly", f)
			// Paired with the checked load of the same run, just before: on a shared
			// machine the load moves more between runs than between two adjacent loads.
			checked := s[fmt.Sprintf("write%d", benchRule2Clients)]
			ratio := checked[len(checked)-1] / f.rate
			s.add("rule2Ratio", ratio)
			fmt.Fprintf(stdout, "run %d: write path, %d clients, availability checked at the head only: %.0f events/s (p50 %.1f ms, p99 %.1f ms); checked / head only %.2f\n",
				run, benchRule2Clients, f.rate, f.p50, f.p99, ratio)
			return nil
		})
		if err != nil {
			return err
		}
		err = withDB(func(dbURL string) error {
			if !mode.runs(benchMixed) {
				return nil
			}
			m, err := httpMixedLoad(ctx, cfg, dbURL)
			if err != nil {
				return fmt.Errorf("write path under reads: %w", err)
			}
			lat.add("mixedAlonep50", m.alone.p50)
			lat.add("mixedAlonep99", m.alone.p99)
			lat.add("mixedReadp50", m.read.p50)
			lat.add("mixedReadp99", m.read.p99)
			s.add("mixedReads", m.readsPerSec)
			fmt.Fprintf(stdout, "run %d: write path, %d clients, p99 %.1f ms alone, %.1f ms while %d clients read (%.0f reads/s): %.2f ×\n",
				run, benchMixedWriters, m.alone.p99, m.read.p99, benchMixedReaders, m.readsPerSec, m.read.p99/m.alone.p99)
			return nil
		})
		if err != nil {
			return err
		}
		err = withDB(func(dbURL string) error {
			if !mode.runs(benchBulk) {
				return nil
			}
			// The first run's bulk load is profiled too: into --cpuprofile when the
			// write path is not measured, beside it (.bulk) when it is.
			profile := ""
			if run == 1 && cfg.CPUProfile != "" {
				profile = cfg.CPUProfile
				if mode.runs(benchWrite) {
					profile += ".bulk"
				}
			}
			f, err := httpBulkLoad(ctx, cfg, dbURL, profile)
			if err != nil {
				return fmt.Errorf("bulk: %w", err)
			}
			record("bulk", f)
			fmt.Fprintf(stdout, "run %d: bulk, %d clients × atomic batches of %d: %.0f events/s (p50 %.1f ms, p99 %.1f ms per batch, process CPU %.1f µs/event)\n",
				run, bulkClients, bulkBatch, f.rate, f.p50, f.p99, f.cpu)
			return nil
		})
		if err != nil {
			return err
		}
	}
	// In-process, alternating, the median of benchLongLineReps each.
	for range benchLongLineReps * boolInt(mode.runs(benchLongLine)) {
		for _, days := range []int{benchLongLineDays, benchLongLineDaysWorst} {
			for _, headOnly := range []bool{false, true} {
				d, err := longLineFigure(headOnly, days)
				if err != nil {
					return err
				}
				lat.add(fmt.Sprintf("longLine%d%v", days, headOnly), float64(d)/float64(time.Microsecond))
			}
		}
	}
	big := &bigResult{}
	if mode.generated() {
		err := withDB(func(dbURL string) error {
			var err error
			big, err = benchGenerated(ctx, cfg, dbURL, mode, stdout)
			return err
		})
		if err != nil {
			return fmt.Errorf("generated ledger: %w", err)
		}
	}
	res := benchResults(cfg, mode, s, lat, big, clientCounts)
	printResults(stdout, cfg, mode, res, time.Since(started))
	if cfg.BenchOut != "" {
		host, _ := os.Hostname()
		b, _ := json.MarshalIndent(map[string]any{"date": time.Now().UTC().Format(time.RFC3339), "mode": mode.name,
			"host": host, "cpus": runtime.NumCPU(), "duration": cfg.BenchDuration.String(), "runs": cfg.BenchRuns,
			"events": mode.events, "only": cfg.BenchOnly, "results": res}, "", "  ")
		if err := os.WriteFile(cfg.BenchOut, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "results written to", cfg.BenchOut)
	}
	return nil
}

// benchResults turns the samples into the figures of docs/benchmarks.md, with their
// baselines, ratios and goals.
func benchResults(cfg *Config, mode benchMode, s, lat samples, big *bigResult, clientCounts []int) []benchResult {
	runs := cfg.BenchRuns
	yes := func(ok bool) *bool { return &ok }
	single, multi, cp := s.med("single"), s.med("multi"), s.med("copy")
	// ratio is a / b, 0 (not shown) without the baseline b: a section not run.
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	var res []benchResult
	if mode.runs(benchRaw) {
		res = append(res,
			benchResult{Name: "baseline: raw one-row-per-transaction INSERT, 16 clients", Value: single, Unit: "rows/s", Runs: runs},
			benchResult{Name: fmt.Sprintf("baseline: raw multi-row INSERT of %d rows, 1 client", rawMultiRows), Value: multi, Unit: "rows/s", Runs: runs},
			benchResult{Name: fmt.Sprintf("baseline: raw COPY of %d rows per transaction, 1 client", rawMultiRows), Value: cp, Unit: "rows/s", Runs: runs})
	}
	if mode.runs(benchRebuild) {
		res = append(res,
			benchResult{Name: "baseline: raw read-back of the events table (undecoded)", Value: big.readRaw, Unit: "rows/s", Runs: runs},
			benchResult{Name: "baseline: raw read-back decoded into structs", Value: big.readDecoded, Unit: "rows/s", Runs: runs})
	}
	for _, c := range clientCounts {
		k := fmt.Sprintf("write%d", c)
		if len(s[k]) == 0 {
			continue
		}
		r := benchResult{Name: fmt.Sprintf("write path over HTTP, %d clients, one disbursement per request", c),
			Value: s.med(k), Unit: "events/s", Baseline: single, BaseName: "raw single-row INSERT", Ratio: ratio(s.med(k), single),
			P50Millis: lat.med(k + "p50"), P99Millis: lat.med(k + "p99"), Runs: runs}
		if c == 64 {
			r.Goal = "≥ 20,000 events/s, p99 ≤ 20 ms, ≥ 1.2 × baseline"
			r.Met = yes(r.Value >= 20_000 && r.P99Millis <= 20 && r.Ratio >= 1.2)
		}
		res = append(res, r)
		if c == 64 {
			res = append(res, benchResult{Name: "process CPU per request of that load (server and load generator)",
				Value: s.med(k + "cpu"), Unit: "µs", Runs: runs})
		}
	}
	if mode.runs(benchFloor) {
		res = append(res, benchResult{Name: fmt.Sprintf("floor: echo on net/http alone, %d clients, the handler holds each request %d ms",
			benchFloorClients, benchFloorWait.Milliseconds()), Value: s.med("floor"), Unit: "requests/s",
			P50Millis: lat.med("floorp50"), P99Millis: lat.med("floorp99"), Runs: runs},
			benchResult{Name: "process CPU per request of the floor (server and load generator)", Value: s.med("floorcpu"), Unit: "µs",
				Baseline: s.med(fmt.Sprintf("write%dcpu", benchFloorClients)), BaseName: "the write path's", Runs: runs,
				Ratio: ratio(s.med("floorcpu"), s.med(fmt.Sprintf("write%dcpu", benchFloorClients)))})
	}
	if checked, head := s.med(fmt.Sprintf("write%d", benchRule2Clients)), s.med("writeHeadOnly"); mode.runs(benchRule2) && head > 0 && checked > 0 {
		ratio := s.med("rule2Ratio") // the median of the runs' paired ratios
		res = append(res, benchResult{Name: fmt.Sprintf("write path, %d clients, availability at every business date (rule 2)", benchRule2Clients),
			Value: checked, Unit: "events/s", Baseline: head, BaseName: "availability at the head only (median of paired runs)", Ratio: ratio,
			P50Millis: lat.med(fmt.Sprintf("write%dp50", benchRule2Clients)), P99Millis: lat.med(fmt.Sprintf("write%dp99", benchRule2Clients)), Runs: runs,
			Goal: fmt.Sprintf("≥ %.2f × head only", 1-benchRule2MaxSlowdown), Met: yes(ratio >= 1-benchRule2MaxSlowdown)})
	}
	for _, days := range []int{benchLongLineDays, benchLongLineDaysWorst} {
		if !mode.runs(benchLongLine) {
			break
		}
		checked, head := lat.med(fmt.Sprintf("longLine%dfalse", days)), lat.med(fmt.Sprintf("longLine%dtrue", days))
		res = append(res, benchResult{Name: fmt.Sprintf("Decide + Apply of a back-dated payment on a line of %d events over %d dates, in-process",
			benchLongLineEvents, min(days, benchLongLineEvents)), Value: checked, Unit: "µs", Baseline: head,
			BaseName: "head-only check", Ratio: checked / head, Runs: benchLongLineReps})
	}
	alone, read := lat.med("mixedAlonep99"), lat.med("mixedReadp99")
	if mode.runs(benchMixed) {
		res = append(res, benchResult{Name: fmt.Sprintf("write path p99, %d clients, while %d clients read (progress, lines, overview)", benchMixedWriters, benchMixedReaders),
			Value: read, Unit: "ms p99", P50Millis: lat.med("mixedReadp50"), P99Millis: read, Baseline: alone,
			BaseName: "p99 without readers, same node", Ratio: read / alone, Runs: runs,
			Goal: fmt.Sprintf("≤ %.1f × p99 without readers", benchMixedP99Ratio), Met: yes(read/alone <= benchMixedP99Ratio)},
			benchResult{Name: fmt.Sprintf("reads during that load, %d clients", benchMixedReaders), Value: s.med("mixedReads"),
				Unit: "requests/s", Runs: runs})
	}
	if mode.runs(benchBulk) {
		res = append(res, benchResult{Name: fmt.Sprintf("bulk: POST /v1/batch, atomic batches of %d, %d clients", bulkBatch, bulkClients),
			Value: s.med("bulk"), Unit: "events/s", Baseline: cp, BaseName: "raw COPY", Ratio: ratio(s.med("bulk"), cp),
			P50Millis: lat.med("bulkp50"), P99Millis: lat.med("bulkp99"), Runs: runs,
			Goal: "≥ 100,000 events/s, ≥ 0.55 × COPY", Met: yes(s.med("bulk") >= 100_000 && s.med("bulk")/cp >= 0.55)},
			benchResult{Name: "process CPU per event of the bulk load (server and load generator)", Value: s.med("bulkcpu"), Unit: "µs", Runs: runs})
	}
	if mode.runs(benchRebuild) {
		res = append(res, benchResult{Name: "rebuild: store → ledger.State + projections.Progress", Value: big.rebuild, Unit: "events/s",
			Baseline: big.readDecoded, BaseName: "decoded read-back", Ratio: big.rebuild / big.readDecoded, Runs: runs,
			Goal: "≥ 500,000 events/s, ≥ 0.70 × decoded read-back", Met: yes(big.rebuild >= 500_000 && big.rebuild/big.readDecoded >= 0.7)})
	}
	at := fmt.Sprintf("at %d events", mode.events)
	full := mode.events >= benchEventsFull
	goalOrScaled := func(goal string, ok bool) (string, *bool) {
		if full {
			return goal, yes(ok)
		}
		return goal + " (set at 10 M events; informational here)", nil
	}
	if !mode.generated() {
		return res
	}
	if mode.runs(benchSnapshot) {
		res = append(res, benchResult{Name: "snapshot from scratch: fold + encode, " + at, Value: big.snapTake.Seconds(), Unit: "s", Runs: 1},
			benchResult{Name: "snapshot: store in PostgreSQL", Value: big.snapStore.Seconds(), Unit: "s", Runs: 1},
			benchResult{Name: "snapshot size, " + at, Value: float64(big.snapBytes) / 1e6, Unit: "MB", Runs: 1})
	}
	if mode.runs(benchLinesAt) {
		g, met := goalOrScaled("p99 ≤ 50 ms", big.linesAtP99 <= 50)
		res = append(res, benchResult{Name: fmt.Sprintf("GET /v1/lines?at=<random position>&limit=%d, server process, ", benchLinesAtLimit) + at,
			Value: big.linesAtP99, Unit: "ms p99", P50Millis: big.linesAtP50, P99Millis: big.linesAtP99, Runs: 1, Goal: g, Met: met})
	}
	if mode.runs(benchRebuild) {
		g, met := goalOrScaled("p99 ≤ 1 ms", big.qInP99 <= 1)
		res = append(res, benchResult{Name: "progress query district × project, random as_of, in-process, " + at, Value: big.qInP99, Unit: "ms p99",
			P50Millis: big.qInP50, P99Millis: big.qInP99, Runs: 1, Goal: g, Met: met})
	}
	if !mode.runs(benchServer) {
		return append(res, benchResult{Name: "generate + append (Restore, COPY of 10,000) of the ledger", Value: big.restore, Unit: "events/s", Runs: 1})
	}
	g, met := goalOrScaled("≤ 5 s to serving", big.startup.Seconds() <= 5)
	from := "from the first event (no snapshot section)"
	if mode.runs(benchSnapshot) {
		from = "from the snapshot"
	}
	res = append(res, benchResult{Name: "start-up to serving, server process, " + from + ", " + at, Value: big.startup.Seconds(), Unit: "s", Runs: 1, Goal: g, Met: met})
	res = append(res, benchResult{Name: "relay catch-up to NATS after start, " + at, Value: big.relayCatchUp.Seconds(), Unit: "s", Runs: 1})
	g, met = goalOrScaled("p99 ≤ 3 ms", big.qHTTPP99 <= 3)
	res = append(res, benchResult{Name: "progress query district × project, random as_of, GET /v1/progress, " + at, Value: big.qHTTPP99, Unit: "ms p99",
		P50Millis: big.qHTTPP50, P99Millis: big.qHTTPP99, Runs: 1, Goal: g, Met: met})
	g, met = goalOrScaled("≤ 1.5 GB resident", big.rssBytes <= 1.5e9)
	res = append(res, benchResult{Name: "resident memory of the server process (VmRSS) at serving, before the relay's catch-up to a new NATS store, " + at,
		Value: big.rssServingBytes / 1e6, Unit: "MB", Runs: 1})
	res = append(res, benchResult{Name: "resident memory of the server process (VmRSS) after start and the relay's catch-up, " + at, Value: big.rssBytes / 1e6, Unit: "MB", Runs: 1, Goal: g, Met: met})
	g, met = goalOrScaled("≤ 1.5 GB resident", big.rssAfterBytes <= 1.5e9)
	res = append(res, benchResult{Name: fmt.Sprintf("resident memory of the server process (VmRSS) after %d progress and %d lines-at queries, ", mode.queries, mode.linesQueries) + at,
		Value: big.rssAfterBytes / 1e6, Unit: "MB", Runs: 1, Goal: g, Met: met})
	res = append(res, benchResult{Name: "generate + append (Restore, COPY of 10,000) of the ledger", Value: big.restore, Unit: "events/s", Runs: 1})
	return res
}

func printResults(w io.Writer, cfg *Config, mode benchMode, res []benchResult, took time.Duration) {
	fmt.Fprintf(w, "\nResults (%s mode; throughputs: median of %d run(s) of %s; took %s):\n", mode.name, cfg.BenchRuns, cfg.BenchDuration, took.Round(time.Second))
	for _, r := range res {
		fmt.Fprintf(w, "  %-86s %12.1f %s", r.Name, r.Value, r.Unit)
		if r.P99Millis != 0 && r.Unit != "ms p99" {
			fmt.Fprintf(w, "  p50 %.1f ms p99 %.1f ms", r.P50Millis, r.P99Millis)
		}
		if r.Unit == "ms p99" {
			fmt.Fprintf(w, "  (p50 %.3f ms)", r.P50Millis)
		}
		if r.Ratio != 0 {
			fmt.Fprintf(w, "  = %.2f × %s", r.Ratio, r.BaseName)
		}
		if r.Goal != "" {
			verdict := "informational"
			if r.Met != nil {
				verdict = map[bool]string{true: "MET", false: "NOT MET"}[*r.Met]
			}
			fmt.Fprintf(w, "  goal %s: %s", r.Goal, verdict)
		}
		fmt.Fprintln(w)
	}
}

// scratchDatabase creates database name on the server of adminURL and returns its URL
// and a function that drops it.
func scratchDatabase(ctx context.Context, adminURL, name string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("connect %s: %w", adminURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		c, err := pgx.Connect(context.Background(), adminURL)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
			c.Close(context.Background())
		}
	}
	return u.String(), drop, nil
}

// benchRawTable is the table of the raw baselines: the events table's columns, without
// its triggers and indexes other than the keys.
const benchRawTable = `CREATE TABLE bench_raw (position bigserial PRIMARY KEY, id uuid NOT NULL UNIQUE,
	type text NOT NULL, effective_date date NOT NULL, recorded_at timestamptz NOT NULL, amount bigint, line text,
	data jsonb NOT NULL, metadata jsonb NOT NULL, prev_hash bytea NOT NULL, hash bytea NOT NULL)`

// A disbursement's row as the baselines write it.
var (
	rawData = []byte(`{"amount":1000,"kind":"payment","line":{"program":"GNBV","project":"DA1","source":"NSTW-DTPT","unit":"100","year":2024},"payee":"Nhà thầu","voucher":{"date":"2024-03-01","number":"b-1","office":"KB01","type":"C2-02a"}}`)
	rawMeta = []byte(`{"actor":"bench","idempotency_key":"k","request_id":"r"}`)
	rawDate = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
)

// rawBaselines measures what PostgreSQL does without our code, on event-sized rows:
// "single" one-row-per-transaction INSERTs with baselineClients connections, "multi"
// multi-row INSERTs of rawMultiRows rows, "copy" COPY of rawMultiRows rows per
// transaction (both on one connection, like the single writer). Each runs for d.
func rawBaselines(ctx context.Context, dbURL string, d time.Duration) (map[string]float64, error) {
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, benchRawTable); err != nil {
		return nil, err
	}
	hash := make([]byte, 32)
	out := map[string]float64{}
	if out["single"], err = timedClients(d, baselineClients, func() (int, error) {
		_, err := pool.Exec(ctx, `INSERT INTO bench_raw (id, type, effective_date, recorded_at, amount, line, data, metadata, prev_hash, hash)
			VALUES ($1, 'funds.disbursed', '2024-03-01', now(), 1000, 'GNBV:2024:NSTW-DTPT:DA1:100', $2, $3, $4, $4)`,
			uuid.Must(uuid.NewV7()), rawData, rawMeta, hash)
		return 1, err
	}); err != nil {
		return nil, err
	}
	var sql strings.Builder
	sql.WriteString(`INSERT INTO bench_raw (id, type, effective_date, recorded_at, amount, line, data, metadata, prev_hash, hash) VALUES `)
	const cols = 4
	for r := range rawMultiRows {
		if r > 0 {
			sql.WriteByte(',')
		}
		fmt.Fprintf(&sql, "($%d, 'funds.disbursed', '2024-03-01', now(), 1000, 'GNBV:2024:NSTW-DTPT:DA1:100', $%d, $%d, $%d, $%d)",
			r*cols+1, r*cols+2, r*cols+3, r*cols+4, r*cols+4)
	}
	args := make([]any, rawMultiRows*cols)
	if out["multi"], err = timedClients(d, 1, func() (int, error) {
		for r := range rawMultiRows {
			args[r*cols], args[r*cols+1], args[r*cols+2], args[r*cols+3] = uuid.Must(uuid.NewV7()), rawData, rawMeta, hash
		}
		_, err := pool.Exec(ctx, sql.String(), args...)
		return rawMultiRows, err
	}); err != nil {
		return nil, err
	}
	rows := make([][]any, rawMultiRows)
	columns := []string{"id", "type", "effective_date", "recorded_at", "amount", "line", "data", "metadata", "prev_hash", "hash"}
	if out["copy"], err = timedClients(d, 1, func() (int, error) {
		now := time.Now()
		for r := range rows {
			rows[r] = []any{uuid.Must(uuid.NewV7()), "funds.disbursed", rawDate, now, int64(1000), "GNBV:2024:NSTW-DTPT:DA1:100", rawData, rawMeta, hash, hash}
		}
		n, err := pool.CopyFrom(ctx, pgx.Identifier{"bench_raw"}, columns, pgx.CopyFromRows(rows))
		return int(n), err
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// timedClients runs op on clients goroutines until d has passed and returns the rows
// per second it reported, or the first error.
func timedClients(d time.Duration, clients int, op func() (int, error)) (float64, error) {
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				k, err := op()
				if err != nil {
					errs <- err
					return
				}
				n.Add(int64(k))
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}

// benchNode is a node on a scratch database behind a loopback listener, with its
// catalog and benchLines allocated lines, and a client that authorizes as benchAuth.
type benchNode struct {
	n    *node
	base string
	hc   *http.Client
	// addr is the listener's address and officer the token the write loads post with.
	addr, officer string
	lines         []map[string]any
	close         func()
}

func startBenchNode(ctx context.Context, cfg *Config, dbURL string, conns int) (*benchNode, error) {
	ncfg := *cfg
	ncfg.DatabaseURL = dbURL
	ncfg.NATS.Replicas = 1
	var err error
	if ncfg.DataDir, err = os.MkdirTemp("", "ledger-bench"); err != nil {
		return nil, err
	}
	// One officer token posts the whole load: no per-token rate limit (token.go).
	ncfg.BootstrapToken, ncfg.Access.RatePerSecond = benchAdminToken, -1
	// The node's start-up and NATS notices would drown the figures: warnings only.
	ncfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := startNode(ctx, &ncfg)
	if err != nil {
		os.RemoveAll(ncfg.DataDir)
		return nil, err
	}
	officer, auth, err := benchAuth(ctx, n)
	if err != nil {
		n.Close()
		os.RemoveAll(ncfg.DataDir)
		return nil, err
	}
	n.ready.Store(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		n.Close()
		os.RemoveAll(ncfg.DataDir)
		return nil, err
	}
	srv := &http.Server{Handler: n.handler, ReadHeaderTimeout: readHeaderTimeout}
	go func() { _ = srv.Serve(ln) }()
	bn := &benchNode{n: n, base: "http://" + ln.Addr().String(), addr: ln.Addr().String(), officer: officer,
		hc: &http.Client{Timeout: benchHTTPTimeout, Transport: auth(&http.Transport{MaxIdleConnsPerHost: conns * 2})}}
	bn.close = func() {
		srv.Close()
		n.Close()
		os.RemoveAll(ncfg.DataDir)
	}
	sctx, cancel := context.WithTimeout(ctx, benchSetupTimeout)
	defer cancel()
	if bn.lines, err = benchSetup(sctx, bn.hc, bn.base); err != nil {
		bn.close()
		return nil, fmt.Errorf("setup: %w", err)
	}
	return bn, nil
}

// startProfile starts the CPU profile of --cpuprofile when on; the returned function
// stops it.
func startProfile(cfg *Config, on bool) (func(), error) {
	return startProfileAt(cfg.CPUProfile, on)
}

// startProfileAt starts a CPU profile written to path when on and path is set; the
// returned function stops it.
func startProfileAt(path string, on bool) (func(), error) {
	if !on || path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// loadFigures are the figures of a timed load: events/s, the p50 and p99 latency of one
// request in ms, and the process's CPU time per event in µs (server and load generator:
// `ledger bench --cpuprofile` tells them apart).
type loadFigures struct {
	rate, p50, p99, cpu float64
}

// latencyFigures returns the figures of requests that took lat, each of perOp events, in
// elapsed, while the process used cpu.
func latencyFigures(lat [][]time.Duration, perOp int, elapsed, cpu time.Duration) (loadFigures, error) {
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return loadFigures{}, fmt.Errorf("no request completed")
	}
	slices.Sort(all)
	ms := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))]) / 1e6 }
	events := float64(len(all) * perOp)
	return loadFigures{rate: events / elapsed.Seconds(), p50: ms(0.50), p99: ms(0.99),
		cpu: float64(cpu.Microseconds()) / events}, nil
}

// processCPU is the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru) // cannot fail with RUSAGE_SELF
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// httpWriteLoad starts a node on dbURL behind a real loopback listener and runs clients
// that each post one disbursement per request for cfg.BenchDuration. profile turns
// --cpuprofile on.
func httpWriteLoad(ctx context.Context, cfg *Config, dbURL string, clients int, profile bool) (loadFigures, error) {
	bn, err := startBenchNode(ctx, cfg, dbURL, clients)
	if err != nil {
		return loadFigures{}, err
	}
	defer bn.close()
	stop, err := startProfile(cfg, profile)
	if err != nil {
		return loadFigures{}, err
	}
	defer stop()
	return timedLoad(ctx, bn, clients, cfg.BenchDuration, 1, disbursementRequests(bn.lines, "b"))
}

// disbursementRequests builds the requests of the write path: client c posts
// disbursements from lines[c % len(lines)], each with a voucher of its own, whose number
// starts with phase (two loads on one node keep their vouchers apart).
func disbursementRequests(lines []map[string]any, phase string) func(c int) func(i int, body []byte) (string, []byte) {
	return func(c int) func(i int, body []byte) (string, []byte) {
		line, _ := json.Marshal(lines[c%len(lines)])
		return func(i int, body []byte) (string, []byte) {
			return "/v1/disbursements", fmt.Appendf(body[:0], `{"line":%s,"amount":%d,"kind":"payment","effective_date":"2024-03-01","payee":"Nhà thầu","voucher":{"office":"KB01","type":"C2-02a","number":"%s%d-%d","date":"2024-03-01"}}`,
				line, benchDisburseDong, phase, c, i)
		}
	}
}

// timedLoad runs clients that each post, on a connection of their own (benchConn), the
// requests newClient(c) builds (path and body of request i, built into body) until d has
// passed, timing every answer; each request records eventsPer events. Any failed
// request fails the measurement. The clients' goroutines carry the profiler label
// bench=load: `go tool pprof -tagignore bench=load` shows the server's CPU alone.
func timedLoad(ctx context.Context, bn *benchNode, clients int, d time.Duration, eventsPer int,
	newClient func(c int) func(i int, body []byte) (string, []byte)) (loadFigures, error) {
	conns := make([]*benchConn, clients)
	for c := range conns {
		var err error
		if conns[c], err = dialBench(bn.addr, bn.officer); err != nil {
			return loadFigures{}, err
		}
		defer conns[c].close()
	}
	deadline := time.Now().Add(d)
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	var failures atomic.Int64
	start, cpu := time.Now(), processCPU()
	for c := range clients {
		wg.Add(1)
		go pprof.Do(ctx, pprof.Labels("bench", "load"), func(context.Context) {
			defer wg.Done()
			lat[c] = make([]time.Duration, 0, benchLatencyPrealloc)
			request := newClient(c)
			var body []byte
			for i := 0; time.Now().Before(deadline); i++ {
				var path string
				path, body = request(i, body)
				t0 := time.Now()
				status, err := conns[c].post(path, body)
				if err != nil || status != http.StatusCreated {
					failures.Add(1)
					continue
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), processCPU()-cpu
	if f := failures.Load(); f > 0 {
		return loadFigures{}, fmt.Errorf("%d requests failed", f)
	}
	return latencyFigures(lat, eventsPer, elapsed, cpu)
}

// mixedFigures is the write path's latency alone and under reads, and the reads' rate.
type mixedFigures struct {
	alone, read loadFigures
	readsPerSec float64
}

// httpMixedLoad measures, on one node, benchMixedWriters clients posting one
// disbursement per request for cfg.BenchDuration, first alone, then while
// benchMixedReaders clients read benchMixedReads in turn as fast as they are answered.
// The projections the reads use are fed behind the writer: reads must not slow it.
func httpMixedLoad(ctx context.Context, cfg *Config, dbURL string) (mixedFigures, error) {
	var m mixedFigures
	bn, err := startBenchNode(ctx, cfg, dbURL, benchMixedWriters+benchMixedReaders)
	if err != nil {
		return m, err
	}
	defer bn.close()
	if m.alone, err = timedLoad(ctx, bn, benchMixedWriters, cfg.BenchDuration, 1, disbursementRequests(bn.lines, "a")); err != nil {
		return m, fmt.Errorf("writers alone: %w", err)
	}
	stop := make(chan struct{})
	var reads, failed atomic.Int64
	var firstErr atomic.Pointer[string]
	var wg sync.WaitGroup
	for r := range benchMixedReaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := r; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				path := benchMixedReads[i%len(benchMixedReads)]
				if status, err := getStatus(ctx, bn.hc, bn.base+path); err != nil || status != http.StatusOK {
					failed.Add(1)
					msg := fmt.Sprintf("GET %s: status %d, %v", path, status, err)
					firstErr.CompareAndSwap(nil, &msg)
					continue
				}
				reads.Add(1)
			}
		}()
	}
	start := time.Now()
	m.read, err = timedLoad(ctx, bn, benchMixedWriters, cfg.BenchDuration, 1, disbursementRequests(bn.lines, "r"))
	close(stop)
	wg.Wait()
	m.readsPerSec = float64(reads.Load()) / time.Since(start).Seconds()
	if err != nil {
		return m, fmt.Errorf("writers under reads: %w", err)
	}
	if n := failed.Load(); n > 0 {
		return m, fmt.Errorf("%d reads failed, the first %s", n, *firstErr.Load())
	}
	return m, nil
}

// getStatus sends a GET to url, reads the answer to its end and returns its status.
func getStatus(ctx context.Context, hc *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != req.URL.Path {
		// A page that sent the client to sign in did not serve what was measured.
		return resp.StatusCode, fmt.Errorf("redirected to %s", resp.Request.URL.Path)
	}
	return resp.StatusCode, nil
}

// httpBulkLoad runs bulkClients clients that each post atomic batches of bulkBatch
// disbursements to POST /v1/batch for cfg.BenchDuration; the latencies are a batch's.
func httpBulkLoad(ctx context.Context, cfg *Config, dbURL, profile string) (loadFigures, error) {
	bn, err := startBenchNode(ctx, cfg, dbURL, bulkClients)
	if err != nil {
		return loadFigures{}, err
	}
	defer bn.close()
	stop, err := startProfileAt(profile, profile != "")
	if err != nil {
		return loadFigures{}, err
	}
	defer stop()
	return timedLoad(ctx, bn, bulkClients, cfg.BenchDuration, bulkBatch, func(c int) func(i int, body []byte) (string, []byte) {
		line, _ := json.Marshal(bn.lines[c%len(bn.lines)])
		return func(i int, body []byte) (string, []byte) {
			body = append(body[:0], `{"atomic":true,"commands":[`...)
			for j := range bulkBatch {
				if j > 0 {
					body = append(body, ',')
				}
				body = fmt.Appendf(body, `{"type":"disbursement","line":%s,"amount":%d,"kind":"payment","effective_date":"2024-03-01","payee":"Nhà thầu","voucher":{"office":"KB01","type":"C2-02a","number":"u%d-%d-%d","date":"2024-03-01"}}`,
					line, benchDisburseDong, c, i, j)
			}
			return "/v1/batch", append(body, "]}"...)
		}
	})
}

// benchSetup registers a catalog and allocates benchLines lines over HTTP.
func benchSetup(ctx context.Context, hc *http.Client, base string) ([]map[string]any, error) {
	steps := []struct {
		path string
		body any
	}{
		{"/v1/catalog/programs", map[string]any{"code": "GNBV", "name": "Giảm nghèo bền vững"}},
		{"/v1/catalog/projects", map[string]any{"program": "GNBV", "code": "DA1", "name": "Dự án 1"}},
		{"/v1/catalog/sources", map[string]any{"code": "NSTW-DTPT", "name": "NSTW ĐTPT", "budget": "central", "nature": "investment"}},
		{"/v1/catalog/units", map[string]any{"code": "06", "name": "Bắc Kạn", "level": "province"}},
	}
	var lines []map[string]any
	for i := range benchLines {
		code := fmt.Sprintf("%03d", 100+i)
		line := map[string]any{"program": "GNBV", "year": 2024, "source": "NSTW-DTPT", "project": "DA1", "unit": code}
		lines = append(lines, line)
		steps = append(steps,
			struct {
				path string
				body any
			}{"/v1/catalog/units", map[string]any{"code": code, "name": "Huyện " + code, "level": "district", "parent": "06"}},
			struct {
				path string
				body any
			}{"/v1/allocations", map[string]any{"line": line, "amount": benchLineAmount, "effective_date": "2024-01-15", "decision": "QĐ-" + code}})
	}
	for _, s := range steps {
		b, _ := json.Marshal(s.body)
		status, err := postStatus(ctx, hc, base+s.path, b)
		if err != nil {
			return nil, err
		}
		if status != http.StatusCreated {
			return nil, fmt.Errorf("POST %s: status %d", s.path, status)
		}
	}
	return lines, nil
}

func postStatus(ctx context.Context, hc *http.Client, url string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
