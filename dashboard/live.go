package dashboard

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
)

// Live update of the dashboard: GET /dashboard/events is a server-sent event stream
// that says "head" with the new position whenever the writer's head moves; the page's
// script then reloads the figures. The server polls Writer.Head() rather than hooking
// into the commit path, so a slow browser can never hold up the writer.
const (
	// ssePollInterval is how often a stream looks at the head.
	ssePollInterval = time.Second
	// sseHeartbeat is how often an idle stream sends a comment, so that proxies keep it.
	sseHeartbeat = 15 * time.Second
	// sseLifetime ends a stream before the HTTP server's write timeout (60 s in
	// cmd/ledger) would cut it; the browser reconnects after sseRetry, by itself.
	sseLifetime = 50 * time.Second
	// sseRetry is the reconnection delay the browser is told to use.
	sseRetry = 3 * time.Second
	// sseConnMax bounds the streams open at once: each holds a connection and one of the
	// server's in-flight slots. Beyond it the answer is 503 and the page still works,
	// without live updates.
	sseConnMax = 64
)

// handleDashEvents serves the stream; slots bounds the streams open at once.
func (s *Server) handleDashEvents(slots chan struct{}) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, err := s.dashboardAuth(c); err != nil {
			if err == errNotSignedIn {
				// The challenge of RFC 6750, as the API answers a request without a token.
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="ledger"`)
				return &ledger.Error{Code: ledger.CodeUnauthenticated, Message: "sign in at /signin first"}
			}
			return err
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		default:
			c.Response().Header().Set("Retry-After", "30")
			return unavailable("too many live dashboards are open; the page still works without live updates")
		}
		res := c.Response()
		h := res.Header()
		h.Set(echo.HeaderContentType, "text/event-stream")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
		res.WriteHeader(http.StatusOK)
		ctx := c.Request().Context()
		last := s.cfg.Writer.Head().Position
		if _, err := fmt.Fprintf(res, "retry: %d\nevent: head\ndata: %d\n\n", sseRetry.Milliseconds(), last); err != nil {
			return nil
		}
		res.Flush()
		poll := time.NewTicker(ssePollInterval)
		defer poll.Stop()
		end := time.NewTimer(sseLifetime)
		defer end.Stop()
		quiet := time.Now()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-end.C:
				return nil
			case <-poll.C:
			}
			msg := ""
			if pos := s.cfg.Writer.Head().Position; pos != last {
				last = pos
				msg = fmt.Sprintf("event: head\ndata: %d\n\n", pos)
			} else if time.Since(quiet) >= sseHeartbeat {
				msg = ": idle\n\n"
			}
			if msg == "" {
				continue
			}
			quiet = time.Now()
			if _, err := fmt.Fprint(res, msg); err != nil {
				return nil // the browser left
			}
			res.Flush()
		}
	}
}
