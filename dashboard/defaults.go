package dashboard

import (
	"fmt"
	"strings"
	"time"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/projections"
	"github.com/vnntp/ledger/report"
)

// resolveDefaults fills in what the reader left open, so that every page a link or a
// control leads to can be shown (never a 400 for a reachable page) and every link of it
// carries the exact figures' state:
//
//   - the as-of date is today (Vietnam's calendar) when none is given;
//   - the execution-year basis without a year takes the as-of date's year;
//   - with several programs, none given means the most recently registered program
//     that has capital in the reader's scope as of that date (or else the most recent
//     one): reports by project need one program.
func (s *Server) resolveDefaults(pr *ledger.Principal, st *dashState) {
	if st.AsOf.IsZero() {
		st.AsOf = ledger.DateOf(s.now().In(vietnamTime))
	}
	if st.Basis == projections.BasisExecutionYear && st.Year == 0 {
		st.Year = st.AsOf.Year()
	}
	if s.cfg.Progress == nil {
		return
	}
	progs := s.cfg.Progress.Programs(pr.Scope(), st.AsOf)
	if st.Program != "" || len(progs) <= 1 {
		return
	}
	// A project given without its program (a hand-made link) picks among the programs
	// that have it.
	if st.Project != "" {
		s.cfg.Balances.Read(func(state *ledger.State) {
			kept := progs[:0:0]
			for _, pc := range progs {
				if state.Catalog.Project(pc.Code, st.Project) != nil {
					kept = append(kept, pc)
				}
			}
			if len(kept) > 0 {
				progs = kept
			}
		})
	}
	st.Program = progs[len(progs)-1].Code
	for i := len(progs) - 1; i >= 0; i-- {
		if progs[i].Plan > 0 {
			st.Program = progs[i].Code
			break
		}
	}
}

// quickDate is one of the period ends offered next to the as-of control.
type quickDate struct {
	Label, Href string
	Current     bool
}

// periodEnds are the dates reports are made at: 31 May and 30 June (mid-year reviews),
// 31 December (the year's end) and 31 January of the next year (the end of the plan
// year's disbursement period), for the selected year or else the as-of date's year,
// and today.
func (p *page) periodEnds(today ledger.Date) []quickDate {
	y := p.state.Year
	if y == 0 {
		y = p.state.AsOf.Year()
	}
	dates := []ledger.Date{ledger.MakeDate(y, time.May, 31), ledger.MakeDate(y, time.June, 30),
		ledger.MakeDate(y, time.December, 31), ledger.MakeDate(y+1, time.January, 31), today}
	out := make([]quickDate, len(dates))
	for i, d := range dates {
		st := p.state
		st.AsOf = d
		label := report.FormatDate(d, p.Lang)
		if d == today {
			label = p.W.Today
		}
		out[i] = quickDate{Label: label, Href: p.Path + st.query(), Current: d == p.state.AsOf}
	}
	return out
}

// effect is what an event did to a line, for its colour on the line page: capital
// given (plan up), taken away (plan down), spent (disbursed up), returned (disbursed
// down), carried into a later year (neither) or an advance settled (neither).
type effect string

const (
	effectPlanUp   effect = "plan-up"
	effectPlanDown effect = "plan-down"
	effectSpent    effect = "spent"
	effectReturned effect = "returned"
	effectCarried  effect = "carried"
	effectSettled  effect = "settled"
	effectNone     effect = "none"
)

// effectOn classifies event e on line l by its postings (ledger.Event.Postings), the one
// place that says what an event does to money: carry-overs no longer look like
// allocations, nor reversals like payments.
func effectOn(e *ledger.Event, l ledger.Line) effect {
	var buf [ledger.PostingsMax]ledger.Posting
	out := effectNone
	for _, ps := range e.Postings(buf[:0]) {
		if ps.Line != l {
			continue
		}
		switch ps.Measure() {
		case ledger.MeasurePlan:
			if ps.Delta() > 0 {
				return effectPlanUp
			}
			return effectPlanDown
		case ledger.MeasureDisbursed:
			if ps.Delta() > 0 {
				return effectSpent
			}
			return effectReturned
		case ledger.MeasureCarriedOver:
			out = effectCarried
		case ledger.MeasureAdvanceOutstanding:
			if out == effectNone {
				out = effectSettled
			}
		}
	}
	return out
}

// effectOrder is the order of the colour legend on a line page.
var effectOrder = []effect{effectPlanUp, effectPlanDown, effectSpent, effectReturned, effectCarried, effectSettled}

// EffectLegend lists (effect, its name) for the legend of a line page's colours.
func (p *page) EffectLegend() [][2]string {
	out := make([][2]string, len(effectOrder))
	for i, e := range effectOrder {
		out[i] = [2]string{string(e), p.W.Effects[e]}
	}
	return out
}

// parseAsOf reads the as-of date as links carry it (YYYY-MM-DD) or as a Vietnamese reader
// types it in the control (dd/mm/yyyy, the format the page shows). It returns
// invalid_argument on field "as_of".
func parseAsOf(v string) (ledger.Date, error) {
	if d, m, ok := strings.Cut(v, "/"); ok {
		if m, y, ok := strings.Cut(m, "/"); ok && len(d) <= 2 && len(m) <= 2 && len(y) == 4 {
			v = y + "-" + fmt.Sprintf("%02s-%02s", m, d)
		}
	}
	return ledger.ParseDate(v, "as_of")
}
