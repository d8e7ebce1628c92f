package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
	"github.com/vnntp/ledger/projections"
	"github.com/vnntp/ledger/report"
)

// Output formats of `ledger report`.
const (
	formatTable = "table"
	formatCSV   = "csv"
	formatJSON  = "json"
)

// replayChunk is how many events `ledger report` hands the projection at once: Apply
// takes its lock once per chunk.
const replayChunk = 4096

// ReportConfig holds the flags of `ledger report` and `ledger replay`. Config.Report
// holds it; newConfig registers it.
type ReportConfig struct {
	GroupBy, Program, Unit, Project, Source, Basis string
	Units                                          string // recorded or current
	Year                                           int
	AsOf                                           string // YYYY-MM-DD
	At                                             int64
	Counterpart                                    bool
	FromYear, ToYear                               int
	Format, Lang                                   string
	Progress                                       bool // draw the progress bar even when stderr is not a terminal
	BOM                                            bool // --bom: start a CSV with the UTF-8 byte order mark

	asOf ledger.Date // AsOf, parsed by check
	lang report.Lang // Lang, parsed by check

	// Stderr receives the progress bar; nil means os.Stderr.
	Stderr io.Writer
}

// register defines the flags of cmd that ReportConfig holds.
func (r *ReportConfig) register(fs *flag.FlagSet, c *Config, cmd string) {
	switch cmd {
	case "report":
		fs.StringVar(&r.GroupBy, "group-by", "", "zero, one or two of province, district, commune, project, subproject, source, year, comma-separated")
		fs.StringVar(&r.Program, "program", "", "one program (required to group by project when several exist)")
		fs.StringVar(&r.Unit, "unit", "", "the subtree of a unit, e.g. 06 (Bắc Kạn); with --counterpart, the province")
		fs.StringVar(&r.Project, "project", "", "the subtree of a project")
		fs.StringVar(&r.Source, "source", "", "one capital source")
		fs.IntVar(&r.Year, "year", 0, "plan year (plan_year basis) or execution year (execution_year basis, required)")
		fs.StringVar(&r.Basis, "basis", string(projections.BasisPlanYear), "plan_year or execution_year")
		fs.StringVar(&r.Units, "units", string(projections.UnitsRecorded), "recorded (the units that held the lines) or current (restated onto their successors on the as-of date)")
		fs.StringVar(&r.AsOf, "as-of", "", "business date YYYY-MM-DD (tính đến hết ngày); empty: no limit")
		fs.Int64Var(&r.At, "at", 0, "ledger position (as known then); 0: the head")
		fs.BoolVar(&r.Counterpart, "counterpart", false, "print the counterpart funds check per province instead")
		fs.IntVar(&r.FromYear, "from-year", 0, "with --counterpart: first plan year")
		fs.IntVar(&r.ToYear, "to-year", 0, "with --counterpart: last plan year")
		fs.StringVar(&r.Format, "format", formatTable, "table, csv or json")
		fs.StringVar(&r.Lang, "lang", string(report.LangVI), "vi or en: headers and number formatting of table and csv")
		fs.BoolVar(&r.Progress, "progress", false, "draw the progress bar on stderr even when it is not a terminal")
		fs.BoolVar(&r.BOM, "bom", true, "with --format csv: start with the UTF-8 byte order mark that Excel needs (--bom=false: none)")
	case "replay":
		fs.BoolVar(&r.Progress, "progress", false, "draw the progress bar on stderr even when it is not a terminal")
	}
}

// check validates the flags of cmd.
func (r *ReportConfig) check(cmd string) []error {
	if cmd != "report" {
		return nil
	}
	var errs []error
	switch r.Format {
	case formatTable, formatCSV, formatJSON:
	default:
		errs = append(errs, fmt.Errorf("format: %q is not table, csv or json", r.Format))
	}
	var ok bool
	if r.lang, ok = report.ParseLang(r.Lang); !ok {
		errs = append(errs, fmt.Errorf("lang: %q is not vi or en", r.Lang))
	}
	if r.AsOf != "" {
		d, err := ledger.ParseDate(r.AsOf, "as-of")
		if err != nil {
			errs = append(errs, fmt.Errorf("as-of: %q is not a date YYYY-MM-DD", r.AsOf))
		}
		r.asOf = d
	}
	if r.At < 0 {
		errs = append(errs, fmt.Errorf("at: must be a ledger position ≥ 1, or 0 for the head"))
	}
	return errs
}

func (r *ReportConfig) stderr() io.Writer {
	if r.Stderr == nil {
		return os.Stderr
	}
	return r.Stderr
}

// showProgress reports whether to draw a progress bar on w: when asked, or when w is a
// terminal (a redirected stderr gets no carriage returns).
func (r *ReportConfig) showProgress(w io.Writer) bool {
	if r.Progress {
		return true
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// offlineReport runs `ledger report`: it replays the store into a fresh progress
// projection and prints a report, the same figures as GET /v1/progress, without a server.
func offlineReport(ctx context.Context, cfg *Config, stdout io.Writer) error {
	store, err := pgstore.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	rc := &cfg.Report
	p, took, err := replayProgress(ctx, store, rc)
	if err != nil {
		return err
	}
	head, _ := p.Head()
	cfg.Logger.Debug("store replayed", "position", head, "duration", took.Round(time.Millisecond))
	return printReport(p, rc, stdout)
}

// replayProgress folds every event of the store, up to the head when it starts, into a
// new projection, drawing progress on stderr when asked.
func replayProgress(ctx context.Context, store *pgstore.Store, rc *ReportConfig) (*projections.Progress, time.Duration, error) {
	start := time.Now()
	head, _, err := store.Head(ctx)
	if err != nil {
		return nil, 0, err
	}
	var bar *progress
	if w := rc.stderr(); rc.showProgress(w) {
		bar = newProgress(w, "replay")
	}
	p := &projections.Progress{}
	chunk := make([]*ledger.Event, 0, replayChunk)
	flush := func() {
		p.Apply(chunk)
		if bar != nil && len(chunk) > 0 {
			bar.update(chunk[len(chunk)-1].Position, head)
		}
		chunk = chunk[:0]
	}
	err = store.ReadFrom(ctx, 0, func(e *ledger.Event) error {
		if e.Position > head {
			return errStop // committed after the report began: a report names one position
		}
		if chunk = append(chunk, e); len(chunk) == replayChunk {
			flush()
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, 0, err
	}
	flush()
	if bar != nil {
		bar.end()
	}
	return p, time.Since(start), nil
}

// errStop ends a ReadFrom early.
var errStop = errors.New("stop")

// printReport computes the report that rc asks of p and prints it in rc.Format.
func printReport(p *projections.Progress, rc *ReportConfig, w io.Writer) error {
	f := report.Filters{Program: rc.Program, Unit: rc.Unit, Project: rc.Project, Source: rc.Source}
	var sh report.Sheet
	var js []byte
	if rc.Counterpart {
		r, err := p.Counterpart(projections.CounterpartQuery{Program: rc.Program, Unit: rc.Unit, FromYear: rc.FromYear,
			ToYear: rc.ToYear, AsOf: rc.asOf, At: rc.At, Units: projections.Units(rc.Units)})
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if rc.Format == formatJSON {
			if js, err = r.MarshalJSON(); err != nil {
				return err
			}
		}
		sh = report.LayoutCounterpart(r, f, rc.lang)
	} else {
		q := projections.Query{Program: rc.Program, Unit: rc.Unit, Project: rc.Project, Source: rc.Source,
			Year: rc.Year, Basis: projections.Basis(rc.Basis), AsOf: rc.asOf, At: rc.At, GroupBy: projections.ParseDimensions(rc.GroupBy),
			Units: projections.Units(rc.Units)}
		r, err := p.Query(q)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if rc.Format == formatJSON {
			if js, err = r.MarshalJSON(); err != nil {
				return err
			}
		}
		sh = report.Layout(r, f, rc.lang)
	}
	switch rc.Format {
	case formatJSON:
		_, err := w.Write(append(js, '\n'))
		return err
	case formatCSV:
		return report.WriteCSV(w, sh, rc.lang, rc.BOM)
	}
	return report.WriteTable(w, sh, rc.lang)
}
