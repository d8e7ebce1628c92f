package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/natsbus"
	"github.com/vnntp/ledger/ledger/pgstore"
	"github.com/vnntp/ledger/projections"
	"github.com/vnntp/ledger/snapshot"
)

// benchPoll spaces the checks of the relay's progress.
const benchPoll = 100 * time.Millisecond

// bigResult holds the figures measured on the generated ledger.
type bigResult struct {
	restore                float64 // events/s generated and appended
	readRaw, readDecoded   float64 // rows/s
	rebuild                float64 // events/s
	startup, relayCatchUp  time.Duration
	qInP50, qInP99         float64 // ms
	qHTTPP50, qHTTPP99     float64 // ms
	linesAtP50, linesAtP99 float64 // ms
	rssServingBytes        float64 // at serving, before the relay's catch-up
	rssBytes               float64
	rssAfterBytes          float64 // after the queries over HTTP
	snapTake, snapStore    time.Duration
	snapBytes              int64
}

// benchGenerated appends mode.events generated events to the scratch database dbURL,
// then measures read-back, rebuild and in-process queries in this process, and start-up,
// relay catch-up, memory and queries over HTTP of a `ledger serve` process.
func benchGenerated(ctx context.Context, cfg *Config, dbURL string, mode benchMode, stdout io.Writer) (*bigResult, error) {
	res := &bigResult{}
	if err := pgstore.Migrate(ctx, dbURL); err != nil {
		return nil, err
	}
	st, err := pgstore.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	t0 := time.Now()
	g := newEventGen()
	n, err := st.Restore(ctx, func(yield func(*ledger.Event) error) error { return g.generate(mode.events, yield) }, nil)
	if err != nil {
		return nil, fmt.Errorf("append the generated events: %w", err)
	}
	res.restore = float64(n) / time.Since(t0).Seconds()
	g = nil
	fmt.Fprintf(stdout, "generated and appended %d events in %s (%.0f events/s)\n", n, time.Since(t0).Round(time.Millisecond), res.restore)
	if _, err := st.Pool().Exec(ctx, "VACUUM ANALYZE events"); err != nil {
		return nil, err
	}

	var raws, decs, rebuilds []float64
	var progress *projections.Progress
	for run := 1; run <= cfg.BenchRuns && mode.runs(benchRebuild); run++ {
		raw, dec, err := readBack(ctx, st)
		if err != nil {
			return nil, err
		}
		progress = nil
		runtime.GC()
		var rate float64
		if progress, rate, err = rebuild(ctx, st); err != nil {
			return nil, err
		}
		fmt.Fprintf(stdout, "run %d: read-back %.0f rows/s raw, %.0f decoded; rebuild %.0f events/s\n", run, raw, dec, rate)
		raws, decs, rebuilds = append(raws, raw), append(decs, dec), append(rebuilds, rate)
	}
	res.readRaw, res.readDecoded, res.rebuild = median(raws), median(decs), median(rebuilds)

	rng := rand.New(rand.NewPCG(7, 7))
	lat := make([]time.Duration, 0, mode.queries)
	for range mode.queries * boolInt(progress != nil) {
		q := benchQuery(rng)
		t := time.Now()
		if _, err := progress.Query(q); err != nil {
			return nil, fmt.Errorf("in-process query: %w", err)
		}
		lat = append(lat, time.Since(t))
	}
	if len(lat) > 0 {
		res.qInP50, res.qInP99 = percentiles(lat)
	}
	progress = nil
	runtime.GC()

	if mode.runs(benchSnapshot) {
		t := time.Now()
		info, _, err := snapshot.Take(ctx, st, snapshot.Options{FromScratch: true})
		if err != nil {
			return nil, fmt.Errorf("take a snapshot: %w", err)
		}
		res.snapTake, res.snapStore, res.snapBytes = info.Duration, time.Since(t)-info.Duration, info.Size
		fmt.Fprintf(stdout, "snapshot at position %d: %.0f MB, fold + encode %s, store %s\n", info.Position, float64(info.Size)/1e6,
			res.snapTake.Round(time.Millisecond), res.snapStore.Round(time.Millisecond))
		debug.FreeOSMemory()
	}

	if !mode.runs(benchServer) && !mode.runs(benchLinesAt) {
		return res, nil
	}
	if err := benchServerProcess(ctx, dbURL, n, mode, cfg.BenchServerMemLimit, res, stdout); err != nil {
		return nil, fmt.Errorf("server process: %w", err)
	}
	return res, nil
}

// readBack reads the whole events table twice: undecoded (raw column bytes) and scanned
// into a struct of typed fields, JSON left as bytes. It returns rows/s of each.
func readBack(ctx context.Context, st *pgstore.Store) (raw, decoded float64, err error) {
	const q = `SELECT position, id, type, effective_date, recorded_at, data, metadata, prev_hash, hash FROM events ORDER BY position`
	run := func(scan func(r interface {
		Scan(...any) error
		RawValues() [][]byte
	}) error) (float64, error) {
		t := time.Now()
		rows, err := st.Pool().Query(ctx, q)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			if err := scan(rows); err != nil {
				return 0, err
			}
			n++
		}
		if err := rows.Err(); err != nil {
			return 0, err
		}
		return float64(n) / time.Since(t).Seconds(), nil
	}
	var sink int
	if raw, err = run(func(r interface {
		Scan(...any) error
		RawValues() [][]byte
	}) error {
		sink += len(r.RawValues())
		return nil
	}); err != nil {
		return 0, 0, err
	}
	var row struct {
		position                   int64
		id                         uuid.UUID
		typ                        string
		effective, recorded        time.Time
		data, meta, prevHash, hash []byte
	}
	decoded, err = run(func(r interface {
		Scan(...any) error
		RawValues() [][]byte
	}) error {
		return r.Scan(&row.position, &row.id, &row.typ, &row.effective, &row.recorded, &row.data, &row.meta, &row.prevHash, &row.hash)
	})
	return raw, decoded, err
}

// rebuild reads the store into a ledger.State and a projections.Progress, as a server
// does at start, and returns the projection and the rate.
func rebuild(ctx context.Context, st *pgstore.Store) (*projections.Progress, float64, error) {
	t := time.Now()
	var state ledger.State
	p := &projections.Progress{}
	chunk := make([]*ledger.Event, 0, 1024)
	n := 0
	err := st.ReadFrom(ctx, 0, func(e *ledger.Event) error {
		state.Apply(e)
		n++
		if chunk = append(chunk, e); len(chunk) == cap(chunk) {
			p.Apply(chunk)
			chunk = make([]*ledger.Event, 0, 1024)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	p.Apply(chunk)
	return p, float64(n) / time.Since(t).Seconds(), nil
}

// benchQuery is the leaders' report: one province, district × project, the plan year,
// a random as-of date.
func benchQuery(rng *rand.Rand) projections.Query {
	day := time.Date(genYear, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(366))
	return projections.Query{GroupBy: []projections.Dimension{projections.GroupDistrict, projections.GroupProject}, Program: genProgram,
		Unit: strconv.Itoa(10 + rng.IntN(genProvinces)), Year: genYear, AsOf: ledger.DateOf(day)}
}

func percentiles(lat []time.Duration) (p50, p99 float64) {
	slices.Sort(lat)
	ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / 1e6 }
	return ms(0.5), ms(0.99)
}

// benchServerProcess starts `ledger serve` (this binary) on the generated ledger with an
// embedded NATS listening on loopback, and measures the time to serving, the relay's
// catch-up to the head, the resident memory and progress queries over HTTP.
func benchServerProcess(ctx context.Context, dbURL string, events int64, mode benchMode, memLimit string, res *bigResult, stdout io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	dataDir, err := os.MkdirTemp("", "ledger-bench-serve")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	natsAddr := ln.Addr().String()
	ln.Close()
	sctx, cancel := context.WithTimeout(ctx, benchStartTimeout)
	defer cancel()
	cmd := exec.CommandContext(sctx, exe, "serve", "--database-url", dbURL, "--http-addr", "127.0.0.1:0", "--data-dir", dataDir,
		"--bootstrap-token", benchAdminToken, "--rate-limit", "-1", "--nats-listen", natsAddr, "--log-level", "warn",
		"--snapshot-every", "0", "--snapshot-interval", "0") // no background snapshot during the measurements
	cmd.Stderr = os.Stderr
	if memLimit != "" {
		cmd.Env = append(os.Environ(), "GOMEMLIMIT="+memLimit)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	base := ""
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 4 && f[0] == "ledger" && f[1] == "serving" {
			base = f[3]
			break
		}
	}
	if base == "" {
		return fmt.Errorf("the server stopped before serving")
	}
	res.startup = time.Since(t0)
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if res.rssServingBytes, err = vmRSS(cmd.Process.Pid); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "server process serving %d events after %s; VmRSS %.0f MB\n", events, res.startup.Round(time.Millisecond),
		res.rssServingBytes/1e6)

	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	t1 := time.Now()
	for {
		if s, err := js.Stream(sctx, natsbus.StreamName); err == nil {
			if info, err := s.Info(sctx); err == nil && int64(info.State.LastSeq) >= events {
				break
			}
		}
		select {
		case <-sctx.Done():
			return fmt.Errorf("the relay did not catch up: %w", sctx.Err())
		case <-time.After(benchPoll):
		}
	}
	res.relayCatchUp = time.Since(t1)
	if res.rssBytes, err = vmRSS(cmd.Process.Pid); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "relay caught up after %s more; server VmRSS %.0f MB\n", res.relayCatchUp.Round(time.Millisecond), res.rssBytes/1e6)

	hc := &http.Client{Timeout: benchHTTPTimeout}
	if mode.runs(benchLinesAt) {
		if res.linesAtP50, res.linesAtP99, err = measureLinesAt(ctx, hc, base, events, mode); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "GET /v1/lines?at=: p50 %.1f ms, p99 %.1f ms over %d requests\n", res.linesAtP50, res.linesAtP99, mode.linesQueries)
	}
	if !mode.runs(benchServer) {
		return nil
	}
	rng := rand.New(rand.NewPCG(8, 8))
	lat := make([]time.Duration, 0, mode.queries)
	for i := range mode.queries + mode.queries/10 {
		q := benchQuery(rng)
		v := url.Values{"program": {q.Program}, "group_by": {projections.FormatDimensions(q.GroupBy)}, "unit": {q.Unit},
			"year": {strconv.Itoa(q.Year)}, "as_of": {q.AsOf.String()}}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/progress?"+v.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+benchAdminToken)
		t := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /v1/progress: status %d", resp.StatusCode)
		}
		if i >= mode.queries/10 { // the first tenth warms the connection up
			lat = append(lat, time.Since(t))
		}
	}
	res.qHTTPP50, res.qHTTPP99 = percentiles(lat)
	if res.rssAfterBytes, err = vmRSS(cmd.Process.Pid); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "server VmRSS after the queries %.0f MB\n", res.rssAfterBytes/1e6)
	return nil
}

// measureLinesAt measures GET /v1/lines?at=<position>&limit=benchLinesAtLimit at
// mode.linesQueries random positions of the ledger of events events (after a tenth more
// that warm the connection up) and returns p50 and p99 in ms.
func measureLinesAt(ctx context.Context, hc *http.Client, base string, events int64, mode benchMode) (p50, p99 float64, err error) {
	rng := rand.New(rand.NewPCG(9, 9))
	warm := mode.linesQueries / 10
	lat := make([]time.Duration, 0, mode.linesQueries)
	for i := range mode.linesQueries + warm {
		at := 1 + rng.Int64N(events)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet,
			fmt.Sprintf("%s/v1/lines?at=%d&limit=%d", base, at, benchLinesAtLimit), nil)
		req.Header.Set("Authorization", "Bearer "+benchAdminToken)
		t := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return 0, 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, 0, fmt.Errorf("GET /v1/lines?at=%d: status %d", at, resp.StatusCode)
		}
		if i >= warm {
			lat = append(lat, time.Since(t))
		}
	}
	p50, p99 = percentiles(lat)
	return p50, p99, nil
}

// vmRSS reads the resident set size of process pid from /proc (Linux).
func vmRSS(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
