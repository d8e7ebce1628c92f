package api

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/projections"
)

// writeJSON sends v as JSON with status.
func writeJSON(c echo.Context, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Blob(status, echo.MIMEApplicationJSON, b)
}

// headJSON is the answer of GET /v1/head.
type headJSON struct {
	Position   int64      `json:"position"`
	Hash       string     `json:"hash"`
	RecordedAt *time.Time `json:"recorded_at"` // null for an empty ledger
}

func (s *Server) handleHead(c echo.Context) error {
	h := s.cfg.Writer.Head()
	out := headJSON{Position: h.Position, Hash: hex.EncodeToString(h.Hash[:])}
	if h.Position > 0 {
		t := h.RecordedAt.UTC()
		out.RecordedAt = &t
	}
	return writeJSON(c, http.StatusOK, out)
}

// Catalog kinds served by GET /v1/catalog/{kind}.
const (
	catalogPrograms = "programs"
	catalogProjects = "projects"
	catalogUnits    = "units"
	catalogSources  = "sources"
)

// catalogItem is one catalog entry with its id: the code for programs and sources, the
// stable id for units, program/code for projects (a project code is unique only within
// its program).
type catalogItem struct {
	ID    string `json:"id"`
	Entry any    `json:"-"`
}

// MarshalJSON renders the entry's own members with "id" first. A unit carries its own id.
func (ci catalogItem) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(ci.Entry)
	if err != nil {
		return nil, err
	}
	if _, ok := ci.Entry.(*unitJSON); ok {
		return b, nil
	}
	id, err := json.Marshal(ci.ID)
	if err != nil {
		return nil, err
	}
	out := append([]byte(`{"id":`), id...)
	if len(b) > 2 { // the entry's members, after its opening brace
		out = append(out, ',')
	}
	return append(out, b[1:]...), nil
}

// unitJSON is a unit as GET /v1/catalog/units shows it: its registration, valid_to once a
// reorganisation closed it, and the successions from and into it.
type unitJSON struct {
	ledger.Unit
	Predecessors []ledger.Succession `json:"predecessors,omitempty"`
	Successors   []ledger.Succession `json:"successors,omitempty"`
}

func (s *Server) handleCatalog(kind string) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := s.freshBalances(c); err != nil {
			return err
		}
		var items []catalogItem
		s.cfg.Balances.Read(func(st *ledger.State) {
			cat := &st.Catalog
			switch kind {
			case catalogPrograms:
				for id, p := range cat.Programs {
					v := *p
					items = append(items, catalogItem{id, &v})
				}
			case catalogProjects:
				for id, p := range cat.Projects {
					v := *p
					items = append(items, catalogItem{id, &v})
				}
			case catalogUnits:
				for id, u := range cat.Units {
					// Copies: the answer is written after the read lock is released.
					items = append(items, catalogItem{id, &unitJSON{Unit: *u, Predecessors: slices.Clone(cat.Predecessors(id)),
						Successors: slices.Clone(cat.Successors(id))}})
				}
			case catalogSources:
				for id, src := range cat.Sources {
					v := *src
					items = append(items, catalogItem{id, &v})
				}
			}
		})
		sort.Slice(items, func(i, j int) bool { return items[i].ID < items[j].ID })
		if items == nil {
			items = []catalogItem{}
		}
		return writeJSON(c, http.StatusOK, struct {
			Items []catalogItem `json:"items"`
		}{items})
	}
}

// lineJSON is one line's balance as GET /v1/lines shows it, in đồng.
type lineJSON struct {
	ID             string      `json:"id"`
	Line           ledger.Line `json:"line"`
	Plan           int64       `json:"plan"`
	Allocated      int64       `json:"allocated"`
	TransferredIn  int64       `json:"transferred_in"`
	TransferredOut int64       `json:"transferred_out"`
	CarriedOver    int64       `json:"carried_over"`
	Cancelled      int64       `json:"cancelled"`
	Disbursed      int64       `json:"disbursed"`
	Reversed       int64       `json:"reversed"`
	NetDisbursed   int64       `json:"net_disbursed"`
	Available      int64       `json:"available"`
	// CurrentUnit is, with units=current, the unit that holds the line's history today
	// (its holder, or the holder's successor).
	CurrentUnit string `json:"current_unit,omitempty"`
	// Committed is the capital under contract, shown once a contract is signed on the line.
	Committed int64 `json:"committed,omitempty"`
	// Deadline is the line's disbursement deadline as recorded now (GET /v1/lines/{id}
	// at the head only); absent when none is recorded.
	Deadline *lineDeadline `json:"deadline,omitempty"`
}

type lineDeadline struct {
	Until      ledger.Date `json:"until"`
	LegalBasis string      `json:"legal_basis"`
}

func lineOf(b *ledger.LineBalance, id string) lineJSON {
	return lineJSON{ID: id, Line: b.Line, Plan: b.Plan(), Allocated: b.Allocated(), TransferredIn: b.TransferredIn(),
		TransferredOut: b.TransferredOut(), CarriedOver: b.CarriedOver(), Cancelled: b.Cancelled(), Disbursed: b.Disbursed(),
		Reversed: b.Reversed(), NetDisbursed: b.NetDisbursed(), Available: b.Available(), Committed: b.Measure(ledger.MeasureCommitted)}
}

// pageLine is a line selected for a page of GET /v1/lines: its id, its balance (the
// flows by value: the history index reuses the one it hands out) and the unit that holds
// it in the view asked.
type pageLine struct {
	id      string
	balance ledger.LineBalance
	holder  string
}

// firstLines keeps the n lines of smallest id among those added, so that a page of a
// national ledger's lines costs a pass over them, not a sort of them all.
type firstLines struct {
	n     int
	lines []pageLine
}

func (f *firstLines) add(l pageLine) {
	if f.lines = append(f.lines, l); len(f.lines) >= 2*f.n {
		f.sorted() // amortised: a sort of 2n lines every n lines added
	}
}

// sorted returns the kept lines in id order, at most n of them.
func (f *firstLines) sorted() []pageLine {
	slices.SortFunc(f.lines, func(a, b pageLine) int { return strings.Compare(a.id, b.id) })
	f.lines = f.lines[:min(len(f.lines), f.n)]
	return f.lines
}

// handleLines serves GET /v1/lines: lines sorted by id, filtered, one page after the
// line id "after". unit and project select their whole subtree (a province's lines
// include its districts' and communes'; DA3 includes DA3.TDA1).
func (s *Server) handleLines(c echo.Context) error {
	q, at, err := s.historyQuery(c, "program", "year", "source", "project", "unit", "after", "limit", "units")
	if err != nil {
		return err
	}
	current := false
	switch v := projections.Units(q.Get("units")); v {
	case "", projections.UnitsRecorded:
	case projections.UnitsCurrent:
		current = true
	default:
		return invalidArg("units", fmt.Sprintf("must be %q or %q, got %q", projections.UnitsRecorded, projections.UnitsCurrent, v))
	}
	limit, err := pageLimit(q, LinesPageMax)
	if err != nil {
		return err
	}
	program, source, project, unit, after := q.Get("program"), q.Get("source"), q.Get("project"), q.Get("unit"), q.Get("after")
	year := 0
	if v := q.Get("year"); v != "" {
		if year, err = strconv.Atoi(v); err != nil || year < 1 {
			return invalidArg("year", fmt.Sprintf("must be a plan year, got %q", v))
		}
	}
	if after != "" {
		if _, err := ledger.ParseLineID(after); err != nil {
			return ledger.WithFieldPrefix(err, "after")
		}
	}
	page := firstLines{n: limit + 1} // a page, and one more line to know whether another follows
	scope := scopeOf(c)
	var refused error
	collect := func(cat *ledger.Catalog, eachLine func(func(*ledger.LineBalance))) {
		// A unit filter outside the token's subtree is refused, not answered empty: an
		// empty list would read as "nothing recorded there".
		if scope != "" && unit != "" && !cat.IsUnitSucceededWithin(unit, scope) {
			refused = outOfScope("unit", scope)
			return
		}
		eachLine(func(b *ledger.LineBalance) {
			l := b.Line
			// Restated, a line is under the unit that holds its history now.
			holder := l.Unit
			if current {
				holder = cat.SuccessorOn(l.Unit, ledger.DateMax)
			}
			if program != "" && l.Program != program || source != "" && l.Source != source ||
				year != 0 && l.Year != year ||
				project != "" && !cat.IsProjectWithin(l.Program, l.Project, project) ||
				unit != "" && !cat.IsUnitWithin(holder, unit) ||
				scope != "" && !cat.IsUnitSucceededWithin(l.Unit, scope) {
				return
			}
			if id := l.ID(); id > after {
				page.add(pageLine{id: id, balance: *b, holder: holder})
			}
		})
	}
	if at == 0 {
		if err := s.freshBalances(c); err != nil {
			return err
		}
		s.cfg.Balances.Read(func(st *ledger.State) { collect(&st.Catalog, st.Lines) })
	} else {
		// From the projection's history index, not a fold of the log (history.go).
		if err := s.awaitPosition(c, s.cfg.Balances, "balances", at); err != nil {
			return err
		}
		s.cfg.Balances.ReadAt(at, collect)
	}
	if refused != nil {
		return refused
	}
	lines := make([]lineJSON, 0, limit+1)
	for _, pl := range page.sorted() {
		lj := lineOf(&pl.balance, pl.id)
		if current {
			lj.CurrentUnit = pl.holder
		}
		lines = append(lines, lj)
	}
	out := struct {
		Lines []lineJSON `json:"lines"`
		Next  *string    `json:"next"` // the after of the next page; null on the last one
		// Units names the view when it is not the default (units=current).
		Units projections.Units `json:"units,omitempty"`
	}{Lines: lines}
	if current {
		out.Units = projections.UnitsCurrent
	}
	if len(lines) > limit {
		out.Lines = lines[:limit]
		next := lines[limit-1].ID
		out.Next = &next
	}
	if out.Lines == nil {
		out.Lines = []lineJSON{}
	}
	return writeJSON(c, http.StatusOK, out)
}

// lineIDParam returns the canonical line id of the :line_id path parameter, which a
// client may send with its colons percent-encoded.
func lineIDParam(c echo.Context) (ledger.Line, string, error) {
	raw, err := url.PathUnescape(c.Param("line_id"))
	if err != nil {
		return ledger.Line{}, "", invalidArg("line_id", "is not a valid path segment")
	}
	l, err := ledger.ParseLineID(raw)
	if err != nil {
		return ledger.Line{}, "", err
	}
	return l, l.ID(), nil
}

func (s *Server) handleLine(c echo.Context) error {
	l, id, err := lineIDParam(c)
	if err != nil {
		return err
	}
	if err := s.checkLineScope(c, l, "line_id"); err != nil {
		return err
	}
	_, at, err := s.historyQuery(c)
	if err != nil {
		return err
	}
	var out *lineJSON
	if at > 0 {
		if err := s.awaitPosition(c, s.cfg.Balances, "balances", at); err != nil {
			return err
		}
		if b := s.cfg.Balances.LineAt(l, at); b != nil {
			v := lineOf(b, id)
			out = &v
		}
	} else {
		if err := s.freshBalances(c); err != nil {
			return err
		}
		s.cfg.Balances.Read(func(st *ledger.State) {
			if b := st.Line(l); b != nil {
				v := lineOf(b, id)
				if dl, ok := st.DeadlineOf(l); ok {
					v.Deadline = &lineDeadline{Until: dl.Until, LegalBasis: dl.LegalBasis}
				}
				out = &v
			}
		})
	}
	if out == nil {
		return &ledger.Error{Code: ledger.CodeNotFound, Field: "line_id", Message: "no event has touched line " + id}
	}
	return writeJSON(c, http.StatusOK, out)
}

func (s *Server) handleLineEvents(c echo.Context) error {
	l, id, err := lineIDParam(c)
	if err != nil {
		return err
	}
	if err := s.checkLineScope(c, l, "line_id"); err != nil {
		return err
	}
	after, limit, at, err := s.eventHistoryPage(c)
	if err != nil {
		return err
	}
	// One page of the line's events; the running balance after each is the Balances
	// projection's balance of the line at its position (history index), not a fold of
	// the line from its first event.
	events, err := s.cfg.Events.LineEvents(c.Request().Context(), id, after, limit)
	if err != nil {
		return storeError(err, "read events of line "+id)
	}
	if at > 0 {
		n := sort.Search(len(events), func(i int) bool { return events[i].Position > at })
		events = events[:n]
	}
	balances := make([]lineBalance, 0, len(events)) // always present on this route, aligned with events
	if len(events) > 0 {
		if err := s.awaitPosition(c, s.cfg.Balances, "balances", events[len(events)-1].Position); err != nil {
			return err
		}
	}
	for _, e := range events {
		b := s.cfg.Balances.LineAt(l, e.Position)
		if b == nil {
			b = &ledger.LineBalance{Line: l}
		}
		balances = append(balances, lineBalance{Position: e.Position, Plan: b.Plan(), NetDisbursed: b.NetDisbursed(), Available: b.Available()})
	}
	next := after
	if len(events) > 0 {
		next = events[len(events)-1].Position
	}
	return writeEventPageWith(c, events, next, balances)
}

func (s *Server) handleEvents(c echo.Context) error {
	after, limit, at, err := s.eventHistoryPage(c)
	if err != nil {
		return err
	}
	if at > 0 {
		limit = int(max(0, min(int64(limit), at-after)))
	}
	var events []*ledger.Event
	if limit > 0 {
		if events, err = s.cfg.Events.Events(c.Request().Context(), after, limit); err != nil {
			return storeError(err, "read events")
		}
	}
	if len(events) > 0 {
		// next_after stays the last position read, even when the events around it are
		// outside the token's subtree and left out: the client must not read them again.
		last := events[len(events)-1].Position
		visible, err := s.visibleEvents(c, events)
		if err != nil {
			return err
		}
		return writeEventPageNext(c, visible, last)
	}
	return writeEventPage(c, events, after)
}

func (s *Server) handleEvent(c echo.Context) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return invalidArg("id", "must be an event id (UUID)")
	}
	_, at, err := s.historyQuery(c)
	if err != nil {
		return err
	}
	e, err := s.cfg.Events.Event(c.Request().Context(), id)
	if errors.Is(err, ledger.ErrNotFound) {
		return &ledger.Error{Code: ledger.CodeNotFound, Field: "id", Message: "no event " + id.String()}
	}
	if err != nil {
		return storeError(err, "read event "+id.String())
	}
	visible, err := s.visibleEvents(c, []*ledger.Event{e})
	if err != nil {
		return err
	}
	if len(visible) == 0 {
		return outOfScope("id", scopeOf(c))
	}
	if at > 0 && e.Position > at {
		return &ledger.Error{Code: ledger.CodeNotFound, Field: "id", Message: fmt.Sprintf("event %s was recorded after position %d", id, at)}
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, e.AppendJSON(make([]byte, 0, 1024)))
}

// storeError keeps a coded store error (unavailable) as it is and wraps any other, which
// the error handler then logs and shows as "internal error".
func storeError(err error, what string) error {
	if ledger.Code(err) != ledger.CodeInternal {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

// writeEventPage answers {"events":[…], "next_after": n}: n is the after of the next
// page, the position of the last event returned, or the given after when there was none,
// so a client that follows the log keeps polling with it.
func writeEventPage(c echo.Context, events []*ledger.Event, after int64) error {
	if len(events) > 0 {
		after = events[len(events)-1].Position
	}
	return writeEventPageNext(c, events, after)
}

// writeEventPageNext answers {"events":[…], "next_after": next}.
func writeEventPageNext(c echo.Context, events []*ledger.Event, next int64) error {
	return writeEventPageWith(c, events, next, nil)
}

// writeEventPageWith answers {"events":[…], "balances":[…], "next_after": next}, without
// "balances" when balances is nil.
func writeEventPageWith(c echo.Context, events []*ledger.Event, next int64, balances []lineBalance) error {
	after := next
	b := make([]byte, 0, 64+len(events)*768)
	b = append(b, `{"events":[`...)
	for i, e := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.AppendJSON(b)
	}
	b = append(b, ']')
	if balances != nil {
		b = appendBalances(b, balances)
	}
	b = append(b, `,"next_after":`...)
	b = strconv.AppendInt(b, after, 10)
	b = append(b, '}')
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}

// eventPage parses after (a position, default 0) and limit.
func eventPage(q url.Values) (after int64, limit int, err error) {
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			return 0, 0, invalidArg("after", fmt.Sprintf("must be a ledger position ≥ 0, got %q", v))
		}
	}
	limit, err = pageLimit(q, EventsPageMax)
	return after, limit, err
}

// pageLimit parses limit: 1..maxLimit, default PageDefault.
func pageLimit(q url.Values, maxLimit int) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return min(PageDefault, maxLimit), nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		return 0, invalidArg("limit", fmt.Sprintf("must be a whole number from 1 to %d, got %q", maxLimit, v))
	}
	return n, nil
}

// onlyParams refuses unknown or repeated query parameters, so that a misspelt filter
// (?unti=062) is an error rather than a silently unfiltered answer.
func onlyParams(q url.Values, known ...string) error {
	for name, vals := range q {
		ok := false
		for _, k := range known {
			if name == k {
				ok = true
				break
			}
		}
		if !ok {
			return invalidArg(name, "is not a known query parameter")
		}
		if len(vals) > 1 {
			return invalidArg(name, "must be given once")
		}
	}
	return nil
}
