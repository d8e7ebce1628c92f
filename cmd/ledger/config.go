package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"
)

// Defaults. The database URL matches what `make run` prepares.
const (
	defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/ledger?sslmode=disable"
	defaultHTTPAddr    = "127.0.0.1:8080"
	defaultDataDir     = ".data"
	// defaultAdminURL is where bench creates its scratch databases.
	defaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
)

// Config is the configuration of every command, filled from flags and LEDGER_*
// variables (a flag given on the command line wins over the variable).
type Config struct {
	DatabaseURL    string
	HTTPAddr       string
	MetricsAddr    string
	DataDir        string
	NATSURL        string
	BootstrapToken string
	Demo           bool
	LogLevel       string

	BenchDuration time.Duration
	BenchClients  int
	BenchRuns     int
	BenchOut      string
	// BenchOnly selects the sections of `ledger bench` to run (comma-separated names of
	// benchSections; empty: all); BenchEvents overrides the generated ledger's size.
	BenchOnly   string
	BenchEvents int
	// BenchServerMemLimit is the GOMEMLIMIT of the measured server process (empty: none).
	BenchServerMemLimit string
	CPUProfile          string
	// availabilityAtHeadOnly starts the writer with rule 2 checked at the head only
	// (ledger.SequencerConfig.AvailabilityAtHeadOnly): the baseline `ledger bench`
	// measures the check against. No flag sets it; a server never runs without the check.
	availabilityAtHeadOnly bool

	Audit AuditConfig // verify, export, import, keys; serve's checkpoints (verify.go)

	Access AccessConfig // serve's traffic limits; `ledger token` (token.go)
	Report ReportConfig // report and replay (report.go)
	NATS   NATSConfig   // serve's event distribution and replica mode (nats.go)
	Submit SubmitConfig // import --commands through the batch API (submit.go)
	Secure SecureConfig // serve's TLS, NATS credentials (secure.go)
	// Reconcile: `ledger reconcile`, a Treasury statement through the API (reconcile.go)
	Reconcile ReconcileConfig
	Snapshot  SnapshotConfig // serve's snapshots, ledger snapshot, replay --from-scratch (snapshot.go)
	Args      []string       // positional arguments of commands that take them (token)

	Logger *slog.Logger
	envs   map[string]string // flag name → variable name
	cmd    string
}

func newConfig(fs *flag.FlagSet, cmd string) *Config {
	c := &Config{envs: map[string]string{}}
	if cmd == "bench" {
		c.str(fs, &c.DatabaseURL, "database-url", "LEDGER_DATABASE_URL", defaultAdminURL, "PostgreSQL server URL; bench creates and drops scratch databases there")
	} else {
		c.str(fs, &c.DatabaseURL, "database-url", "LEDGER_DATABASE_URL", defaultDatabaseURL, "PostgreSQL URL of the event store")
	}
	c.str(fs, &c.LogLevel, "log-level", "LEDGER_LOG_LEVEL", "info", "log level: debug, info, warn or error")
	if cmd == "serve" {
		c.str(fs, &c.HTTPAddr, "http-addr", "LEDGER_HTTP_ADDR", defaultHTTPAddr, "address the HTTP API listens on")
		c.str(fs, &c.MetricsAddr, "metrics-addr", "LEDGER_METRICS_ADDR", "", "serve GET /metrics (Prometheus) on this address only, e.g. 127.0.0.1:9090; empty: on --http-addr, without a token")
		c.str(fs, &c.DataDir, "data-dir", "LEDGER_DATA_DIR", defaultDataDir, "directory for local state (embedded NATS store, keys)")
		c.str(fs, &c.NATSURL, "nats-url", "LEDGER_NATS_URL", "", "external NATS server or cluster URL (nats://host:4222,nats://host2:4222); empty runs NATS in-process under --data-dir")
		c.str(fs, &c.BootstrapToken, "bootstrap-token", "LEDGER_BOOTSTRAP_TOKEN", "", "admin token defined at start, kept in memory only (at least 16 characters)")
		c.boolean(fs, &c.Demo, "demo", "LEDGER_DEMO", "load the sample scenario (docs/domain.md §7) into an empty ledger")
	}
	c.Audit.register(fs, c, cmd)
	c.Access.register(fs, c, cmd)
	c.Report.register(fs, c, cmd)
	c.NATS.register(fs, c, cmd)
	c.Submit.register(fs, c, cmd)
	c.Secure.register(fs, c, cmd)
	c.Reconcile.register(fs, c, cmd)
	c.Snapshot.register(fs, c, cmd)
	c.cmd = cmd
	if cmd == "bench" {
		fs.DurationVar(&c.BenchDuration, "duration", 10*time.Second, "how long each measurement runs [LEDGER_BENCH_DURATION]")
		c.envs["duration"] = "LEDGER_BENCH_DURATION"
		fs.IntVar(&c.BenchClients, "clients", 64, "concurrent HTTP clients of the write-path load [LEDGER_BENCH_CLIENTS]")
		c.envs["clients"] = "LEDGER_BENCH_CLIENTS"
		fs.IntVar(&c.BenchRuns, "runs", 3, "runs of every measurement; the median is reported [LEDGER_BENCH_RUNS]")
		c.envs["runs"] = "LEDGER_BENCH_RUNS"
		fs.StringVar(&c.BenchOut, "out", "bench-results.json", "machine-readable result file [LEDGER_BENCH_OUT]")
		c.envs["out"] = "LEDGER_BENCH_OUT"
		fs.StringVar(&c.BenchOnly, "only", "", "run only these sections, comma-separated: "+strings.Join(benchSections, ", ")+" (empty: all) [LEDGER_BENCH_ONLY]")
		c.envs["only"] = "LEDGER_BENCH_ONLY"
		fs.IntVar(&c.BenchEvents, "events", 0, "events of the generated ledger; 0: the mode's (1,000,000; BENCH_QUICK 100,000; BENCH_FULL 10,000,000) [LEDGER_BENCH_EVENTS]")
		fs.StringVar(&c.BenchServerMemLimit, "server-memory-limit", "", "GOMEMLIMIT of the measured server process on the generated ledger, e.g. 1536MiB (the Go runtime's soft heap limit); empty: none")
		c.envs["events"] = "LEDGER_BENCH_EVENTS"
		fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of the first run's write-path load to this file, and of its bulk load and floor (beside it with .bulk and .floor; go tool pprof)")
	}
	return c
}

func (c *Config) str(fs *flag.FlagSet, p *string, name, env, def, help string) {
	fs.StringVar(p, name, def, fmt.Sprintf("%s [%s]", help, env))
	c.envs[name] = env
}

func (c *Config) boolean(fs *flag.FlagSet, p *bool, name, env, help string) {
	fs.BoolVar(p, name, false, fmt.Sprintf("%s [%s]", help, env))
	c.envs[name] = env
}

// finish applies the environment to flags not given on the command line, validates
// everything and reports all problems at once.
func (c *Config) finish(fs *flag.FlagSet) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	errs := c.readSecretFiles(fs, set)
	for name, env := range c.envs {
		if v, ok := os.LookupEnv(env); ok && !set[name] {
			if err := fs.Set(name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %v", env, v, err))
			}
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		errs = append(errs, fmt.Errorf("log-level: %q is not debug, info, warn or error", c.LogLevel))
	}
	if !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, fmt.Errorf("database-url: must start with postgres://"))
	}
	if c.BenchRuns < 0 || c.BenchClients < 0 || c.BenchDuration < 0 || c.BenchEvents < 0 {
		errs = append(errs, fmt.Errorf("runs, clients, duration and events must not be negative"))
	}
	if c.BenchEvents > benchEventsMax {
		errs = append(errs, fmt.Errorf("events: at most %d, got %d", benchEventsMax, c.BenchEvents))
	}
	if _, err := parseBenchOnly(c.BenchOnly); err != nil {
		errs = append(errs, err)
	}
	if c.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			errs = append(errs, fmt.Errorf("http-addr: %v", err))
		}
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("metrics-addr: %v", err))
		}
	}
	errs = append(errs, c.Access.check(c, c.cmd)...)
	errs = append(errs, c.Report.check(c.cmd)...)
	if c.cmd == "serve" {
		errs = append(errs, c.NATS.check(c)...)
		errs = append(errs, c.Secure.check(c)...)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	return nil
}
