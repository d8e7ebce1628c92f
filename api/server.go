package api

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/projections"
)

// Limits of the HTTP layer (docs/design.md §11: everything bounded, every bound named).
const (
	// DefaultBodyMaxBytes bounds the body of a single-command write. The largest command
	// (a transfer with two lines, a decision and a note of textMaxLen bytes each) is far
	// below it.
	DefaultBodyMaxBytes = 64 << 10
	// DefaultBatchBodyMaxBytes bounds the body of POST /v1/batch: BatchMaxCommands
	// disbursements of ordinary size fit with room to spare.
	DefaultBatchBodyMaxBytes = 32 << 20
	// BatchMaxCommands is the most commands one POST /v1/batch may carry. It is of the
	// order of the sequencer's group-commit size (ledger.BatchMaxEvents); a full batch is
	// one transaction and holds the single writer for tens of milliseconds, not seconds.
	// Larger imports are split by the client.
	BatchMaxCommands = 10_000
	// IdempotencyKeyMaxLen bounds the Idempotency-Key header; the key is stored forever.
	IdempotencyKeyMaxLen = 255
	// RequestIDMaxLen bounds an X-Request-Id taken from the client; it is stored in every
	// event's metadata.
	RequestIDMaxLen = 128
	// PageDefault is the page size of list endpoints when limit is not given.
	PageDefault = 100
	// EventsPageMax is the largest limit of GET /v1/events and /v1/lines/{id}/events.
	EventsPageMax = 1000
	// LinesPageMax is the largest limit of GET /v1/lines.
	LinesPageMax = 1000
	// submitTimeout bounds how long a write waits for the sequencer. The answer after it
	// is 503 "outcome unknown": the command may still commit, so the client retries with
	// the same Idempotency-Key.
	submitTimeout = 30 * time.Second
)

// Anonymous is the actor recorded for a write without a principal, which the access
// policy allows to no route; it is kept so that such a bug shows in the metadata.
const Anonymous = "anonymous"

// Writer is the write path: the single sequencer (*ledger.Sequencer).
type Writer interface {
	// Submit records req and returns its result. The error is the caller's ctx error or
	// ledger.ErrClosed; then the outcome is unknown and the client retries with the same
	// Idempotency-Key. Refusals (bad reference, insufficient funds, idempotency conflict,
	// store unavailable) come as Result.Err.
	Submit(ctx context.Context, req *ledger.Request) (*ledger.Result, error)
	// Head returns the last committed position, hash and recording time.
	Head() ledger.Head
}

// EventReader reads committed events from the store (*pgstore.Store). Every method
// returns an error wrapping ledger.ErrUnavailable, or another error, when the store
// cannot be read.
type EventReader interface {
	// Events returns up to limit events with position > after, in position order.
	Events(ctx context.Context, after int64, limit int) ([]*ledger.Event, error)
	// EventsRange returns the events with first ≤ position ≤ last, in position order.
	EventsRange(ctx context.Context, first, last int64) ([]*ledger.Event, error)
	// Event returns the event with id, or ledger.ErrNotFound.
	Event(ctx context.Context, id uuid.UUID) (*ledger.Event, error)
	// LineEvents returns up to limit events touching the line with canonical id lineID
	// and position > after, in position order.
	LineEvents(ctx context.Context, lineID string, after int64, limit int) ([]*ledger.Event, error)
}

// Config configures a Server. Writer, Events and Balances are required.
type Config struct {
	Writer   Writer
	Events   EventReader
	Balances *projections.Balances
	// Logger receives internal errors and recovered panics; nil discards.
	Logger *slog.Logger
	// Ready reports whether the server may take traffic (GET /readyz); nil means always.
	Ready func() error
	// BootstrapToken is LEDGER_BOOTSTRAP_TOKEN, an admin token defined at start and kept
	// in memory only (name "bootstrap"); "" defines none. It must be at least
	// BootstrapTokenMinLen printable ASCII characters.
	BootstrapToken string
	// Audit serves the export, verify and checkpoint routes (api/audit.go); nil answers
	// them 503.
	Audit Auditor
	// Tokens keeps the other access tokens; nil means only the bootstrap token exists.
	Tokens TokenStore
	// Limits bounds traffic (rate per token, requests in flight); zero means defaults.
	Limits Limits
	// Now is the clock of token expiry and rate limits; nil means time.Now.
	Now func() time.Time
	// BodyMaxBytes bounds single-command write bodies; 0 means DefaultBodyMaxBytes.
	BodyMaxBytes int64
	// BatchBodyMaxBytes bounds POST /v1/batch bodies; 0 means DefaultBatchBodyMaxBytes.
	BatchBodyMaxBytes int64
	// Progress serves the progress reports (api/progress.go) and its lag behind the head
	// is part of GET /readyz; nil answers the progress routes 503.
	Progress *projections.Progress
	// Positions resolves ?known_at= of the progress routes; nil answers known_at 503.
	Positions PositionFinder
	// Observer receives every request's route, status and latency and every refusal's
	// code (api/observe.go); nil observes nothing.
	Observer Observer
	// Metrics serves GET /metrics (the Prometheus exposition) without a token; nil
	// answers it 404, as when the metrics listen on an address of their own.
	Metrics http.Handler
	// Vouchers reads the ledger's vouchers for POST /v1/reconciliations; nil answers it 503.
	Vouchers VoucherReader
}

// Server is the HTTP API of docs/design.md §10. It is safe for concurrent use.
type Server struct {
	cfg  Config
	log  *slog.Logger
	echo *echo.Echo

	auth     *authenticator
	rate     *rateLimiter  // per token
	failures *rateLimiter  // unknown tokens per client address
	inflight chan struct{} // the semaphore of Limits.ConcurrentMax
	// anonInflight is the semaphore of anonymous routes (AnonymousShareDivisor).
	anonInflight chan struct{}
	registered   map[string]bool   // "METHOD /route" of every registered route
	policies     map[string]policy // routePolicies and the routes of mounted Pages
}

//go:embed openapi.yaml
var openAPISpec []byte

// New returns a Server over cfg. It panics when a required dependency is missing: that
// is a wiring bug in main, found at start.
func New(cfg Config) *Server {
	if cfg.Writer == nil || cfg.Events == nil || cfg.Balances == nil {
		panic("api.New: Writer, Events and Balances are required")
	}
	if cfg.BodyMaxBytes <= 0 {
		cfg.BodyMaxBytes = DefaultBodyMaxBytes
	}
	if cfg.BatchBodyMaxBytes <= 0 {
		cfg.BatchBodyMaxBytes = DefaultBatchBodyMaxBytes
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.initAccess()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	// Order: every answer gets its request id and secure headers; malformed requests are
	// refused before the semaphore, authentication and the route's policy.
	e.Use(s.observeMiddleware, requestIDMiddleware, s.recoverMiddleware, secureHeadersMiddleware, hygieneMiddleware,
		s.concurrencyMiddleware, s.authMiddleware)
	s.routes(e)
	for _, r := range e.Routes() {
		s.registered[r.Method+" "+r.Path] = true
	}
	s.echo = e
	return s
}

// Handler returns the http.Handler serving the API and the mounted Pages.
func (s *Server) Handler() http.Handler { return s.echo }

// Pages are routes served beside the API that authenticate their callers themselves, as
// the leaders' dashboard does by its session cookie (*dashboard.Server). The bearer
// middleware lets them pass, so every one of their handlers that shows data must check
// its caller (Server.Authenticate).
type Pages interface {
	// Routes registers every route through add.
	Routes(add func(method, path string, h echo.HandlerFunc))
}

// Mount serves p beside the API, behind the same middleware (request id, recovery,
// secure headers, request hygiene, the concurrency limit) and the same error answers.
// Call it before serving. It panics when p registers a route that is served already: a
// wiring bug in main, found at start.
func (s *Server) Mount(p Pages) {
	p.Routes(func(method, path string, h echo.HandlerFunc) {
		key := method + " " + path
		if s.registered[key] {
			panic("api.Mount: " + key + " is served already")
		}
		s.echo.Add(method, path, h)
		s.registered[key] = true
		s.policies[key] = policy{ownAuth: true}
	})
	if a, ok := p.(AnonymousPages); ok {
		for _, key := range a.AnonymousRoutes() {
			pol, ok := s.policies[key]
			if !ok {
				panic("api.Mount: anonymous route " + key + " is not served")
			}
			pol.anonymous = true
			s.policies[key] = pol
		}
	}
}

// AnonymousPages are Pages some of whose routes serve callers who are not signed in (a
// sign-in form, its post, static assets). Those routes are held to the unauthenticated
// share of in-flight slots, a body of at most AnonymousBodyMaxBytes and a read timeout
// of AnonymousReadTimeout.
type AnonymousPages interface {
	Pages
	// AnonymousRoutes lists those routes as "METHOD /path".
	AnonymousRoutes() []string
}

// routes registers every route. TestOpenAPICoversRoutes keeps openapi.yaml in step.
func (s *Server) routes(e *echo.Echo) {
	for _, k := range commandKinds {
		e.POST(k.path, s.handleWrite(k))
	}
	e.POST("/v1/batch", s.handleBatch)

	e.GET("/v1/head", s.handleHead)
	e.GET("/v1/catalog/programs", s.handleCatalog(catalogPrograms))
	e.GET("/v1/catalog/projects", s.handleCatalog(catalogProjects))
	e.GET("/v1/catalog/units", s.handleCatalog(catalogUnits))
	e.GET("/v1/catalog/sources", s.handleCatalog(catalogSources))
	e.GET("/v1/lines", s.handleLines)
	e.GET("/v1/lines/:line_id", s.handleLine)
	e.GET("/v1/lines/:line_id/events", s.handleLineEvents)
	e.GET("/v1/events", s.handleEvents)
	e.GET("/v1/events/:id", s.handleEvent)
	e.GET("/v1/contracts", s.handleContracts)
	e.GET("/v1/contracts/:id", s.handleContract)
	e.POST("/v1/reconciliations", s.handleReconciliation)
	e.GET("/v1/templates/disbursements.xlsx", s.handleDisbursementTemplate)
	e.POST("/v1/tokens", s.handleCreateToken)
	e.GET("/v1/tokens", s.handleTokens)
	e.DELETE("/v1/tokens/:id", s.handleRevokeToken)

	s.auditRoutes(e)
	s.progressRoutes(e)

	e.GET("/healthz", s.handleHealthz)
	e.GET("/readyz", s.handleReadyz)
	e.GET("/metrics", s.handleMetrics)
	e.GET("/openapi.yaml", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", openAPISpec)
	})
}

// requestIDKey is the echo.Context key of the request id.
const requestIDKey = "request_id"

// requestIDMiddleware takes X-Request-Id from the client when it is well formed, else
// makes one, and echoes it in the response, so a client can quote it and an operator
// find the request in the log and in the events' metadata.
func requestIDMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !visibleASCII(id, RequestIDMaxLen) {
			id = newRequestID()
		}
		c.Set(requestIDKey, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// requestIDPrefix is 64 random bits drawn once per process, so that the ids of two
// servers, or of two runs of one, do not collide; requestIDSeq numbers the requests.
var (
	requestIDPrefix = func() [16]byte {
		var r [8]byte
		_, _ = rand.Read(r[:]) // never fails (crypto/rand)
		var b [16]byte
		hex.Encode(b[:], r[:])
		return b
	}()
	requestIDSeq atomic.Uint64
)

// newRequestID returns the prefix and the next sequence number, in hex: unique like a
// random UUID, but without reading the system's random source on every request.
func newRequestID() string {
	var b [16 + 1 + 16]byte
	n := copy(b[:], requestIDPrefix[:])
	b[n] = '-'
	return string(strconv.AppendUint(b[:n+1], requestIDSeq.Add(1), 16))
}

func requestIDOf(c echo.Context) string {
	id, _ := c.Get(requestIDKey).(string)
	return id
}

// visibleASCII reports whether s is 1..maxLen bytes of printable ASCII without spaces.
func visibleASCII(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// recoverMiddleware turns a panic in a handler into a 500 problem and a log entry with
// the stack: one bad request must not take the connection down with a crash.
// http.ErrAbortHandler is re-raised, since net/http uses it to abort a response on
// purpose.
func (s *Server) recoverMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.log.Error("panic in handler", "request_id", requestIDOf(c), "method", c.Request().Method,
				"path", c.Request().URL.Path, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r) // no code: shown to the client as "internal error"
		}()
		return next(c)
	}
}

func (s *Server) handleHealthz(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, []byte(`{"status":"ok"}`))
}
