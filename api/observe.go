package api

import (
	"time"

	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
)

// Observer receives the API's measurements; cmd/ledger hands it the Prometheus metrics
// (package metrics). Its methods are called once per request, concurrently, and must be
// cheap.
type Observer interface {
	// Request records a request answered on route (the route pattern, "/v1/lines/:line_id";
	// "" when no route matched) with status after d.
	Request(route, method string, status int, d time.Duration)
	// Refused counts a request answered with the problem code.
	Refused(code string)
}

// observeMiddleware times every request, pages of the dashboard included, by its route
// pattern. It is the outermost middleware: it hands an error to the error handler itself,
// so that the status it records is the one sent.
func (s *Server) observeMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		s.cfg.Observer.Request(c.Path(), c.Request().Method, c.Response().Status, time.Since(start))
		return nil
	}
}

// handleMetrics serves Config.Metrics, the Prometheus exposition, without a token, like
// /healthz: it holds positions and counts, never ledger data. When the metrics listen on
// an address of their own (ledger serve --metrics-addr) Metrics is nil here and the route
// answers 404 on the API's address.
func (s *Server) handleMetrics(c echo.Context) error {
	if s.cfg.Metrics == nil {
		return &ledger.Error{Code: ledger.CodeNotFound, Message: "metrics are served on their own address (--metrics-addr)"}
	}
	s.cfg.Metrics.ServeHTTP(c.Response(), c.Request())
	return nil
}

// noObserver is the Observer of a server configured without one.
type noObserver struct{}

func (noObserver) Request(string, string, int, time.Duration) {}
func (noObserver) Refused(string)                             {}
