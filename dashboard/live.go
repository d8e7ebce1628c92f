package dashboard

import (
	"fmt"
	"net/http"
	"sync"
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
	// ssePerPrincipalMax bounds the streams one principal (one token) may hold open at
	// once: a few browser tabs, not the server's whole sseConnMax.
	ssePerPrincipalMax = 4
)

// streamSlots counts the open streams, in all and by principal.
type streamSlots struct {
	mu    sync.Mutex
	total int
	by    map[string]int
}

func newStreamSlots() *streamSlots { return &streamSlots{by: map[string]int{}} }

// take reserves a stream for principal id; it reports false, with the detail to show,
// when the server or the principal is at its bound.
func (s *streamSlots) take(id string) (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.by[id] >= ssePerPrincipalMax:
		return false, fmt.Sprintf("this token already has %d live dashboards open; the page still works without live updates", ssePerPrincipalMax)
	case s.total >= sseConnMax:
		return false, "too many live dashboards are open; the page still works without live updates"
	}
	s.total++
	s.by[id]++
	return true, ""
}

// give releases a stream of principal id.
func (s *streamSlots) give(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.by[id]--; s.by[id] <= 0 {
		delete(s.by, id)
	}
}

// handleDashEvents serves the stream; slots bounds the streams open at once.
func (s *Server) handleDashEvents(slots *streamSlots) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, err := s.dashboardAuth(c)
		if err != nil {
			if err == errNotSignedIn {
				// The challenge of RFC 6750, as the API answers a request without a token.
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="ledger"`)
				return &ledger.Error{Code: ledger.CodeUnauthenticated, Message: "sign in at /signin first"}
			}
			return err
		}
		if ok, detail := slots.take(p.TokenID); !ok {
			c.Response().Header().Set("Retry-After", "30")
			return unavailable(detail)
		}
		defer slots.give(p.TokenID)
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
