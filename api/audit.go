package api

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
)

// Limits of the audit routes.
const (
	// CheckpointsPageMax is the largest limit of GET /v1/checkpoints.
	CheckpointsPageMax = 1000
	// verifyConcurrentMax is how many GET /v1/verify may run at once: each reads the whole
	// chain, and two at a time would only halve each other's speed.
	verifyConcurrentMax = 1
)

// Auditor serves the audit routes: the whole-ledger export, the chain check and the
// signed checkpoints (*pgstore.Store). Every method returns a wrapped store error when
// the store cannot be read.
type Auditor interface {
	// ReadFrom calls fn for every event with position > after, in position order, and
	// returns fn's first error unwrapped.
	ReadFrom(ctx context.Context, after int64, fn func(*ledger.Event) error) error
	// Verify checks the chain and the checkpoints; a problem found is in the report, not
	// the error.
	Verify(ctx context.Context, opt ledger.VerifyOptions) (ledger.VerifyReport, error)
	// Checkpoints returns up to limit checkpoints with position > after, in position order.
	Checkpoints(ctx context.Context, after int64, limit int) ([]ledger.Checkpoint, error)
	// SigningKeys returns every registered checkpoint public key, oldest first.
	SigningKeys(ctx context.Context) ([]ledger.SigningKey, error)
}

// errNoAuditor answers the audit routes of a server built without an Auditor.
var errNoAuditor = unavailable("the audit routes are not configured on this server")

// auditRoutes registers the audit routes.
func (s *Server) auditRoutes(e *echo.Echo) {
	e.GET("/v1/events/export", s.handleExport)
	e.GET("/v1/verify", s.handleVerify(make(chan struct{}, verifyConcurrentMax)))
	e.GET("/v1/checkpoints", s.handleCheckpoints)
	e.GET("/v1/checkpoints/key", s.handleCheckpointKeys)
}

// handleExport streams every event after ?after= as JSON Lines or CSV (with the UTF-8
// byte order mark unless ?bom=false, text cells neutralised against formulas). The status line is
// sent before the first event is read, so a store failure midway cannot become a
// problem response: the connection is cut instead (http.ErrAbortHandler), and the client
// sees a truncated transfer rather than an export that looks complete.
func (s *Server) handleExport(c echo.Context) error {
	if s.cfg.Audit == nil {
		return errNoAuditor
	}
	q := c.QueryParams()
	if err := onlyParams(q, "format", "after", "bom"); err != nil {
		return err
	}
	format := q.Get("format")
	if format == "" {
		format = ledger.ExportJSONL
	}
	after, err := positionParam(q.Get("after"), "after")
	if err != nil {
		return err
	}
	bom, err := bomParam(q)
	if err != nil {
		return err
	}
	res := c.Response()
	x, err := ledger.NewExporter(res, format, bom)
	if err != nil {
		return err
	}
	contentType, ext := "application/x-ndjson", "jsonl"
	if format == ledger.ExportCSV {
		contentType, ext = "text/csv; charset=utf-8", "csv"
	}
	res.Header().Set(echo.HeaderContentType, contentType)
	res.Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="ledger-events-after-%d.%s"`, after, ext))
	res.WriteHeader(http.StatusOK)
	err = s.cfg.Audit.ReadFrom(c.Request().Context(), after, x.Write)
	if err == nil {
		err = x.Flush()
	}
	if err != nil {
		s.log.Error("export cut short", "request_id", requestIDOf(c), "events", x.Count(), "error", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// handleVerify checks the chain and the checkpoints from ?from= to ?to= (default: all)
// and answers the report; a problem found is a 200 with "ok": false and the finding.
// slots bounds the verifications running at once.
func (s *Server) handleVerify(slots chan struct{}) echo.HandlerFunc {
	return func(c echo.Context) error { return s.verify(c, slots) }
}

func (s *Server) verify(c echo.Context, slots chan struct{}) error {
	if s.cfg.Audit == nil {
		return errNoAuditor
	}
	q := c.QueryParams()
	if err := onlyParams(q, "from", "to"); err != nil {
		return err
	}
	from, err := positionParam(q.Get("from"), "from")
	if err != nil {
		return err
	}
	to, err := positionParam(q.Get("to"), "to")
	if err != nil {
		return err
	}
	if to != 0 && to < max(from, 1) {
		return invalidArg("to", fmt.Sprintf("must be 0 (the head) or ≥ from, got %d", to))
	}
	select {
	case slots <- struct{}{}:
		defer func() { <-slots }()
	default:
		return &ledger.Error{Code: ledger.CodeRateLimited, Message: "a verification is already running; try again when it ends"}
	}
	start := time.Now()
	rep, err := s.cfg.Audit.Verify(c.Request().Context(), ledger.VerifyOptions{From: from, To: to})
	if err != nil {
		return storeError(err, "verify")
	}
	return writeJSON(c, http.StatusOK, struct {
		ledger.VerifyReport
		DurationMS int64 `json:"duration_ms"`
	}{rep, time.Since(start).Milliseconds()})
}

func (s *Server) handleCheckpoints(c echo.Context) error {
	if s.cfg.Audit == nil {
		return errNoAuditor
	}
	q := c.QueryParams()
	if err := onlyParams(q, "after", "limit"); err != nil {
		return err
	}
	after, err := positionParam(q.Get("after"), "after")
	if err != nil {
		return err
	}
	limit, err := pageLimit(q, CheckpointsPageMax)
	if err != nil {
		return err
	}
	cps, err := s.cfg.Audit.Checkpoints(c.Request().Context(), after, limit)
	if err != nil {
		return storeError(err, "read checkpoints")
	}
	if cps == nil {
		cps = []ledger.Checkpoint{}
	}
	if len(cps) > 0 {
		after = cps[len(cps)-1].Position
	}
	return writeJSON(c, http.StatusOK, struct {
		Items     []ledger.Checkpoint `json:"items"`
		NextAfter int64               `json:"next_after"`
	}{cps, after})
}

// signingKeyJSON is a registered public key as GET /v1/checkpoints/key shows it.
type signingKeyJSON struct {
	KeyID     string    `json:"key_id"`
	PublicKey string    `json:"public_key"` // base64 of the 32 raw bytes
	CreatedAt time.Time `json:"created_at"`
}

func (s *Server) handleCheckpointKeys(c echo.Context) error {
	if s.cfg.Audit == nil {
		return errNoAuditor
	}
	if err := onlyParams(c.QueryParams()); err != nil {
		return err
	}
	keys, err := s.cfg.Audit.SigningKeys(c.Request().Context())
	if err != nil {
		return storeError(err, "read signing keys")
	}
	items := make([]signingKeyJSON, len(keys))
	for i, k := range keys {
		items[i] = signingKeyJSON{KeyID: k.KeyID, PublicKey: base64.StdEncoding.EncodeToString(k.PublicKey), CreatedAt: k.CreatedAt}
	}
	return writeJSON(c, http.StatusOK, struct {
		Items []signingKeyJSON `json:"items"`
	}{items})
}

// positionParam parses an optional ledger position (default 0).
func positionParam(v, field string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, invalidArg(field, fmt.Sprintf("must be a ledger position ≥ 0, got %q", v))
	}
	return n, nil
}
