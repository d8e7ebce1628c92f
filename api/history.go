package api

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
)

// History on the read endpoints: `at` (a ledger position) or `known_at` (a time, the last
// position recorded by then) shows lines and events as the ledger knew them then. The
// read model holds only the head, so a past position is computed from the events.
const (
	// LineHistoryMax bounds the events of one line folded for a balance at a position or
	// for running balances.
	LineHistoryMax = 100_000
	// LinesHistoryMax bounds the position up to which GET /v1/lines?at= folds the whole
	// log; further back in a larger ledger, `ledger report` works offline.
	LinesHistoryMax = 1_000_000
)

// historyQuery checks that the query holds only allowed parameters and at/known_at, and
// returns it with the position asked for (0: the head).
func (s *Server) historyQuery(c echo.Context, allowed ...string) (url.Values, int64, error) {
	q := c.QueryParams()
	if err := onlyParams(q, append(allowed, "at", "known_at")...); err != nil {
		return nil, 0, err
	}
	at, err := s.historyAt(c, q)
	return q, at, err
}

// eventHistoryPage is historyQuery for the event lists: after, limit and the position.
func (s *Server) eventHistoryPage(c echo.Context) (after int64, limit int, at int64, err error) {
	q, at, err := s.historyQuery(c, "after", "limit")
	if err != nil {
		return 0, 0, 0, err
	}
	after, limit, err = eventPage(q)
	return after, limit, at, err
}

// historyAt returns the position a read is asked at: 0 for the head, else at or
// known_at resolved, never beyond the head.
func (s *Server) historyAt(c echo.Context, q url.Values) (int64, error) {
	at, err := s.atParam(c, q)
	if err != nil || at == 0 {
		return at, err
	}
	if head := s.cfg.Writer.Head().Position; at > head {
		return 0, invalidArg("at", fmt.Sprintf("must not be beyond the head position %d, got %d", head, at))
	}
	return at, nil
}

// lineBalance is one line's balance after one of its events, in a running-balance list.
type lineBalance struct {
	Position     int64 `json:"position"`
	Plan         int64 `json:"plan"`
	NetDisbursed int64 `json:"net_disbursed"`
	Available    int64 `json:"available"`
}

// foldLine folds the events of line l (id) up to position at (0: every one), calling
// each, if set, with every event and the balance after it. It returns the balance and the
// number of events folded.
func (s *Server) foldLine(ctx context.Context, l ledger.Line, id string, at int64, each func(*ledger.Event, *ledger.LineBalance)) (*ledger.LineBalance, int, error) {
	b := &ledger.LineBalance{Line: l}
	var after int64
	n := 0
	for {
		events, err := s.cfg.Events.LineEvents(ctx, id, after, EventsPageMax)
		if err != nil {
			return nil, 0, storeError(err, "read events of line "+id)
		}
		for _, e := range events {
			if at > 0 && e.Position > at {
				return b, n, nil
			}
			if n++; n > LineHistoryMax {
				return nil, 0, invalidArg("line_id", fmt.Sprintf("the line has more than %d events: read its history with ledger export", LineHistoryMax))
			}
			b.Add(e)
			if each != nil {
				each(e, b)
			}
		}
		if len(events) < EventsPageMax {
			return b, n, nil
		}
		after = events[len(events)-1].Position
	}
}

// linesAt folds the whole log up to position at into a lines-only state.
func (s *Server) linesAt(ctx context.Context, at int64) (*ledger.State, error) {
	if at > LinesHistoryMax {
		return nil, invalidArg("at", fmt.Sprintf("GET /v1/lines folds the log up to at and stops at position %d; use ledger report for earlier states of a larger ledger", LinesHistoryMax))
	}
	st := &ledger.State{LinesOnly: true}
	var after int64
	for after < at {
		events, err := s.cfg.Events.Events(ctx, after, int(min(int64(EventsPageMax), at-after)))
		if err != nil {
			return nil, storeError(err, "read events")
		}
		if len(events) == 0 {
			break
		}
		for _, e := range events {
			st.Apply(e)
		}
		after = events[len(events)-1].Position
	}
	return st, nil
}

// appendBalances appends ,"balances":[…] to an event page being written.
func appendBalances(b []byte, balances []lineBalance) []byte {
	b = append(b, `,"balances":[`...)
	for i, lb := range balances {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"position":`...)
		b = strconv.AppendInt(b, lb.Position, 10)
		b = append(b, `,"plan":`...)
		b = strconv.AppendInt(b, lb.Plan, 10)
		b = append(b, `,"net_disbursed":`...)
		b = strconv.AppendInt(b, lb.NetDisbursed, 10)
		b = append(b, `,"available":`...)
		b = strconv.AppendInt(b, lb.Available, 10)
		b = append(b, '}')
	}
	return append(b, ']')
}
