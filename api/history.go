package api

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"
)

// History on the read endpoints: `at` (a ledger position) or `known_at` (a time, the last
// position recorded by then) shows lines and events as the ledger knew them then. Lines
// and running balances at a past position come from the Balances projection's history
// index (projections/history.go: per line and flow, the positions it moved at with the
// cumulative amount, searched by position), never from a fold of the log per request.

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
