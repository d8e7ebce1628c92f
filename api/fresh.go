package api

import (
	"context"
	"fmt"
	"time"

	"github.com/labstack/echo/v4"
)

// Read-your-writes.
//
// The in-memory projections (Config.Balances, Config.Progress) are fed behind the writer,
// on goroutines of their own (projections.Fanout), so for a moment after a commit they
// may not have it yet. The API remembers nothing per client. Instead, every answer
// computed from a projection first waits until the projection has applied the writer's
// head as it was when the request first read the projection. A write is answered 201 only
// after its commit moved the head, so a client that got 201 and then reads sees its
// write, and so does every client whose read began after that answer. The wait is
// bounded by ProjectionWaitMax: a projection still behind then is answered 503
// unavailable with Retry-After, never with figures that leave recorded events out.
// Progress reads at a past position (at, known_at) wait the same way.
const ProjectionWaitMax = 2 * time.Second

// projection is what the API waits on (*projections.Balances, *projections.Progress).
type projection interface {
	// Position returns the last position applied, without taking the projection's lock.
	Position() int64
	// WaitFor returns when pos is applied, or ctx's error when ctx ends first.
	WaitFor(ctx context.Context, pos int64) error
}

// readHeadKey is the echo.Context key of the head a request's projection reads must see.
const readHeadKey = "read_head"

// readHead returns the writer's head as of the request's first projection read, the
// same for every later read of the request.
func (s *Server) readHead(c echo.Context) int64 {
	if h, ok := c.Get(readHeadKey).(int64); ok {
		return h
	}
	h := s.cfg.Writer.Head().Position
	c.Set(readHeadKey, h)
	return h
}

// AwaitBalances waits, at most ProjectionWaitMax, until the Balances projection has the
// writer's head as of the request's first projection read: pages mounted beside the API
// (the dashboard) keep the same read-your-writes rule. It answers as freshBalances.
func (s *Server) AwaitBalances(c echo.Context) error { return s.freshBalances(c) }

// AwaitProgress is AwaitBalances for the Progress projection; the server must have one.
func (s *Server) AwaitProgress(c echo.Context) error { return s.freshProgress(c) }

// freshBalances waits until the Balances projection has the head the request must see.
func (s *Server) freshBalances(c echo.Context) error {
	return s.awaitPosition(c, s.cfg.Balances, "balances", s.readHead(c))
}

// freshProgress waits until the Progress projection has the head the request must see;
// the caller has checked that the server has one.
func (s *Server) freshProgress(c echo.Context) error {
	return s.awaitPosition(c, s.cfg.Progress, "progress", s.readHead(c))
}

// awaitPosition waits, at most ProjectionWaitMax, until p (named name) has applied pos.
// It answers 503 unavailable with Retry-After when p is still behind, and the client's
// own error when the client went away.
func (s *Server) awaitPosition(c echo.Context, p projection, name string, pos int64) error {
	if p.Position() >= pos {
		return nil
	}
	rctx := c.Request().Context()
	ctx, cancel := context.WithTimeout(rctx, ProjectionWaitMax)
	defer cancel()
	if err := p.WaitFor(ctx, pos); err != nil {
		if rctx.Err() != nil {
			return rctx.Err()
		}
		c.Response().Header().Set("Retry-After", "1")
		return unavailable(fmt.Sprintf("the %s projection is at position %d, this read must see position %d; retry shortly",
			name, p.Position(), pos))
	}
	return nil
}
