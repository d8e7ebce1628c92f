package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/report"
)

// POST /v1/reconciliations compares a State Treasury statement (multipart upload) with
// the ledger's vouchers of the office and period, records the comparison as a
// reconciliation.completed event and answers the comparison, in JSON or as an XLSX
// workbook (?format=xlsx). Nothing is recorded when the statement is malformed.

// VoucherReader reads the events that carry vouchers of an office (*pgstore.Store).
type VoucherReader interface {
	// VoucherEvents returns up to limit events with a voucher of office dated from..to,
	// in position order; an error wraps ledger.ErrUnavailable when the store cannot be read.
	VoucherEvents(ctx context.Context, office string, from, to ledger.Date, limit int) ([]*ledger.Event, error)
}

// reconcileFieldMax bounds a text part of the upload (office, from, to, note, format, lang).
const reconcileFieldMax = 1 << 10

// reconcileBodyMax bounds the whole upload: the statement and the small fields.
const reconcileBodyMax = report.StatementBytesMax + 64<<10

const mimeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// reconcileRequest is the upload: its parts, as read.
type reconcileRequest struct {
	office, from, to, note, format, lang string
	statement                            []byte
	haveStatement                        bool
}

func (s *Server) handleReconciliation(c echo.Context) error {
	if s.cfg.Vouchers == nil {
		return unavailable("reconciliation needs the event store, which this server does not have")
	}
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	up, err := readReconcileUpload(c)
	if err != nil {
		return err
	}
	period, err := reconcilePeriod(up)
	if err != nil {
		return err
	}
	lang := report.LangVI
	if up.lang != "" {
		l, ok := report.ParseLang(up.lang)
		if !ok {
			return invalidArg("lang", fmt.Sprintf("must be vi or en, got %q", up.lang))
		}
		lang = l
	}
	if up.format != "" && up.format != "json" && up.format != "xlsx" {
		return invalidArg("format", fmt.Sprintf("must be json or xlsx, got %q", up.format))
	}
	if !up.haveStatement {
		return invalidArg("statement", "the statement file (a form part named statement) is required")
	}
	entries, err := report.ParseStatement(up.statement, period)
	if err != nil {
		var se *report.StatementError
		if errors.As(err, &se) {
			return se.AsLedgerError()
		}
		return err
	}
	sum := sha256.Sum256(up.statement)
	fileSHA := hex.EncodeToString(sum[:])

	head := s.cfg.Writer.Head().Position
	result, err := s.reconcile(c, period, entries, head)
	if err != nil {
		return err
	}
	cmd := &ledger.RecordReconciliation{Reconciliation: countsOf(result, period, fileSHA, len(entries), head), Note: up.note}
	if err := cmd.Validate(); err != nil {
		return err
	}
	req := newRequest(c, key, true, cmd)
	if key != "" {
		// The request is the statement and what it is reconciled for, not the counts: a
		// retry after more vouchers were recorded is still the same request.
		req.Hash = fingerprint("/v1/reconciliations", struct{ Office, From, To, File, Note string }{
			period.Office, period.From.String(), period.To.String(), fileSHA, up.note})
	}
	res, err := s.submit(c, req)
	if err != nil {
		return err
	}
	if res.Err != nil {
		return res.Err
	}
	events, err := s.resultEvents(c, res, 1)
	if err != nil {
		return err
	}
	e := events[0]
	if rec := e.Data.Reconciliation; rec != nil && rec.LedgerPosition != head {
		// A replay: answer the comparison as it was made, at the original position.
		if result, err = s.reconcile(c, period, entries, rec.LedgerPosition); err != nil {
			return err
		}
		head = rec.LedgerPosition
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/events/"+e.ID.String())
	m := report.ReconcileMeta{Office: period.Office, From: period.From, To: period.To, FileSHA256: fileSHA,
		StatementRows: len(entries), LedgerPosition: head, EventID: e.ID.String(), EventPosition: e.Position}
	if up.format == "xlsx" {
		res := c.Response()
		res.Header().Set(echo.HeaderContentType, mimeXLSX)
		res.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="reconciliation-%d.xlsx"`, e.Position))
		res.WriteHeader(http.StatusCreated)
		if err := report.WriteXLSX(res, report.LayoutReconciliation(&result, m, lang), lang); err != nil {
			s.log.Error("reconciliation XLSX cut short", "request_id", requestIDOf(c), "error", err)
			panic(http.ErrAbortHandler)
		}
		return nil
	}
	return writeJSON(c, http.StatusCreated, reconcileJSONOf(&result, m, e))
}

// reconcile compares entries with the ledger's vouchers of the period recorded at or
// before position k, on the lines of the principal's subtree.
func (s *Server) reconcile(c echo.Context, p report.StatementPeriod, entries []ledger.StatementEntry, k int64) (ledger.ReconcileResult, error) {
	events, err := s.cfg.Vouchers.VoucherEvents(c.Request().Context(), p.Office, p.From, p.To, ledger.ReconcileRowsMax+1)
	if err != nil {
		return ledger.ReconcileResult{}, err
	}
	if len(events) > ledger.ReconcileRowsMax {
		return ledger.ReconcileResult{}, invalidArg("to", fmt.Sprintf("the ledger holds more than %d vouchers of the office in the period: reconcile a shorter one", ledger.ReconcileRowsMax))
	}
	scope := scopeOf(c)
	if scope != "" {
		if err := s.freshBalances(c); err != nil {
			return ledger.ReconcileResult{}, err
		}
	}
	var vouchers []ledger.LedgerVoucher
	s.cfg.Balances.Read(func(st *ledger.State) {
		for _, e := range events {
			v, ok := ledger.VoucherOf(e)
			if ok && e.Position <= k && (scope == "" || lineInScope(&st.Catalog, &v.Line, scope)) {
				vouchers = append(vouchers, v)
			}
		}
	})
	return ledger.Reconcile(entries, vouchers), nil
}

func countsOf(r ledger.ReconcileResult, p report.StatementPeriod, fileSHA string, rows int, k int64) ledger.Reconciliation {
	return ledger.Reconciliation{Office: p.Office, From: p.From, To: p.To, FileSHA256: fileSHA, StatementRows: rows,
		LedgerPosition: k, Matched: len(r.Matched), AmountDifferences: len(r.AmountDiffs), DateDifferences: len(r.DateDiffs),
		TreasuryOnly: len(r.TreasuryOnly), LedgerOnly: len(r.LedgerOnly)}
}

func reconcilePeriod(up *reconcileRequest) (report.StatementPeriod, error) {
	var p report.StatementPeriod
	if up.office == "" {
		return p, invalidArg("office", "the Treasury office code is required")
	}
	p.Office = up.office
	var err error
	if p.From, err = ledger.ParseDate(up.from, "from"); err != nil {
		return p, err
	}
	if p.To, err = ledger.ParseDate(up.to, "to"); err != nil {
		return p, err
	}
	if p.To < p.From {
		return p, invalidArg("to", "must not be before from")
	}
	return p, nil
}

// readReconcileUpload reads the multipart form: the statement file and the text parts.
// Unknown parts are refused.
func readReconcileUpload(c echo.Context) (*reconcileRequest, error) {
	r := c.Request()
	mt, params, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, &statusError{http.StatusUnsupportedMediaType, "Content-Type must be multipart/form-data with the statement file and the fields office, from, to"}
	}
	if r.ContentLength > reconcileBodyMax {
		return nil, tooLargeUpload()
	}
	r.Body = http.MaxBytesReader(c.Response().Writer, r.Body, reconcileBodyMax)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, invalidArg("", "malformed multipart body: "+err.Error())
	}
	up := &reconcileRequest{}
	fields := map[string]*string{"office": &up.office, "from": &up.from, "to": &up.to, "note": &up.note,
		"format": &up.format, "lang": &up.lang}
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return up, nil
		}
		if err != nil {
			return nil, uploadError(err)
		}
		name := part.FormName()
		if seen[name] {
			return nil, invalidArg(name, "appears more than once")
		}
		seen[name] = true
		if name == "statement" {
			var buf bytes.Buffer
			n, err := buf.ReadFrom(io.LimitReader(part, report.StatementBytesMax+1))
			if err != nil {
				return nil, uploadError(err)
			}
			if n > report.StatementBytesMax {
				return nil, tooLargeUpload()
			}
			up.statement, up.haveStatement = buf.Bytes(), true
			continue
		}
		dst, ok := fields[name]
		if !ok {
			return nil, invalidArg(name, "is not a field of this upload (statement, office, from, to, note, format, lang)")
		}
		b, err := io.ReadAll(io.LimitReader(part, reconcileFieldMax+1))
		if err != nil {
			return nil, uploadError(err)
		}
		if len(b) > reconcileFieldMax {
			return nil, invalidArg(name, fmt.Sprintf("is longer than %d bytes", reconcileFieldMax))
		}
		*dst = strings.TrimSpace(string(b))
	}
}

func tooLargeUpload() error {
	return &ledger.Error{Code: ledger.CodePayloadTooLarge, Field: "statement",
		Message: fmt.Sprintf("the statement exceeds %d bytes", report.StatementBytesMax)}
}

func uploadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLargeUpload()
	}
	return invalidArg("", "malformed multipart body: "+err.Error())
}

// reconcileJSON is the answer of POST /v1/reconciliations.
type reconcileJSON struct {
	Event             *ledger.Event    `json:"event"`
	Office            string           `json:"office"`
	From              ledger.Date      `json:"from"`
	To                ledger.Date      `json:"to"`
	FileSHA256        string           `json:"file_sha256"`
	LedgerPosition    int64            `json:"ledger_position"`
	Counts            reconcileCounts  `json:"counts"`
	Matched           []reconciledItem `json:"matched"`
	AmountDifferences []reconciledItem `json:"amount_differences"`
	DateDifferences   []reconciledItem `json:"date_differences"`
	TreasuryOnly      []reconciledItem `json:"treasury_only"`
	LedgerOnly        []reconciledItem `json:"ledger_only"`
}

type reconcileCounts struct {
	StatementRows     int `json:"statement_rows"`
	Matched           int `json:"matched"`
	AmountDifferences int `json:"amount_differences"`
	DateDifferences   int `json:"date_differences"`
	TreasuryOnly      int `json:"treasury_only"`
	LedgerOnly        int `json:"ledger_only"`
}

type reconciledItem struct {
	Type             string        `json:"type"`
	Number           string        `json:"number"`
	Treasury         *treasurySide `json:"treasury"`
	Ledger           *ledgerSide   `json:"ledger"`
	AmountDifference *int64        `json:"amount_difference,omitempty"` // Treasury − ledger, when on both sides
}

type treasurySide struct {
	Row         int         `json:"row"`
	Date        ledger.Date `json:"date"`
	Amount      int64       `json:"amount"`
	Description string      `json:"description,omitempty"`
}

type ledgerSide struct {
	EventID   string      `json:"event_id"`
	EventType string      `json:"event_type"`
	Kind      string      `json:"kind,omitempty"`
	LineID    string      `json:"line_id"`
	Date      ledger.Date `json:"date"`
	Amount    int64       `json:"amount"`
}

func reconcileJSONOf(r *ledger.ReconcileResult, m report.ReconcileMeta, e *ledger.Event) reconcileJSON {
	tside := func(s ledger.StatementEntry) *treasurySide {
		return &treasurySide{Row: s.Row, Date: s.Date, Amount: s.Amount, Description: s.Description}
	}
	lside := func(v ledger.LedgerVoucher) *ledgerSide {
		return &ledgerSide{EventID: v.EventID.String(), EventType: string(v.EventType), Kind: v.Kind, LineID: v.Line.ID(),
			Date: v.Voucher.Date, Amount: v.Amount}
	}
	pairs := func(ps []ledger.ReconciledPair) []reconciledItem {
		out := make([]reconciledItem, len(ps))
		for i := range ps {
			d := ps[i].AmountDifference()
			out[i] = reconciledItem{Type: ps[i].Treasury.Type, Number: ps[i].Treasury.Number, Treasury: tside(ps[i].Treasury),
				Ledger: lside(ps[i].Ledger), AmountDifference: &d}
		}
		return out
	}
	out := reconcileJSON{Event: e, Office: m.Office, From: m.From, To: m.To, FileSHA256: m.FileSHA256,
		LedgerPosition: m.LedgerPosition, Matched: pairs(r.Matched), AmountDifferences: pairs(r.AmountDiffs),
		DateDifferences: pairs(r.DateDiffs), TreasuryOnly: []reconciledItem{}, LedgerOnly: []reconciledItem{},
		Counts: reconcileCounts{StatementRows: m.StatementRows, Matched: len(r.Matched), AmountDifferences: len(r.AmountDiffs),
			DateDifferences: len(r.DateDiffs), TreasuryOnly: len(r.TreasuryOnly), LedgerOnly: len(r.LedgerOnly)}}
	for _, s := range r.TreasuryOnly {
		out.TreasuryOnly = append(out.TreasuryOnly, reconciledItem{Type: s.Type, Number: s.Number, Treasury: tside(s)})
	}
	for _, v := range r.LedgerOnly {
		out.LedgerOnly = append(out.LedgerOnly, reconciledItem{Type: v.Voucher.Type, Number: v.Voucher.Number, Ledger: lside(v)})
	}
	return out
}

// handleDisbursementTemplate serves the Excel workbook officers fill with disbursements
// for `ledger import --xlsx`: the columns with Vietnamese headers and data validation.
func (s *Server) handleDisbursementTemplate(c echo.Context) error {
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, mimeXLSX)
	res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="disbursements.xlsx"`)
	res.WriteHeader(http.StatusOK)
	if err := report.WriteDisbursementTemplate(res); err != nil {
		s.log.Error("disbursement template cut short", "request_id", requestIDOf(c), "error", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}
