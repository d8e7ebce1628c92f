package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vnntp/ledger/api"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
	"github.com/vnntp/ledger/projections"
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
	Year                                           int
	AsOf                                           string // YYYY-MM-DD
	At                                             int64
	Counterpart                                    bool
	FromYear, ToYear                               int
	Format, Lang                                   string
	Progress                                       bool // draw the progress bar even when stderr is not a terminal

	asOf ledger.Date // AsOf, parsed by check

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
		fs.StringVar(&r.Basis, "basis", projections.BasisPlanYear, "plan_year or execution_year")
		fs.StringVar(&r.AsOf, "as-of", "", "business date YYYY-MM-DD (tính đến hết ngày); empty: no limit")
		fs.Int64Var(&r.At, "at", 0, "ledger position (as known then); 0: the head")
		fs.BoolVar(&r.Counterpart, "counterpart", false, "print the counterpart funds check per province instead")
		fs.IntVar(&r.FromYear, "from-year", 0, "with --counterpart: first plan year")
		fs.IntVar(&r.ToYear, "to-year", 0, "with --counterpart: last plan year")
		fs.StringVar(&r.Format, "format", formatTable, "table, csv or json")
		fs.StringVar(&r.Lang, "lang", api.LangVI, "vi or en: headers and number formatting of table and csv")
		fs.BoolVar(&r.Progress, "progress", false, "draw the progress bar on stderr even when it is not a terminal")
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
	if r.Lang != api.LangVI && r.Lang != api.LangEN {
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

// report replays the store into a fresh progress projection and prints a report: the
// same figures as GET /v1/progress, without a server.
func report(ctx context.Context, cfg *Config, stdout io.Writer) error {
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
	f := api.ReportFilters{Program: rc.Program, Unit: rc.Unit, Project: rc.Project, Source: rc.Source}
	var sh api.Sheet
	var js []byte
	if rc.Counterpart {
		r, err := p.Counterpart(projections.CounterpartQuery{Program: rc.Program, Unit: rc.Unit, FromYear: rc.FromYear,
			ToYear: rc.ToYear, AsOf: rc.asOf, At: rc.At})
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if rc.Format == formatJSON {
			if js, err = r.MarshalJSON(); err != nil {
				return err
			}
		}
		sh = api.LayoutCounterpart(r, f, rc.Lang)
	} else {
		q := projections.Query{Program: rc.Program, Unit: rc.Unit, Project: rc.Project, Source: rc.Source,
			Year: rc.Year, Basis: rc.Basis, AsOf: rc.asOf, At: rc.At}
		if rc.GroupBy != "" {
			q.GroupBy = strings.Split(rc.GroupBy, ",")
		}
		r, err := p.Query(q)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if rc.Format == formatJSON {
			if js, err = r.MarshalJSON(); err != nil {
				return err
			}
		}
		sh = api.LayoutReport(r, f, rc.Lang)
	}
	switch rc.Format {
	case formatJSON:
		_, err := w.Write(append(js, '\n'))
		return err
	case formatCSV:
		return api.WriteCSV(w, sh, rc.Lang)
	}
	return writeTable(w, sh, rc.Lang)
}

// tableGap separates the columns of a printed table.
const tableGap = "  "

// writeTable prints sh as an aligned text table: text columns left-aligned, money with
// the language's thousands separator and rates right-aligned.
func writeTable(w io.Writer, sh api.Sheet, lang string) error {
	var b strings.Builder
	b.WriteString(sh.Title + "\n")
	for _, m := range sh.Meta {
		if m[1] == "" {
			b.WriteString(m[0] + "\n")
		} else {
			b.WriteString(m[0] + ": " + m[1] + "\n")
		}
	}
	b.WriteByte('\n')
	cells := make([][]string, 0, len(sh.Rows)+1)
	cells = append(cells, sh.Columns)
	right := make([]bool, len(sh.Columns))
	for _, row := range sh.Rows {
		out := make([]string, len(row))
		for j, c := range row {
			switch c.Kind {
			case api.CellMoney:
				out[j], right[j] = api.FormatDong(c.Money, lang), true
			case api.CellRate:
				out[j], right[j] = api.FormatRate(c.Rate, lang), true
			default:
				out[j] = c.Text
			}
		}
		cells = append(cells, out)
	}
	width := make([]int, len(sh.Columns))
	for _, row := range cells {
		for j, s := range row {
			width[j] = max(width[j], utf8.RuneCountInString(s))
		}
	}
	for _, row := range cells {
		var line strings.Builder
		for j, s := range row {
			if j > 0 {
				line.WriteString(tableGap)
			}
			pad := strings.Repeat(" ", width[j]-utf8.RuneCountInString(s))
			if right[j] {
				line.WriteString(pad + s)
			} else {
				line.WriteString(s + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
