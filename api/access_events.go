package api

import (
	"time"

	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
)

// recordAccess records the creation or revocation of token t in the hash chain
// (access.token_created, access.token_revoked) through the writer, on behalf of the
// admin who asked. The token is already stored: when the writer cannot record the event
// now (a replica, the writer unavailable), it is logged and the writer records it from
// token_audit at its next start, under the same idempotency key.
func (s *Server) recordAccess(c echo.Context, action string, t *ledger.Token, at time.Time) {
	req := ledger.TokenAccessRequest(action, t, actorOf(c), at)
	req.Principal = principalOf(c)
	req.Meta.Client, req.Meta.RequestID = clientOf(c), requestIDOf(c)
	res, err := s.submit(c, req)
	if err == nil && res.Err != nil {
		err = res.Err
	}
	if err != nil {
		s.log.Warn("token "+action+" but not yet recorded in the hash chain; the writer records it at its next start",
			"request_id", requestIDOf(c), "token_id", t.ID.String(), "error", err)
	}
}
