package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Bench defaults (DESIGN.md §6): the baseline is raw one-row-per-transaction inserts
// with 16 clients; the product is one disbursement per HTTP request with 64 clients.
const (
	baselineClients      = 16
	benchLines           = 64
	benchLineAmount      = 1_000_000_000_000_000 // đồng per line, far more than a run spends
	benchDisburseDong    = 1_000
	benchSetupTimeout    = 2 * time.Minute
	benchHTTPTimeout     = 30 * time.Second
	benchLatencyPrealloc = 1 << 16
)

// benchResult is one figure of a run, as printed and written to the result file.
type benchResult struct {
	Name      string  `json:"name"`
	Value     float64 `json:"value"`
	Unit      string  `json:"unit"`
	Baseline  float64 `json:"baseline,omitempty"`
	Ratio     float64 `json:"ratio,omitempty"`
	Goal      string  `json:"goal,omitempty"`
	P50Millis float64 `json:"p50_ms,omitempty"`
	P99Millis float64 `json:"p99_ms,omitempty"`
	Runs      int     `json:"runs"`
}

// bench measures the write path over HTTP against a same-run baseline on the same
// PostgreSQL, each the median of several runs, on scratch databases it creates and drops.
func bench(ctx context.Context, cfg *Config, stdout io.Writer) error {
	var baselines, rates, p50s, p99s []float64
	for run := 1; run <= cfg.BenchRuns; run++ {
		dbURL, drop, err := scratchDatabase(ctx, cfg.DatabaseURL, fmt.Sprintf("ledger_bench_%d_%d", os.Getpid(), run))
		if err != nil {
			return err
		}
		base, err := rawInsertBaseline(ctx, dbURL, cfg.BenchDuration)
		if err != nil {
			drop()
			return fmt.Errorf("baseline: %w", err)
		}
		rate, p50, p99, err := httpWriteLoad(ctx, cfg, dbURL)
		drop()
		if err != nil {
			return fmt.Errorf("write path: %w", err)
		}
		fmt.Fprintf(stdout, "run %d: baseline %.0f rows/s; write path %.0f events/s (p50 %.1f ms, p99 %.1f ms) = %.2f× baseline\n",
			run, base, rate, p50, p99, rate/base)
		baselines, rates, p50s, p99s = append(baselines, base), append(rates, rate), append(p50s, p50), append(p99s, p99)
	}
	res := []benchResult{
		{Name: "baseline: raw one-row-per-transaction inserts, 16 clients", Value: median(baselines), Unit: "rows/s", Runs: cfg.BenchRuns},
		{Name: fmt.Sprintf("write path over HTTP, %d clients, one disbursement per request", cfg.BenchClients),
			Value: median(rates), Unit: "events/s", Baseline: median(baselines), Ratio: median(rates) / median(baselines),
			Goal: "≥ 20,000 events/s, p99 ≤ 20 ms, ≥ 1.2 × baseline", P50Millis: median(p50s), P99Millis: median(p99s), Runs: cfg.BenchRuns},
	}
	fmt.Fprintf(stdout, "\nmedian of %d runs, %s each:\n", cfg.BenchRuns, cfg.BenchDuration)
	for _, r := range res {
		fmt.Fprintf(stdout, "  %-75s %10.0f %s", r.Name, r.Value, r.Unit)
		if r.Ratio != 0 {
			fmt.Fprintf(stdout, "  p50 %.1f ms  p99 %.1f ms  ratio %.2f×  (goal %s)", r.P50Millis, r.P99Millis, r.Ratio, r.Goal)
		}
		fmt.Fprintln(stdout)
	}
	if cfg.BenchOut != "" {
		b, _ := json.MarshalIndent(map[string]any{"date": time.Now().UTC().Format(time.RFC3339), "results": res}, "", "  ")
		if err := os.WriteFile(cfg.BenchOut, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "results written to", cfg.BenchOut)
	}
	return nil
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

// rawInsertBaseline measures one-row-per-transaction inserts of event-sized rows with
// baselineClients connections: what PostgreSQL does without our batching.
func rawInsertBaseline(ctx context.Context, dbURL string, d time.Duration) (float64, error) {
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE bench_raw (position bigserial PRIMARY KEY, id uuid NOT NULL UNIQUE,
		type text NOT NULL, effective_date date NOT NULL, recorded_at timestamptz NOT NULL, amount bigint, line text,
		data jsonb NOT NULL, metadata jsonb NOT NULL, prev_hash bytea NOT NULL, hash bytea NOT NULL)`); err != nil {
		return 0, err
	}
	data := []byte(`{"amount":1000,"kind":"payment","line":{"program":"GNBV","project":"DA1","source":"NSTW-DTPT","unit":"100","year":2024},"payee":"Nhà thầu","voucher":{"date":"2024-03-01","number":"b-1","office":"KB01","type":"C2-02a"}}`)
	meta := []byte(`{"actor":"bench","idempotency_key":"k","request_id":"r"}`)
	hash := make([]byte, 32)
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	errs := make(chan error, baselineClients)
	start := time.Now()
	for range baselineClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				_, err := pool.Exec(ctx, `INSERT INTO bench_raw (id, type, effective_date, recorded_at, amount, line, data, metadata, prev_hash, hash)
					VALUES ($1, 'funds.disbursed', '2024-03-01', now(), 1000, 'GNBV:2024:NSTW-DTPT:DA1:100', $2, $3, $4, $4)`,
					uuid.Must(uuid.NewV7()), data, meta, hash)
				if err != nil {
					errs <- err
					return
				}
				n.Add(1)
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

// httpWriteLoad starts a node on dbURL behind a real loopback listener and runs
// cfg.BenchClients clients that each post one disbursement per request for
// cfg.BenchDuration. It returns events/s and the p50 and p99 latency in milliseconds.
func httpWriteLoad(ctx context.Context, cfg *Config, dbURL string) (rate, p50, p99 float64, err error) {
	ncfg := *cfg
	ncfg.DatabaseURL = dbURL
	ncfg.NATS.Replicas = 1
	if ncfg.DataDir, err = os.MkdirTemp("", "ledger-bench"); err != nil {
		return 0, 0, 0, err
	}
	defer os.RemoveAll(ncfg.DataDir)
	// One officer token posts the whole load: no per-token rate limit (token.go).
	ncfg.BootstrapToken, ncfg.Access.RatePerSecond = benchAdminToken, -1
	n, err := startNode(ctx, &ncfg)
	if err != nil {
		return 0, 0, 0, err
	}
	defer n.Close()
	auth, err := benchAuth(ctx, n)
	if err != nil {
		return 0, 0, 0, err
	}
	n.ready.Store(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, 0, err
	}
	srv := &http.Server{Handler: n.handler, ReadHeaderTimeout: readHeaderTimeout}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	hc := &http.Client{Timeout: benchHTTPTimeout, Transport: auth(&http.Transport{MaxIdleConnsPerHost: cfg.BenchClients * 2})}

	sctx, cancel := context.WithTimeout(ctx, benchSetupTimeout)
	defer cancel()
	lines, err := benchSetup(sctx, hc, base)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("setup: %w", err)
	}

	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return 0, 0, 0, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return 0, 0, 0, err
		}
		defer pprof.StopCPUProfile()
	}
	deadline := time.Now().Add(cfg.BenchDuration)
	lat := make([][]time.Duration, cfg.BenchClients)
	var wg sync.WaitGroup
	var failures atomic.Int64
	start := time.Now()
	for c := range cfg.BenchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat[c] = make([]time.Duration, 0, benchLatencyPrealloc)
			line, _ := json.Marshal(lines[c%len(lines)])
			for i := 0; time.Now().Before(deadline); i++ {
				body := fmt.Appendf(nil, `{"line":%s,"amount":%d,"kind":"payment","effective_date":"2024-03-01","payee":"Nhà thầu","voucher":{"office":"KB01","type":"C2-02a","number":"b%d-%d","date":"2024-03-01"}}`,
					line, benchDisburseDong, c, i)
				t0 := time.Now()
				status, err := postStatus(ctx, hc, base+"/v1/disbursements", body)
				if err != nil || status != http.StatusCreated {
					failures.Add(1)
					continue
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if f := failures.Load(); f > 0 {
		return 0, 0, 0, fmt.Errorf("%d requests failed", f)
	}
	slices.Sort(all)
	if len(all) == 0 {
		return 0, 0, 0, fmt.Errorf("no request completed")
	}
	ms := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))]) / 1e6 }
	return float64(len(all)) / elapsed.Seconds(), ms(0.50), ms(0.99), nil
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

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
