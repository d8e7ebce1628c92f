package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
)

// problemTypePrefix makes the RFC 9457 "type" of every problem a stable URI built from
// its code. It is a tag URI (RFC 4151): an identifier, not a page to fetch.
const problemTypePrefix = "tag:vnntp.github.io,2025:ledger/problem/"

// codeInfo is the one code → status table of the HTTP layer, which owns it
// (docs/design.md §10). Every problem's status comes from here, with the two transport
// exceptions documented at problemWithStatus.
var codeInfo = map[string]struct {
	status int
	title  string
}{
	ledger.CodeInvalidArgument:     {http.StatusBadRequest, "Invalid argument"},
	ledger.CodeUnauthenticated:     {http.StatusUnauthorized, "Unauthenticated"},
	ledger.CodeForbidden:           {http.StatusForbidden, "Forbidden"},
	ledger.CodeNotFound:            {http.StatusNotFound, "Not found"},
	ledger.CodeIdempotencyConflict: {http.StatusConflict, "Idempotency conflict"},
	ledger.CodePayloadTooLarge:     {http.StatusRequestEntityTooLarge, "Payload too large"},
	ledger.CodeInsufficientFunds:   {http.StatusUnprocessableEntity, "Insufficient funds"},
	ledger.CodeUnknownReference:    {http.StatusUnprocessableEntity, "Unknown reference"},
	ledger.CodeContractExceeded:    {http.StatusUnprocessableEntity, "Contract exceeded"},
	ledger.CodeAdvanceLimit:        {http.StatusUnprocessableEntity, "Advance limit"},
	ledger.CodeDeadlinePassed:      {http.StatusUnprocessableEntity, "Deadline passed"},
	ledger.CodeRateLimited:         {http.StatusTooManyRequests, "Rate limited"},
	ledger.CodeUnavailable:         {http.StatusServiceUnavailable, "Unavailable"},
	ledger.CodeInternal:            {http.StatusInternalServerError, "Internal error"},
	ledger.CodeUnitClosed:          {http.StatusUnprocessableEntity, "Unit closed"},
}

// problem is an RFC 9457 problem detail with the ledger's extension members.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	Field     string `json:"field,omitempty"`
	Line      string `json:"line,omitempty"`
	Requested *int64 `json:"requested,omitempty"`
	Available *int64 `json:"available,omitempty"`
	// Unit and ValidTo name the closed unit and its last day (unit_closed).
	Unit    string       `json:"unit,omitempty"`
	ValidTo *ledger.Date `json:"valid_to,omitempty"`
	// Date is, for insufficient_funds, the first business date the line would be
	// negative on (rule 2); absent for a reversal or settlement beyond its original.
	Date string `json:"date,omitempty"`
	// Deadline and LegalBasis are, for deadline_passed, the line's deadline in force and
	// the decision or law that set it.
	Deadline   string `json:"deadline,omitempty"`
	LegalBasis string `json:"legal_basis,omitempty"`
	// Errors lists every refusal of a non-atomic batch that was refused whole.
	Errors    []batchResult `json:"errors,omitempty"`
	RequestID string        `json:"request_id,omitempty"`
	// StreamLine is, for a refused JSON Lines batch, the line of the stream it names.
	StreamLine int `json:"stream_line,omitempty"`
}

// problemFor builds the problem for an application error. Errors without a code are
// internal: the client sees "internal error", the log gets the real one.
func problemFor(err error) *problem {
	code := ledger.Code(err)
	p := &problem{Code: code, Field: ledger.Field(err)}
	var ife *ledger.InsufficientFundsError
	var uce *ledger.UnitClosedError
	var dpe *ledger.DeadlinePassedError
	var le *ledger.Error
	switch {
	case errors.As(err, &uce):
		p.Detail, p.Unit, p.ValidTo = strings.TrimPrefix(uce.Error(), p.Field+": "), uce.Unit, &uce.ValidTo
	case errors.As(err, &dpe):
		p.Detail = dpe.Error()
		if p.Field != "" {
			p.Detail = strings.TrimPrefix(p.Detail, p.Field+": ")
		}
		p.Line, p.Date, p.Deadline, p.LegalBasis = dpe.Line, dpe.Date.String(), dpe.Deadline.String(), dpe.LegalBasis
	case errors.As(err, &ife):
		p.Detail = ife.Error()
		if p.Field != "" {
			p.Detail = strings.TrimPrefix(p.Detail, p.Field+": ")
		}
		p.Line, p.Requested, p.Available = ife.Line, &ife.Requested, &ife.Available
		if ife.Date != 0 {
			p.Date = ife.Date.String()
		}
	case errors.As(err, &le) && code != ledger.CodeInternal:
		p.Detail = le.Message
	default:
		p.Code = ledger.CodeInternal
		p.Field = ""
		p.Detail = "internal error"
	}
	info, ok := codeInfo[p.Code]
	if !ok { // a code this table lacks: a bug in the ledger package, shown as internal
		info = codeInfo[ledger.CodeInternal]
		p.Code, p.Detail = ledger.CodeInternal, "internal error"
	}
	p.Type, p.Title, p.Status = problemTypePrefix+p.Code, info.title, info.status
	return p
}

// Problem returns how err is shown to a client, for pages that render it themselves
// (Pages): the status of the problem answer, and its detail prefixed by the field it
// names. An error without a code is "internal error" with status 500, which the caller
// logs.
func (s *Server) Problem(err error) (status int, text string) {
	p := problemFor(err)
	if p.Field != "" {
		return p.Status, p.Field + ": " + p.Detail
	}
	return p.Status, p.Detail
}

// problemWithStatus is for the two transport-level refusals whose HTTP status is not the
// status of any public code: 405 (method not allowed) and 415 (unsupported media type).
// The contract's code list has no code of their own, so they carry invalid_argument.
func problemWithStatus(status int, detail string) *problem {
	p := problemFor(&ledger.Error{Code: ledger.CodeInvalidArgument, Message: detail})
	p.Status, p.Title = status, http.StatusText(status)
	return p
}

// invalidArg returns an invalid_argument error naming field.
func invalidArg(field, msg string) error {
	return &ledger.Error{Code: ledger.CodeInvalidArgument, Field: field, Message: msg}
}

// unavailable returns an unavailable error with detail.
func unavailable(detail string) error {
	return &ledger.Error{Code: ledger.CodeUnavailable, Message: detail}
}

// errOutcomeUnknown answers a write whose wait for the sequencer ended (client gone,
// timeout, server stopping): the command may still be recorded.
var errOutcomeUnknown = unavailable("outcome unknown; retry with the same Idempotency-Key")

// writeProblem sends p as application/problem+json.
func writeProblem(c echo.Context, p *problem) error {
	p.RequestID = requestIDOf(c)
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return c.Blob(p.Status, "application/problem+json", b)
}

// errorHandler is echo's HTTPErrorHandler: every error a handler or the router returns
// becomes a problem here, in one place.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var p *problem
	var he *echo.HTTPError
	var se *statusError
	var pe *problemError
	switch {
	case errors.As(err, &pe):
		p = pe.p
	case errors.As(err, &se):
		p = problemWithStatus(se.status, se.detail)
	case errors.As(err, &he):
		p = s.httpErrorProblem(he)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		p = problemFor(errOutcomeUnknown)
	default:
		p = problemFor(err)
	}
	s.cfg.Observer.Refused(p.Code)
	if p.Code == ledger.CodeInternal {
		s.log.Error("internal error", "request_id", requestIDOf(c), "method", c.Request().Method,
			"path", c.Request().URL.Path, "err", err)
	}
	if werr := writeProblem(c, p); werr != nil {
		s.log.Warn("write problem response", "request_id", requestIDOf(c), "err", werr)
	}
}

// httpErrorProblem translates echo's own errors (no route, wrong method, …).
func (s *Server) httpErrorProblem(he *echo.HTTPError) *problem {
	switch he.Code {
	case http.StatusNotFound:
		return problemFor(&ledger.Error{Code: ledger.CodeNotFound, Message: "no such resource"})
	case http.StatusMethodNotAllowed:
		return problemWithStatus(http.StatusMethodNotAllowed, "method not allowed on this resource")
	case http.StatusUnsupportedMediaType:
		return problemWithStatus(http.StatusUnsupportedMediaType, "unsupported media type")
	case http.StatusRequestEntityTooLarge:
		return problemFor(&ledger.Error{Code: ledger.CodePayloadTooLarge, Message: "request body too large"})
	case http.StatusBadRequest:
		return problemFor(&ledger.Error{Code: ledger.CodeInvalidArgument, Message: "bad request"})
	}
	if he.Internal != nil {
		return problemFor(he.Internal)
	}
	return problemFor(errors.New(http.StatusText(he.Code)))
}
