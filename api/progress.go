package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/projections"
	"github.com/vnntp/ledger/report"
)

// Limits of the progress routes.
const (
	// ProgressLagMax is how many events the progress projection may trail the writer's
	// head before GET /readyz answers 503. The projection is fed behind the writer
	// (projections.Fanout) and folds a group commit (ledger.BatchMaxEvents) in
	// milliseconds; beyond two of them, something is stuck and a balancer should send
	// readers elsewhere.
	ProgressLagMax = 2 * ledger.BatchMaxEvents
	// ExportRowsMax bounds the rows of a CSV or XLSX report: an XLSX sheet holds
	// 1,048,576 rows, and the header block takes a dozen.
	ExportRowsMax = 1_000_000
	// xlsxConcurrentMax is how many XLSX reports are built at once: a workbook is
	// compressed in memory before it is sent, and two at a time already use both cores.
	xlsxConcurrentMax = 2
)

// PositionFinder resolves "as known at" a time to a ledger position (*pgstore.Store).
type PositionFinder interface {
	// PositionAt returns the last position recorded at or before t, 0 when none was. It
	// returns a wrapped store error when the store cannot be read.
	PositionAt(ctx context.Context, t time.Time) (int64, error)
}

// errNoProgress answers the progress routes of a server built without a projection.
var errNoProgress = unavailable("the progress projection is not configured on this server")

// Query parameters of the progress routes; onlyParams refuses any other.
var (
	progressParams    = []string{"group_by", "program", "unit", "project", "source", "year", "basis", "as_of", "at", "known_at", "units"}
	progressExtParams = append(append([]string(nil), progressParams...), "lang")
	progressCSVParams = append(append([]string(nil), progressExtParams...), "bom")
	counterpartParams = []string{"program", "province", "from_year", "to_year", "as_of", "at", "known_at", "units"}
)

// progressRoutes registers the progress routes.
func (s *Server) progressRoutes(e *echo.Echo) {
	e.GET("/v1/progress", s.handleProgress)
	e.GET("/v1/progress.csv", s.handleProgressCSV)
	e.GET("/v1/progress.xlsx", s.handleProgressXLSX(make(chan struct{}, xlsxConcurrentMax)))
	e.GET("/v1/progress/counterpart", s.handleCounterpart)
}

func (s *Server) handleProgress(c echo.Context) error {
	r, _, err := s.progressReport(c, progressParams)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, r)
}

func (s *Server) handleProgressCSV(c echo.Context) error {
	r, f, err := s.progressReport(c, progressCSVParams)
	if err != nil {
		return err
	}
	lang, err := langParam(c.QueryParams())
	if err != nil {
		return err
	}
	bom, err := bomParam(c.QueryParams())
	if err != nil {
		return err
	}
	if len(r.Rows) > ExportRowsMax {
		return tooManyRows(len(r.Rows))
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="progress-%d.csv"`, r.Position))
	res.WriteHeader(http.StatusOK)
	if err := report.WriteCSV(res, report.Layout(r, f, lang), lang, bom); err != nil {
		// The status line is out: cut the connection so that the client sees a truncated
		// transfer, not a report that looks complete.
		s.log.Error("progress CSV cut short", "request_id", requestIDOf(c), "error", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// handleProgressXLSX serves the report as a workbook; slots bounds the workbooks built at
// once.
func (s *Server) handleProgressXLSX(slots chan struct{}) echo.HandlerFunc {
	return func(c echo.Context) error {
		r, f, err := s.progressReport(c, progressExtParams)
		if err != nil {
			return err
		}
		lang, err := langParam(c.QueryParams())
		if err != nil {
			return err
		}
		if len(r.Rows) > ExportRowsMax {
			return tooManyRows(len(r.Rows))
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		default:
			c.Response().Header().Set("Retry-After", "1")
			return unavailable("too many XLSX reports are being built; retry shortly")
		}
		res := c.Response()
		res.Header().Set(echo.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		res.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="progress-%d.xlsx"`, r.Position))
		res.WriteHeader(http.StatusOK)
		if err := report.WriteXLSX(res, report.Layout(r, f, lang), lang); err != nil {
			s.log.Error("progress XLSX cut short", "request_id", requestIDOf(c), "error", err)
			panic(http.ErrAbortHandler)
		}
		return nil
	}
}

func (s *Server) handleCounterpart(c echo.Context) error {
	if s.cfg.Progress == nil {
		return errNoProgress
	}
	if err := s.freshProgress(c); err != nil {
		return err
	}
	q := c.QueryParams()
	if err := onlyParams(q, counterpartParams...); err != nil {
		return err
	}
	var cq projections.CounterpartQuery
	var err error
	cq.Program, cq.Units = q.Get("program"), projections.Units(q.Get("units"))
	if cq.Unit, err = s.scopedUnit(c, q.Get("province"), "province"); err != nil {
		return err
	}
	if cq.FromYear, err = yearParam(q, "from_year"); err != nil {
		return err
	}
	if cq.ToYear, err = yearParam(q, "to_year"); err != nil {
		return err
	}
	if cq.AsOf, err = asOfParam(q); err != nil {
		return err
	}
	if cq.At, err = s.atParam(c, q); err != nil {
		return err
	}
	r, err := s.cfg.Progress.Counterpart(cq)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, r)
}

// progressReport parses the query parameters of a progress route (refusing any not in
// known), applies the principal's scope and computes the report.
func (s *Server) progressReport(c echo.Context, known []string) (projections.Report, report.Filters, error) {
	if s.cfg.Progress == nil {
		return projections.Report{}, report.Filters{}, errNoProgress
	}
	if err := s.freshProgress(c); err != nil {
		return projections.Report{}, report.Filters{}, err
	}
	q := c.QueryParams()
	if err := onlyParams(q, known...); err != nil {
		return projections.Report{}, report.Filters{}, err
	}
	var pq projections.Query
	var err error
	if v := q.Get("group_by"); v != "" {
		pq.GroupBy = projections.ParseDimensions(v)
	}
	pq.Program, pq.Project, pq.Source, pq.Basis = q.Get("program"), q.Get("project"), q.Get("source"), projections.Basis(q.Get("basis"))
	pq.Units = projections.Units(q.Get("units"))
	if pq.Unit, err = s.scopedUnit(c, q.Get("unit"), "unit"); err != nil {
		return projections.Report{}, report.Filters{}, err
	}
	if pq.Year, err = yearParam(q, "year"); err != nil {
		return projections.Report{}, report.Filters{}, err
	}
	if pq.AsOf, err = asOfParam(q); err != nil {
		return projections.Report{}, report.Filters{}, err
	}
	if pq.At, err = s.atParam(c, q); err != nil {
		return projections.Report{}, report.Filters{}, err
	}
	r, err := s.cfg.Progress.Query(pq)
	return r, report.Filters{Program: pq.Program, Unit: pq.Unit, Project: pq.Project, Source: pq.Source}, err
}

// scopedUnit applies the principal's unit subtree to a unit filter (named field): a
// filter outside the subtree is refused, not answered empty (an empty report would read
// as "nothing recorded there"), and no filter means the subtree's root.
func (s *Server) scopedUnit(c echo.Context, unit, field string) (string, error) {
	scope := scopeOf(c)
	if scope == "" {
		return unit, nil
	}
	if unit == "" {
		return scope, nil
	}
	if err := s.freshBalances(c); err != nil {
		return "", err
	}
	ok := false
	s.cfg.Balances.Read(func(st *ledger.State) { ok = st.Catalog.IsUnitSucceededWithin(unit, scope) })
	if !ok {
		return "", outOfScope(field, scope)
	}
	return unit, nil
}

// atParam returns the report position: at (a position ≥ 1), or known_at (an RFC 3339
// time) resolved to the last position recorded by then, or 0 for the head.
func (s *Server) atParam(c echo.Context, q url.Values) (int64, error) {
	at, known := q.Get("at"), q.Get("known_at")
	switch {
	case at != "" && known != "":
		return 0, invalidArg("known_at", "give at or known_at, not both")
	case at != "":
		n, err := strconv.ParseInt(at, 10, 64)
		if err != nil || n < 1 {
			return 0, invalidArg("at", fmt.Sprintf("must be a ledger position ≥ 1, got %q", at))
		}
		return n, nil // the projection refuses a position beyond its head, naming at
	case known != "":
		t, err := time.Parse(time.RFC3339Nano, known)
		if err != nil {
			return 0, invalidArg("known_at", fmt.Sprintf("must be an RFC 3339 time such as 2024-06-01T00:00:00+07:00, got %q", known))
		}
		if s.cfg.Positions == nil {
			return 0, unavailable("known_at is not configured on this server; use at")
		}
		pos, err := s.cfg.Positions.PositionAt(c.Request().Context(), t)
		if err != nil {
			return 0, storeError(err, "resolve known_at")
		}
		if pos == 0 {
			return 0, invalidArg("known_at", fmt.Sprintf("no event was recorded at or before %s", t.UTC().Format(time.RFC3339Nano)))
		}
		// Recorded, perhaps not yet folded into the projection: answering at its head
		// would silently leave those events out.
		if err := s.awaitPosition(c, s.cfg.Progress, "progress", pos); err != nil {
			return 0, err
		}
		return pos, nil
	}
	return 0, nil
}

func yearParam(q url.Values, field string) (int, error) {
	v := q.Get(field)
	if v == "" {
		return 0, nil
	}
	y, err := strconv.Atoi(v)
	if err != nil || y < 1 {
		return 0, invalidArg(field, fmt.Sprintf("must be a year such as 2024, got %q", v))
	}
	return y, nil
}

func asOfParam(q url.Values) (ledger.Date, error) {
	v := q.Get("as_of")
	if v == "" {
		return 0, nil
	}
	return ledger.ParseDate(v, "as_of")
}

func langParam(q url.Values) (report.Lang, error) {
	v := q.Get("lang")
	if v == "" {
		return report.LangVI, nil
	}
	lang, ok := report.ParseLang(v)
	if !ok {
		return "", invalidArg("lang", fmt.Sprintf("must be vi or en, got %q", v))
	}
	return lang, nil
}

// bomParam reads ?bom= of a CSV route: true (the default) starts the file with the UTF-8
// byte order mark that Excel needs to read Vietnamese; false leaves it out for tools that
// do not expect it.
func bomParam(q url.Values) (bool, error) {
	switch v := q.Get("bom"); v {
	case "", "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	default:
		return false, invalidArg("bom", fmt.Sprintf("must be true or false, got %q", v))
	}
}

func tooManyRows(n int) error {
	return invalidArg("group_by", fmt.Sprintf("the report has %d rows, more than the %d a CSV or XLSX report holds; narrow it with unit or fewer group_by dimensions", n, ExportRowsMax))
}

// readyJSON is the answer of GET /readyz.
type readyJSON struct {
	Status string `json:"status"`
	// Head is the writer's last committed position; ProgressPosition the projection's,
	// and ProgressLag the difference (absent without a projection).
	Head             int64  `json:"head"`
	ProgressPosition *int64 `json:"progress_position,omitempty"`
	ProgressLag      *int64 `json:"progress_lag,omitempty"`
}

// readiness checks the projection's lag behind the writer's head.
func (s *Server) readiness() (readyJSON, error) {
	out := readyJSON{Status: "ready", Head: s.cfg.Writer.Head().Position}
	if s.cfg.Progress == nil {
		return out, nil
	}
	pos := s.cfg.Progress.Position() // not Head: a long query holds the lock Head takes
	lag := max(out.Head-pos, 0)
	out.ProgressPosition, out.ProgressLag = &pos, &lag
	if lag > ProgressLagMax {
		return out, fmt.Errorf("the progress projection is %d events behind the head (at most %d)", lag, ProgressLagMax)
	}
	return out, nil
}

func (s *Server) handleReadyz(c echo.Context) error {
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(); err != nil {
			return unavailable("not ready: " + err.Error())
		}
	}
	out, err := s.readiness()
	if err != nil {
		return unavailable("not ready: " + err.Error())
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}
