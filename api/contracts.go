package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
)

// contractEventsMax bounds the events GET /v1/contracts/{id} lists: the contract's
// signing, amendments, the disbursements naming it and their settlements and reversals,
// read from its line's events.
const contractEventsMax = 1000

// contractsPageMax bounds GET /v1/contracts.
const contractsPageMax = 1000

// contractJSON is a contract as GET /v1/contracts shows it, at the head, in đồng.
type contractJSON struct {
	ID                  string          `json:"id"`
	LineID              string          `json:"line_id"`
	Line                ledger.Line     `json:"line"`
	Number              string          `json:"number"`
	Contractor          string          `json:"contractor"`
	SignedOn            ledger.Date     `json:"signed_on"`
	Value               int64           `json:"value"`
	Disbursed           int64           `json:"disbursed"`
	AdvancesOutstanding int64           `json:"advances_outstanding"`
	Events              []*ledger.Event `json:"events,omitempty"`
}

func contractOf(k ledger.ContractFigures) contractJSON {
	return contractJSON{ID: k.ID.String(), LineID: k.Line.ID(), Line: k.Line, Number: k.Number, Contractor: k.Contractor,
		SignedOn: k.Signed, Value: k.Value, Disbursed: k.Disbursed, AdvancesOutstanding: k.Outstanding}
}

// handleContracts serves GET /v1/contracts?line=: the contracts, sorted by line and
// number, held to the principal's subtree.
func (s *Server) handleContracts(c echo.Context) error {
	q := c.QueryParams()
	for k := range q {
		if k != "line" {
			return invalidArg(k, "is not a parameter of this route (line)")
		}
	}
	line := q.Get("line")
	if line != "" {
		if _, err := ledger.ParseLineID(line); err != nil {
			return ledger.WithFieldPrefix(err, "line")
		}
	}
	if err := s.freshBalances(c); err != nil {
		return err
	}
	scope := scopeOf(c)
	var out []contractJSON
	tooMany := false
	s.cfg.Balances.Read(func(st *ledger.State) {
		st.Contracts(func(k ledger.ContractFigures) {
			if line != "" && k.Line.ID() != line || !lineInScope(&st.Catalog, &k.Line, scope) {
				return
			}
			if len(out) == contractsPageMax {
				tooMany = true
				return
			}
			out = append(out, contractOf(k))
		})
	})
	if tooMany {
		return invalidArg("line", "more than the page limit of contracts match: select one line")
	}
	slices.SortFunc(out, func(a, b contractJSON) int {
		if n := strings.Compare(a.LineID, b.LineID); n != 0 {
			return n
		}
		return strings.Compare(a.Number, b.Number)
	})
	if out == nil {
		out = []contractJSON{}
	}
	return writeJSON(c, http.StatusOK, struct {
		Items []contractJSON `json:"items"`
	}{out})
}

// handleContract serves GET /v1/contracts/{id}: the contract's figures at the head and
// its events, for the drill-down from a report.
func (s *Server) handleContract(c echo.Context) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return invalidArg("id", "must be the id of a contract.signed event (a UUID)")
	}
	if err := s.freshBalances(c); err != nil {
		return err
	}
	var k ledger.ContractFigures
	var found, visible bool
	scope := scopeOf(c)
	s.cfg.Balances.Read(func(st *ledger.State) {
		k, found = st.Contract(id)
		visible = found && lineInScope(&st.Catalog, &k.Line, scope)
	})
	if !found {
		return &ledger.Error{Code: ledger.CodeNotFound, Field: "id", Message: "no contract " + id.String()}
	}
	if !visible {
		return outOfScope("id", scope)
	}
	out := contractOf(k)
	// The contract's events are on its line: its signing and amendments, the
	// disbursements naming it, and the settlements and reversals of those.
	mine := map[string]bool{id.String(): true}
	var after int64
	lineID := k.Line.ID()
	for len(out.Events) < contractEventsMax {
		page, err := s.cfg.Events.LineEvents(c.Request().Context(), lineID, after, EventsPageMax)
		if err != nil {
			return err
		}
		for _, e := range page {
			d := &e.Data
			if e.ID == id || d.Contract == id.String() || d.EventID != "" && mine[d.EventID] {
				mine[e.ID.String()] = true
				if len(out.Events) < contractEventsMax {
					out.Events = append(out.Events, e)
				}
			}
		}
		if len(page) < EventsPageMax {
			break
		}
		after = page[len(page)-1].Position
	}
	return writeJSON(c, http.StatusOK, out)
}
