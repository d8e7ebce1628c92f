package dashboard

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/projections"
	"github.com/vnntp/ledger/report"
)

// Limits of the dashboard.
const (
	// linesShownMax bounds the lines of a drill-down page: the largest page of
	// GET /v1/lines.
	linesShownMax = 1000
	// lineEventsPage is how many events of a line are read from the store at once: the
	// largest page of GET /v1/lines/{id}/events.
	lineEventsPage = 1000
	// lineEventsMax bounds the events of a line page; the running balance needs the
	// line's whole history, so a line with more is cut, and the page says so.
	lineEventsMax = 5 * lineEventsPage
	// targetPercentMax bounds a trend target, in percent.
	targetPercentMax = 200
	// gzipMinBytes is the size from which a page is compressed: below it, gzip's header
	// costs more than it saves.
	gzipMinBytes = 1024
	// hashShortLen is how many hex digits of the head hash a page shows.
	hashShortLen = 12
	// staticMaxAge is the cache lifetime of the CSS and script, whose URLs carry a hash
	// of their content.
	staticMaxAge = 365 * 24 * 60 * 60
)

// Dashboard routes. "/" is the overview.
const (
	dashOverviewPath = "/"
	dashTrendPath    = "/dashboard/trend"
	dashLinesPath    = "/dashboard/lines"
	dashLinePath     = "/dashboard/line"
	dashEventsPath   = "/dashboard/events"
	dashCSSPath      = "/dashboard/app.css"
	dashJSPath       = "/dashboard/app.js"
	signinPath       = "/signin"
	signoutPath      = "/signout"
)

//go:embed web
var webFS embed.FS

// dashTemplates are the pages, each parsed with the layout; dashAssets the static files
// with the version (content hash) their URLs carry.
var (
	dashTemplates = parseDashTemplates()
	dashAssets    = map[string]*asset{dashCSSPath: loadAsset("web/app.css", "text/css; charset=utf-8"),
		dashJSPath: loadAsset("web/app.js", "text/javascript; charset=utf-8")}
)

type asset struct {
	body    []byte
	ctype   string
	version string
}

func loadAsset(name, ctype string) *asset {
	b, err := webFS.ReadFile(name)
	if err != nil {
		panic("dashboard asset " + name + ": " + err.Error())
	}
	sum := sha256.Sum256(b)
	return &asset{body: b, ctype: ctype, version: hex.EncodeToString(sum[:4])}
}

func parseDashTemplates() map[string]*template.Template {
	funcs := template.FuncMap{"stampOf": func(p *page, asOf, position, hash string) stamp {
		view := p.W.UnitsRecorded
		if p.state.Units == projections.UnitsCurrent {
			view = p.W.UnitsCurrent
		}
		return stamp{W: p.W, AsOf: asOf, Position: position, HeadHash: hash, Units: view}
	}}
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(webFS, "web/layout.html"))
	pages, err := fs.Glob(webFS, "web/page_*.html")
	if err != nil || len(pages) == 0 {
		panic("dashboard: no page templates embedded")
	}
	out := map[string]*template.Template{}
	for _, p := range pages {
		name := strings.TrimSuffix(strings.TrimPrefix(p, "web/page_"), ".html")
		out[name] = template.Must(template.Must(layout.Clone()).ParseFS(webFS, p))
	}
	return out
}

// stamp is the line that says what a page's figures were computed from.
type stamp struct {
	W                        *dashWords
	AsOf, Position, HeadHash string
	Units                    string // the view of units, named on every page
}

// dashState is what a dashboard page shows, all of it in its URL so that a link shares
// the exact view. The zero dashState is the overview in Vietnamese, every plan year, at
// the head.
type dashState struct {
	Lang    report.Lang
	AsOf    ledger.Date
	Basis   projections.Basis // "" is the plan-year basis
	Year    int
	Program string
	Source  string
	Target  string // trend target, percent as typed
	Unit    string // drill-down
	Project string // drill-down
	Line    string // line page: the canonical line id

	// Units is the view of units; "" is the view as recorded.
	Units projections.Units
}

// dashParams are the query parameters of the dashboard pages.
var dashParams = []string{"lang", "as_of", "basis", "year", "program", "source", "target", "unit", "project", "id", "units"}

// parseDashState reads the page state from the query; a bad value is invalid_argument
// naming the parameter.
func parseDashState(q url.Values) (dashState, error) {
	st := dashState{Lang: dashLang(q.Get("lang"))}
	if err := onlyParams(q, dashParams...); err != nil {
		return st, err
	}
	var err error
	if v := q.Get("as_of"); v != "" {
		if st.AsOf, err = parseAsOf(v); err != nil {
			return st, err
		}
	}
	switch b := projections.Basis(q.Get("basis")); b {
	case "", projections.BasisPlanYear:
	case projections.BasisExecutionYear:
		st.Basis = b
	default:
		return st, invalidArg("basis", fmt.Sprintf("must be %s or %s, got %q", projections.BasisPlanYear, projections.BasisExecutionYear, b))
	}
	switch u := projections.Units(q.Get("units")); u {
	case "", projections.UnitsRecorded:
	case projections.UnitsCurrent:
		st.Units = u
	default:
		return st, invalidArg("units", fmt.Sprintf("must be %s or %s, got %q", projections.UnitsRecorded, projections.UnitsCurrent, u))
	}
	if st.Year, err = yearParam(q, "year"); err != nil {
		return st, err
	}
	st.Program, st.Source, st.Unit, st.Project, st.Line = q.Get("program"), q.Get("source"), q.Get("unit"), q.Get("project"), q.Get("id")
	if t := q.Get("target"); t != "" {
		if _, ok := parsePercent(t); !ok {
			return st, invalidArg("target", fmt.Sprintf("must be a percentage from 0 to %d, got %q", targetPercentMax, t))
		}
		st.Target = t
	}
	return st, nil
}

// values returns the state as query parameters, empty ones left out, Vietnamese (the
// default) too.
func (st dashState) values() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	if st.Lang == report.LangEN {
		q.Set("lang", string(report.LangEN))
	}
	set("as_of", st.AsOf.String())
	set("basis", string(st.Basis))
	if st.Year != 0 {
		q.Set("year", strconv.Itoa(st.Year))
	}
	set("program", st.Program)
	set("source", st.Source)
	set("target", st.Target)
	set("unit", st.Unit)
	set("project", st.Project)
	set("id", st.Line)
	set("units", string(st.Units))
	return q
}

// query is "?" and the encoded values, or "" when there are none.
func (st dashState) query() string {
	if e := st.values().Encode(); e != "" {
		return "?" + e
	}
	return ""
}

// with returns a copy of st with parameters set from name, value pairs.
func (st dashState) with(kv ...string) dashState {
	for i := 0; i+1 < len(kv); i += 2 {
		switch v := kv[i+1]; kv[i] {
		case "lang":
			st.Lang = dashLang(v)
		case "unit":
			st.Unit = v
		case "project":
			st.Project = v
		case "id":
			st.Line = v
		case "target":
			st.Target = v
		case "units":
			st.Units = projections.Units(v)
		default:
			panic("dashState.with: unknown parameter " + kv[i])
		}
	}
	return st
}

// option is one choice of a select control.
type option struct {
	Value, Label string
	Selected     bool
}

// page is what the layout and a page template render.
type page struct {
	W       *dashWords
	Lang    report.Lang
	Title   string
	Message string // an error or notice shown above the content
	Who     string // "name (role)" of the signed-in principal; "" on the sign-in page
	Scope   string // the unit subtree the reader sees, by name
	Path    string // the page's route, for the controls form and the language switch

	Programs, Sources, Bases []option
	UnitViews                []option
	AsOfValue, YearValue     string

	Position int64 // the ledger position shown; the live-update script compares it
	// Live makes the page follow the ledger's head (data-position, data-live): only the
	// data pages do; an error page never does, or the feed would reload it in a loop.
	Live bool
	// PeriodEnds are the quick choices of the as-of date.
	PeriodEnds []quickDate

	Overview *overviewView
	Trend    *trendView
	LinesV   *linesView
	LineV    *lineView
	ImportV  *importView
	// CanImport shows the officers' Excel import in the menu.
	CanImport bool

	state dashState
}

// Link returns path with the page's state and the name, value overrides as its query.
func (p *page) Link(path string, kv ...string) string { return path + p.state.with(kv...).query() }

// LangLink is the page itself in the other language.
func (p *page) LangLink() string { return p.Link(p.Path, "lang", string(p.W.OtherLang)) }

// Asset returns the versioned URL of a static file.
func (p *page) Asset(path string) string { return path + "?v=" + dashAssets[path].version }

// Target is the trend target as typed.
func (p *page) Target() string { return p.state.Target }

// Hidden are the state parameters that the controls form does not show but must keep.
func (p *page) Hidden() [][2]string {
	var out [][2]string
	for _, kv := range [][2]string{{"unit", p.state.Unit}, {"project", p.state.Project}, {"id", p.state.Line}} {
		if kv[1] != "" {
			out = append(out, kv)
		}
	}
	if p.Path != dashTrendPath && p.state.Target != "" {
		out = append(out, [2]string{"target", p.state.Target})
	}
	return out
}

// newPage starts a data page for the signed-in principal pr: words, controls and scope.
func (s *Server) newPage(pr *ledger.Principal, st dashState, path, title string) *page {
	w := wordsOf(st.Lang)
	p := &page{W: w, Lang: st.Lang, Title: title, Who: pr.Actor(), Path: path, state: st, Scope: w.Everything, Live: true,
		CanImport: s.canImport(pr)}
	p.PeriodEnds = p.periodEnds(ledger.DateOf(s.now().In(vietnamTime)))
	if !st.AsOf.IsZero() {
		p.AsOfValue = report.FormatDate(st.AsOf, st.Lang) // the page's one date format
	}
	if st.Year != 0 {
		p.YearValue = strconv.Itoa(st.Year)
	}
	p.Bases = []option{{string(projections.BasisPlanYear), w.BasisPlan, st.Basis == ""},
		{string(projections.BasisExecutionYear), w.BasisExec, st.Basis == projections.BasisExecutionYear}}
	p.UnitViews = []option{{string(projections.UnitsRecorded), w.UnitsRecorded, st.Units == ""},
		{string(projections.UnitsCurrent), w.UnitsCurrent, st.Units == projections.UnitsCurrent}}
	scope := pr.Scope()
	s.cfg.Balances.Read(func(state *ledger.State) {
		cat := &state.Catalog
		if u := cat.Units[scope]; u != nil {
			p.Scope = u.Name
		}
		// With several programs a report by project needs one: "every program" is offered
		// only when there is one, and the default (resolveDefaults) is a program.
		if len(cat.Programs) <= 1 {
			p.Programs = append(p.Programs, option{"", w.AllPrograms, st.Program == ""})
		}
		for _, code := range sortedKeys(cat.Programs) {
			p.Programs = append(p.Programs, option{code, code + " — " + cat.Programs[code].Name, code == st.Program})
		}
		p.Sources = append(p.Sources, option{"", w.AllSources, st.Source == ""})
		for _, code := range sortedKeys(cat.Sources) {
			p.Sources = append(p.Sources, option{code, code + " — " + cat.Sources[code].Name, code == st.Source})
		}
	})
	return p
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// dashRequest authenticates a data page and reads its state. A request without a valid
// session is sent to the sign-in page.
func (s *Server) dashRequest(c echo.Context) (*ledger.Principal, dashState, error) {
	lang := dashLang(c.QueryParam("lang"))
	pr, err := s.dashboardAuth(c)
	if err != nil {
		return nil, dashState{Lang: lang}, err
	}
	st, err := parseDashState(c.QueryParams())
	if err != nil {
		return pr, st, err
	}
	// Every data page reads the Balances projection (catalog, scope) and the Progress
	// projection (figures as of the date, default program).
	if err := s.cfg.API.AwaitBalances(c); err != nil {
		return pr, st, err
	}
	if s.cfg.Progress != nil {
		if err := s.cfg.API.AwaitProgress(c); err != nil {
			return pr, st, err
		}
	}
	s.resolveDefaults(pr, &st)
	return pr, st, nil
}

// progressRequest is dashRequest for the pages drawn from the Progress projection.
func (s *Server) progressRequest(c echo.Context) (*ledger.Principal, dashState, error) {
	pr, st, err := s.dashRequest(c)
	if err == nil && s.cfg.Progress == nil {
		err = errNoProgress
	}
	return pr, st, err
}

// renderPage executes template name with p and sends it, compressed when the client
// takes gzip and the page is large enough to gain from it.
func (s *Server) renderPage(c echo.Context, status int, name string, p *page) error {
	t := dashTemplates[name]
	dashInvariant(t != nil, "no dashboard template "+name)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	// The pages carry data a token was needed to see, like the /v1 answers.
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept-Encoding")
	// Within the dashboard the browser must send Origin on its form posts (the CSRF check
	// of sameOrigin); under the API's no-referrer it sends "null". same-origin still sends
	// nothing to other sites.
	h.Set("Referrer-Policy", "same-origin")
	body := buf.Bytes()
	if buf.Len() >= gzipMinBytes && acceptsGzip(c.Request()) {
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
		_, _ = zw.Write(body)
		if err := zw.Close(); err != nil {
			return err
		}
		h.Set(echo.HeaderContentEncoding, "gzip")
		body = z.Bytes()
	}
	return c.Blob(status, echo.MIMETextHTMLCharsetUTF8, body)
}

func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
				return true
			}
		}
	}
	return false
}

// dashError answers a dashboard request that failed: to the sign-in page when there is
// no valid session, else an HTML page with the problem's status and detail. Internal
// errors are logged and shown as "internal error", like the API's.
func (s *Server) dashError(c echo.Context, err error, lang report.Lang) error {
	if errors.Is(err, errNotSignedIn) {
		return c.Redirect(http.StatusSeeOther, signinPath+dashState{Lang: lang}.query())
	}
	status, msg := s.cfg.API.Problem(err)
	if status == http.StatusInternalServerError {
		s.log.Error("internal error", "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	w := wordsOf(lang)
	return s.renderPage(c, status, "error", &page{W: w, Lang: lang, Title: w.Error, Message: msg,
		Who: actorIfAny(c), state: dashState{Lang: lang}, Path: dashOverviewPath, Live: false})
}

func actorIfAny(c echo.Context) string {
	if p := principalOf(c); p != nil {
		return p.Actor()
	}
	return ""
}

// handleAsset serves the CSS and the script. A URL with the current version is cached
// for a year: a new build changes the version, so no stale file is ever used.
func (s *Server) handleAsset(c echo.Context) error {
	a := dashAssets[c.Path()]
	dashInvariant(a != nil, "no dashboard asset for "+c.Path())
	if c.QueryParam("v") == a.version {
		c.Response().Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(staticMaxAge)+", immutable")
	} else {
		c.Response().Header().Set("Cache-Control", "no-cache")
	}
	return c.Blob(http.StatusOK, a.ctype, a.body)
}

// Views of the overview.

// figures are a group's amounts formatted for reading.
type figures struct {
	Plan, Disbursed, Available, Rate string
	// Width is the bar length, the rate in percent clamped to 0..100, for an SVG rect.
	Width string
	// Class colours a matrix cell or bar by rate band (q0 … q10, qn for no rate).
	Class string
}

func figuresOf(a projections.Amounts, lang report.Lang) figures {
	return figures{Plan: report.FormatAmount(a.Plan, lang), Disbursed: report.FormatAmount(a.Disbursed, lang),
		Available: report.FormatAmount(a.Available, lang), Rate: report.FormatPercent(a.Rate, lang),
		Width: barWidth(a.Rate), Class: rateClass(a.Rate)}
}

// barWidth is the rate in percent, clamped to 0..100, as an SVG length.
func barWidth(r *projections.Rate) string {
	if r == nil {
		return "0"
	}
	v := min(max(int64(*r), 0), 10000)
	return fmt.Sprintf("%d.%02d", v/100, v%100)
}

// rateClass is the colour band of a rate: q0 below 10 %, … q9 from 90 %, q10 at 100 %
// and above; qn without a rate.
func rateClass(r *projections.Rate) string {
	if r == nil {
		return "qn"
	}
	return "q" + strconv.FormatInt(min(max(int64(*r), 0)/1000, 10), 10)
}

// ranked is one bar of a ranking.
type ranked struct {
	Key, Name, Href string
	figures
}

// matrixRow is one unit of the unit × project matrix.
type matrixRow struct {
	Key, Name, Href string
	Cells           []matrixCell
}

type matrixCell struct {
	Href, Title string
	Rate        string // "" when the unit has no plan on the project
	Class       string
}

type counterpartView struct {
	Province, Name, Counterpart, Central, Required, Rate, Pass string
	OK                                                         bool
}

type overviewView struct {
	Total        figures
	AsOf         string // the as-of date or "no limit"
	Position     string
	HeadHash     string
	UnitHeading  string
	ByUnit       []ranked
	ByProject    []ranked
	MatrixCols   []ranked // projects: Key, Name
	Matrix       []matrixRow
	Counterpart  []counterpartView
	CounterRatio string
	// Commitments: one row per unit and the total, when the ledger holds a contract.
	Commitments []commitmentView
	Lapsing     string // "" when no capital is past its deadline
	Deadlines   []deadlineView
	Target      *targetView // nil when no target is recorded for the page's scope and year
}

// commitmentView is one row of the commitments panel.
type commitmentView struct {
	Name, Href, Plan, Committed, Rate, Outstanding, Oldest, Over90 string
}

func commitmentOf(name, href string, r *projections.Row, lang report.Lang) commitmentView {
	c := r.Commitments
	v := commitmentView{Name: name, Href: href, Plan: report.FormatAmount(r.Plan, lang),
		Committed: report.FormatAmount(c.Committed, lang), Rate: report.FormatPercent(c.CommitmentRate, lang),
		Outstanding: report.FormatAmount(c.Outstanding, lang)}
	if c.OldestDays != nil {
		v.Oldest = strconv.FormatInt(*c.OldestDays, 10)
	}
	if a := c.ByAge; a != nil {
		v.Over90 = report.FormatAmount(a.Days91To180+a.Over180, lang)
	}
	return v
}

// targetView is the target in force for the page's scope and whether it is met.
type targetView struct {
	Rate, By, Expected, Verdict string
	OnTrack                     bool
}

// deadlineView is one line of the near-deadline panel.
type deadlineView struct {
	Line, Href, Unit, Available, Deadline, DaysLeft, LegalBasis string
}

// nearDeadlineDays is how far ahead the overview looks for deadlines, and
// nearDeadlineLines how many lines it lists.
const (
	nearDeadlineDays  = 90
	nearDeadlineLines = 10
)

// childLevel is the unit dimension below the reader's scope: provinces for everyone,
// districts within a province, communes within a district or commune. Restated onto
// today's units (units=current), a province's children are communes from the date the
// district level no longer exists.
func (s *Server) childLevel(scope string, st dashState) (group projections.Dimension, level ledger.Level) {
	if scope == "" {
		return projections.GroupProvince, ""
	}
	districts := true
	s.cfg.Balances.Read(func(state *ledger.State) {
		if u := state.Catalog.Units[scope]; u != nil {
			level = u.Level
		}
		if st.Units == projections.UnitsCurrent {
			on := st.AsOf
			if on.IsZero() {
				on = ledger.DateMax
			}
			districts = slices.Contains(state.Catalog.LevelsOn(on), ledger.LevelDistrict)
		}
	})
	switch {
	case level == ledger.LevelProvince && districts:
		return projections.GroupDistrict, level
	default:
		return projections.GroupCommune, level
	}
}

// headingLevel is the key of Levels (named by the level above the rows) for a ranking
// grouped by group under a scope of level: restated onto today's units a province's rows
// are communes, named as a district's are.
func headingLevel(group projections.Dimension, level ledger.Level) ledger.Level {
	if group == projections.GroupCommune && level == ledger.LevelProvince {
		return ledger.LevelDistrict
	}
	return level
}

// baseQuery is the progress query of the page state within the reader's scope.
func (st dashState) baseQuery(unit string) projections.Query {
	return projections.Query{Program: st.Program, Unit: unit, Source: st.Source, Year: st.Year, Basis: st.Basis, AsOf: st.AsOf,
		Units: st.Units}
}

func (s *Server) handleOverview(c echo.Context) error {
	pr, st, err := s.progressRequest(c)
	if err != nil {
		return s.dashError(c, err, st.Lang)
	}
	w := wordsOf(st.Lang)
	p := s.newPage(pr, st, dashOverviewPath, w.Overview)
	unit := pr.Scope()
	group, level := s.childLevel(unit, st)
	q := st.baseQuery(unit)
	q.GroupBy = []projections.Dimension{group}
	byUnit, err := s.cfg.Progress.Query(q)
	if err != nil {
		return s.dashError(c, err, st.Lang)
	}
	// Every figure of the page comes from the same position, even if events arrive
	// while it is computed.
	q.At = byUnit.Position
	q.GroupBy = []projections.Dimension{projections.GroupProject}
	byProject, err := s.cfg.Progress.Query(q)
	if err != nil {
		return s.dashError(c, err, st.Lang)
	}
	q.GroupBy = []projections.Dimension{group, projections.GroupProject}
	matrix, err := s.cfg.Progress.Query(q)
	if err != nil {
		return s.dashError(c, err, st.Lang)
	}
	cp, err := s.cfg.Progress.Counterpart(projections.CounterpartQuery{Program: st.Program, Unit: unit,
		FromYear: st.Year, ToYear: st.Year, AsOf: st.AsOf, At: byUnit.Position, Units: st.Units})
	if err != nil {
		return s.dashError(c, err, st.Lang)
	}
	ov := &overviewView{Total: figuresOf(byUnit.Total.Amounts, st.Lang), AsOf: w.NoLimit,
		Position: formatCount(byUnit.Position, st.Lang), HeadHash: hex.EncodeToString(byUnit.HeadHash[:])[:hashShortLen],
		UnitHeading:  w.RatesByUnit + " (" + strings.ToLower(w.Levels[headingLevel(group, level)]) + ")",
		CounterRatio: fmt.Sprintf("%d/%d", cp.Ratio.Num, cp.Ratio.Den)}
	if !st.AsOf.IsZero() {
		ov.AsOf = report.FormatDate(st.AsOf, st.Lang)
	}
	for _, r := range byUnit.Rows {
		ov.ByUnit = append(ov.ByUnit, ranked{Key: r.Key[0], Name: r.Name[0], Href: p.Link(dashLinesPath, "unit", r.Key[0]),
			figures: figuresOf(r.Amounts, st.Lang)})
	}
	for _, r := range byProject.Rows {
		ov.ByProject = append(ov.ByProject, ranked{Key: r.Key[0], Name: r.Key[0] + " · " + r.Name[0], Href: p.Link(dashLinesPath, "project", r.Key[0]),
			figures: figuresOf(r.Amounts, st.Lang)})
	}
	ov.MatrixCols = append(ov.MatrixCols, ov.ByProject...)
	rankByRate(byUnit.Rows, ov.ByUnit)
	rankByRate(byProject.Rows, ov.ByProject)
	col := map[string]int{}
	for i, r := range ov.MatrixCols {
		col[r.Key] = i
	}
	rowOf := map[string]int{} // unit → index in ov.Matrix
	for _, r := range matrix.Rows {
		ri, ok := rowOf[r.Key[0]]
		if !ok {
			mr := matrixRow{Key: r.Key[0], Name: r.Name[0], Href: p.Link(dashLinesPath, "unit", r.Key[0]),
				Cells: make([]matrixCell, len(ov.MatrixCols))}
			for i := range mr.Cells {
				mr.Cells[i].Class = "qe"
			}
			ri = len(ov.Matrix)
			rowOf[r.Key[0]] = ri
			ov.Matrix = append(ov.Matrix, mr)
		}
		mr := &ov.Matrix[ri]
		i, ok := col[r.Key[1]]
		dashInvariant(ok, "a matrix project missing from the project ranking")
		f := figuresOf(r.Amounts, st.Lang)
		mr.Cells[i] = matrixCell{Href: p.Link(dashLinesPath, "unit", r.Key[0], "project", r.Key[1]),
			Title: r.Name[0] + " · " + r.Name[1] + ": " + f.Disbursed + " / " + f.Plan, Rate: f.Rate, Class: f.Class}
	}
	for _, r := range cp.Rows {
		v := counterpartView{Province: r.Province, Name: r.Name, Counterpart: report.FormatAmount(r.Counterpart, st.Lang),
			Central: report.FormatAmount(r.Central, st.Lang), Required: report.FormatAmount(r.Required, st.Lang),
			Rate: report.FormatPercent(r.Rate, st.Lang), Pass: w.No, OK: r.Pass}
		if r.Pass {
			v.Pass = w.Yes
		}
		ov.Counterpart = append(ov.Counterpart, v)
	}
	// The panel shows when the selection has capital under contract (not merely when some
	// other program of the ledger has).
	if byUnit.Commitments && byUnit.Total.Committed != 0 {
		for i := range byUnit.Rows {
			r := &byUnit.Rows[i]
			ov.Commitments = append(ov.Commitments, commitmentOf(r.Name[0], p.Link(dashLinesPath, "unit", r.Key[0]), r, st.Lang))
		}
		ov.Commitments = append(ov.Commitments, commitmentOf("Σ", "", &byUnit.Total, st.Lang))
	}
	if tg := byUnit.Total.Target; tg != nil {
		ov.Target = &targetView{Rate: report.FormatPercent(&tg.Rate, st.Lang), By: report.FormatDate(tg.By, st.Lang),
			Expected: report.FormatPercent(&tg.Expected, st.Lang), Verdict: w.Behind, OnTrack: tg.OnTrack}
		if tg.OnTrack {
			ov.Target.Verdict = w.OnTrack
		}
	}
	if byUnit.Total.Lapsing > 0 {
		ov.Lapsing = report.FormatAmount(byUnit.Total.Lapsing, st.Lang)
	}
	// Deadlines near the as-of date, or today when the page has none.
	asOf := st.AsOf
	if asOf.IsZero() {
		asOf = ledger.DateOf(s.now())
	}
	nd, err := s.cfg.Progress.NearDeadlines(projections.DeadlineQuery{Program: st.Program, Unit: unit, Year: st.Year,
		AsOf: asOf, At: byUnit.Position, Within: nearDeadlineDays, Limit: nearDeadlineLines})
	if err != nil {
		return s.dashError(c, err, st.Lang)
	}
	for _, l := range nd.Lines {
		ov.Deadlines = append(ov.Deadlines, deadlineView{Line: l.Line, Href: p.Link(dashLinePath, "id", l.Line), Unit: l.UnitName,
			Available: report.FormatAmount(l.Available, st.Lang), Deadline: report.FormatDate(l.Deadline, st.Lang),
			DaysLeft: strconv.Itoa(l.DaysLeft), LegalBasis: l.LegalBasis})
	}
	p.Overview, p.Position = ov, byUnit.Position
	return s.renderPage(c, http.StatusOK, "overview", p)
}

// rankByRate sorts the bars view (built from rows, index for index) by rate, highest
// first; groups without a rate go last; ties keep key order.
func rankByRate(rows []projections.Row, view []ranked) {
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	rate := func(i int) int64 {
		if rows[i].Rate == nil {
			return -1 << 62
		}
		return int64(*rows[i].Rate)
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch ra, rb := rate(a), rate(b); {
		case ra > rb:
			return -1
		case ra < rb:
			return 1
		}
		return 0
	})
	sorted := make([]ranked, len(view))
	for i, j := range idx {
		sorted[i] = view[j]
	}
	copy(view, sorted)
}

// Drill-down views.

type lineRow struct {
	ID, Href, Unit string
	figures
}

type linesView struct {
	Heading  string
	AsOf     string
	Position string
	HeadHash string
	Rows     []lineRow
	Total    figures
	TooMany  bool
}

// handleDashLines lists the budget lines of a unit or a project with their figures at
// the page's controls (as-of date, basis, year, program, source), computed by the same
// projection as the overview: the rate clicked there is the total shown here.
func (s *Server) handleDashLines(c echo.Context) error {
	pr, st, err := s.progressRequest(c)
	if err != nil {
		return s.dashError(c, err, st.Lang)
	}
	w := wordsOf(st.Lang)
	scope := pr.Scope()
	p := s.newPage(pr, st, dashLinesPath, w.Lines)
	lv := &linesView{}
	var refused error
	s.cfg.Balances.Read(func(state *ledger.State) {
		cat := &state.Catalog
		if st.Unit != "" {
			u := cat.Units[st.Unit]
			if u == nil {
				refused = &ledger.Error{Code: ledger.CodeNotFound, Field: "unit", Message: "no unit " + st.Unit}
				return
			}
			if scope != "" && !cat.IsUnitSucceededWithin(st.Unit, scope) {
				refused = ledger.OutOfScope("unit", scope)
				return
			}
			lv.Heading = u.Name
		}
		if st.Project != "" {
			name := st.Project
			for _, pj := range cat.Projects {
				if pj.Code == st.Project && (st.Program == "" || pj.Program == st.Program) {
					name = pj.Code + " — " + pj.Name
				}
			}
			lv.Heading = strings.TrimPrefix(lv.Heading+" · "+name, " · ")
		}
	})
	if refused != nil {
		return s.dashError(c, refused, st.Lang)
	}
	unit := st.Unit
	if unit == "" {
		unit = scope
	}
	q := st.baseQuery(unit)
	q.Project = st.Project
	r, err := s.cfg.Progress.Lines(q)
	if err != nil {
		return s.dashError(c, err, st.Lang)
	}
	for _, row := range r.Rows {
		if len(lv.Rows) == linesShownMax {
			lv.TooMany = true
			break
		}
		id := row.Key[0]
		lv.Rows = append(lv.Rows, lineRow{ID: id, Href: p.Link(dashLinePath, "id", id), Unit: row.Name[0],
			figures: figuresOf(row.Amounts, st.Lang)})
	}
	lv.Total = figuresOf(r.Total.Amounts, st.Lang)
	lv.AsOf = report.FormatDate(st.AsOf, st.Lang)
	lv.Position = formatCount(r.Position, st.Lang)
	lv.HeadHash = hex.EncodeToString(r.HeadHash[:])[:hashShortLen]
	p.Position = r.Position
	if lv.Heading == "" {
		lv.Heading = p.Scope
	}
	p.LinesV = lv
	return s.renderPage(c, http.StatusOK, "lines", p)
}

type eventRow struct {
	Position, Type, When, Recorded, Who, Document, Amount, Running string
	Out                                                            bool   // the event took money off the line
	Effect                                                         effect // what it did to the line, for its colour
	Later                                                          bool   // effective after the page's as-of date
}

type lineView struct {
	ID, Unit, Project, Source, Year string
	AsOf, Position                  string
	Rows                            []eventRow
	Balance                         figures
	TooMany                         bool
	BackHref                        string
}

// vietnamTime is the zone of recording times on the pages: Vietnam keeps UTC+7 all year.
var vietnamTime = time.FixedZone("ICT", 7*60*60)

func (s *Server) handleDashLine(c echo.Context) error {
	pr, st, err := s.dashRequest(c)
	if err != nil {
		return s.dashError(c, err, st.Lang)
	}
	w := wordsOf(st.Lang)
	l, err := ledger.ParseLineID(st.Line)
	if err != nil {
		return s.dashError(c, invalidArg("id", fmt.Sprintf("must be a line id such as GNBV:2024:NSTW-SN:DA2:062, got %q", st.Line)), st.Lang)
	}
	if err := s.checkLineScope(pr, l, "id"); err != nil {
		return s.dashError(c, err, st.Lang)
	}
	p := s.newPage(pr, st, dashLinePath, w.LineEvents)
	id := l.ID()
	lv := &lineView{ID: id, Project: l.Project, Source: l.Source, Year: strconv.Itoa(l.Year), Unit: l.Unit,
		BackHref: p.Link(dashLinesPath, "id", "", "unit", l.Unit)}
	found := false
	s.cfg.Balances.Read(func(state *ledger.State) {
		if u := state.Catalog.Units[l.Unit]; u != nil {
			lv.Unit = u.Name
		}
		found = state.Line(l) != nil
	})
	if !found {
		return s.dashError(c, &ledger.Error{Code: ledger.CodeNotFound, Field: "id", Message: "no event has touched line " + id}, st.Lang)
	}
	// The line's figures at the page's controls, from the projection the overview and
	// the drill-down use.
	if s.cfg.Progress != nil {
		q := st.baseQuery(l.Unit)
		q.Program, q.Project, q.Source = l.Program, l.Project, l.Source
		if st.Basis != projections.BasisExecutionYear {
			q.Year = l.Year
		}
		r, err := s.cfg.Progress.Lines(q)
		if err != nil {
			return s.dashError(c, err, st.Lang)
		}
		var a projections.Amounts
		for _, row := range r.Rows {
			if row.Key[0] == id {
				a = row.Amounts
			}
		}
		lv.Balance = figuresOf(a, st.Lang)
		p.Position = r.Position
	}
	lv.AsOf, lv.Position = report.FormatDate(st.AsOf, st.Lang), formatCount(p.Position, st.Lang)
	var after, available int64
	done := false
	for !done && len(lv.Rows) < lineEventsMax {
		evs, err := s.cfg.Events.LineEvents(c.Request().Context(), id, after, lineEventsPage)
		if err != nil {
			return s.dashError(c, fmt.Errorf("read line events: %w", err), st.Lang)
		}
		for _, e := range evs {
			if len(lv.Rows) == lineEventsMax {
				lv.TooMany = true
				break
			}
			if p.Position != 0 && e.Position > p.Position {
				done = true // recorded after the figures shown
				break
			}
			delta := lineEffect(e, l)
			available += delta
			lv.Rows = append(lv.Rows, eventRow{Position: strconv.FormatInt(e.Position, 10),
				Type: w.EventTypes[e.Type], When: report.FormatDate(e.EffectiveDate, st.Lang),
				Recorded: formatRecorded(e.RecordedAt, st.Lang), Who: e.Meta.Actor,
				Document: documentOf(e, st.Lang), Amount: report.FormatDong(e.Data.Amount, st.Lang),
				Running: report.FormatDong(available, st.Lang), Out: delta < 0, Effect: effectOn(e, l),
				Later: e.EffectiveDate > st.AsOf})
			after = e.Position
		}
		if len(evs) < lineEventsPage || lv.TooMany {
			break
		}
	}
	p.LineV = lv
	return s.renderPage(c, http.StatusOK, "line", p)
}

// formatRecorded writes a recording time in Vietnam's time, in the language's one date
// format: 31/05/2024 14:05 (vi) or 2024-05-31 14:05 (en).
func formatRecorded(t time.Time, lang report.Lang) string {
	t = t.In(vietnamTime)
	return report.FormatDate(ledger.DateOf(t), lang) + " " + t.Format("15:04")
}

// lineEffect is what event e did to the available balance of line l: the sum of its
// postings' available deltas on l.
func lineEffect(e *ledger.Event, l ledger.Line) int64 {
	var buf [ledger.PostingsMax]ledger.Posting
	var v int64
	for _, p := range e.Postings(buf[:0]) {
		if p.Line == l {
			v += p.AvailableDelta()
		}
	}
	return v
}

// documentOf names the document behind an event: the treasury voucher of a payment, the
// decision of an allocation, the reason of a reversal, with the payee or the year a
// carry-over went into.
func documentOf(e *ledger.Event, lang report.Lang) string {
	d := &e.Data
	var parts []string
	if v := d.Voucher; v != nil {
		parts = append(parts, strings.TrimSpace(v.Office+" "+v.Type+" "+v.Number+" "+report.FormatDate(v.Date, lang)))
	}
	if d.Decision != "" {
		parts = append(parts, d.Decision)
	}
	if d.Payee != "" {
		parts = append(parts, wordsOf(lang).Payee+": "+d.Payee)
	}
	if d.IntoYear != 0 {
		parts = append(parts, "→ "+strconv.Itoa(d.IntoYear))
	}
	if d.Reason != "" {
		parts = append(parts, d.Reason)
	}
	return strings.Join(parts, " · ")
}

// dashInvariant stops on a condition that only a bug in this file can break.
func dashInvariant(cond bool, msg string) {
	if !cond {
		panic("dashboard invariant: " + msg)
	}
}
