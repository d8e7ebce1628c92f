package dashboard

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/projections"
)

// API is what the dashboard takes from the API server it is mounted on (*api.Server), so
// that a browser and an API client meet the same rules.
type API interface {
	// Authenticate returns the principal of the access token secret, with the API's
	// rate limits: an unknown, revoked, expired or malformed token is an error with code
	// unauthenticated; too many failed attempts from the client's address, or too many
	// requests with the token, an error with code rate_limited (Retry-After is set on
	// c's response); other errors are store failures.
	Authenticate(c echo.Context, secret string) (*ledger.Principal, error)
	// Problem returns how err is shown to a client, as the API's problem answers show
	// it: the HTTP status, and the detail prefixed by the field it names. An error
	// without a code is "internal error" with status 500; the caller logs it.
	Problem(err error) (status int, text string)
	// AwaitBalances and AwaitProgress wait (bounded) until the projection has the head
	// the request must see, so a page read after a write shows it; an error is shown as
	// the page's error (unavailable when the projection is still behind).
	AwaitBalances(c echo.Context) error
	AwaitProgress(c echo.Context) error
}

// Writer is the write path whose head the pages show and the live updates follow (the
// sequencer, or a replica's follower).
type Writer interface {
	// Head returns the last committed position, hash and recording time.
	Head() ledger.Head
}

// EventReader reads a line's committed events (*pgstore.Store).
type EventReader interface {
	// LineEvents returns up to limit events touching the line with canonical id lineID
	// and position > after, in position order. It returns an error wrapping
	// ledger.ErrUnavailable, or another error, when the store cannot be read.
	LineEvents(ctx context.Context, lineID string, after int64, limit int) ([]*ledger.Event, error)
}

// Config configures a Server. API, Writer, Events and Balances are required.
type Config struct {
	API      API
	Writer   Writer
	Events   EventReader
	Balances *projections.Balances
	// Progress serves the overview and the trend; nil answers them 503.
	Progress *projections.Progress
	// Logger receives internal errors; nil discards.
	Logger *slog.Logger
	// Now is the clock of the trend's last month; nil means time.Now.
	Now func() time.Time
	// Submit records a request (the sequencer's Submit) for the officers' Excel import;
	// nil leaves the import page out (a replica).
	Submit func(ctx context.Context, req *ledger.Request) (*ledger.Result, error)
}

// Server serves the dashboard's pages, assets, sign-in and event stream. It is safe for
// concurrent use.
type Server struct {
	cfg Config
	log *slog.Logger
}

// New returns the dashboard over cfg. It panics when a required dependency is missing:
// that is a wiring bug in main, found at start.
func New(cfg Config) *Server {
	if cfg.API == nil || cfg.Writer == nil || cfg.Events == nil || cfg.Balances == nil {
		panic("dashboard.New: API, Writer, Events and Balances are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Routes registers every route of the dashboard through add. Every route authenticates
// its caller by the session cookie, except the assets and the sign-in form, which show
// no data; the API's bearer middleware must let them all pass (api.Pages).
func (s *Server) Routes(add func(method, path string, h echo.HandlerFunc)) {
	add(http.MethodGet, dashOverviewPath, s.handleOverview)
	add(http.MethodGet, dashTrendPath, s.handleTrend)
	add(http.MethodGet, dashLinesPath, s.handleDashLines)
	add(http.MethodGet, dashLinePath, s.handleDashLine)
	add(http.MethodGet, dashEventsPath, s.handleDashEvents(newStreamSlots()))
	add(http.MethodGet, dashCSSPath, s.handleAsset)
	add(http.MethodGet, dashJSPath, s.handleAsset)
	add(http.MethodGet, signinPath, s.handleSigninForm)
	add(http.MethodPost, signinPath, s.handleSignin)
	add(http.MethodPost, signoutPath, s.handleSignout)
	add(http.MethodGet, dashImportPath, s.handleImportForm)
	add(http.MethodPost, dashImportPath, s.handleImport)
	add(http.MethodGet, dashTemplatePath, s.handleTemplate)
}

// AnonymousRoutes are the routes served to browsers not signed in: the API holds them to
// its unauthenticated share of in-flight slots, a small body and a short read timeout
// (api.AnonymousPages).
func (s *Server) AnonymousRoutes() []string {
	return []string{
		http.MethodGet + " " + dashCSSPath, http.MethodGet + " " + dashJSPath,
		http.MethodGet + " " + signinPath, http.MethodPost + " " + signinPath, http.MethodPost + " " + signoutPath,
	}
}

// now is the dashboard's clock.
func (s *Server) now() time.Time { return s.cfg.Now() }

// principalKey is the echo.Context key of the signed-in *ledger.Principal.
const principalKey = "dashboard.principal"

func principalOf(c echo.Context) *ledger.Principal {
	p, _ := c.Get(principalKey).(*ledger.Principal)
	return p
}

// checkLineScope refuses line l (named field) when it lies outside pr's unit subtree.
func (s *Server) checkLineScope(pr *ledger.Principal, l ledger.Line, field string) error {
	scope := pr.Scope()
	if scope == "" {
		return nil
	}
	ok := false
	s.cfg.Balances.Read(func(st *ledger.State) { ok = ledger.LineReadable(&st.Catalog, &l, scope) })
	if !ok {
		return ledger.OutOfScope(field, scope)
	}
	return nil
}

// Errors of the dashboard, with the codes of the API's problem answers.

func invalidArg(field, msg string) error {
	return &ledger.Error{Code: ledger.CodeInvalidArgument, Field: field, Message: msg}
}

func unavailable(detail string) error {
	return &ledger.Error{Code: ledger.CodeUnavailable, Message: detail}
}

func errForbidden(field, detail string) error {
	return &ledger.Error{Code: ledger.CodeForbidden, Field: field, Message: detail}
}

// errNoProgress answers the overview and the trend of a dashboard without a projection.
var errNoProgress = unavailable("the progress projection is not configured on this server")

// onlyParams refuses a query parameter not in known, or one given twice, as the API's
// routes do.
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

// yearParam reads the year parameter field; 0 when it is absent.
func yearParam(q url.Values, field string) (int, error) {
	v := q.Get(field)
	if v == "" {
		return 0, nil
	}
	y, err := strconv.Atoi(v)
	if err != nil || y < 1 {
		return 0, invalidArg(field, fmt.Sprintf("must be a year such as 2024, got %q", v))
	}
	return y, nil
}
