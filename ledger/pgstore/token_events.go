package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/vnntp/ledger/ledger"
)

// TokenAuditEntry is one row of token_audit: a token's creation or revocation, with who
// did it. The writer records each as an access event in the hash chain
// (ledger.TokenAccessRequest).
type TokenAuditEntry struct {
	Seq    int64
	At     time.Time
	Action string // ledger.TokenActionCreated or ledger.TokenActionRevoked
	Token  ledger.Token
	Actor  string
}

// TokenAuditPage is the most entries TokenAudit returns at once.
const TokenAuditPage = 1000

// TokenAudit returns up to TokenAuditPage entries of token_audit with seq > after, in
// seq order.
func (s *Store) TokenAudit(ctx context.Context, after int64) ([]TokenAuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, at, action, token_id, name, role, coalesce(unit, ''), expires_at, actor
		FROM token_audit WHERE seq > $1 ORDER BY seq LIMIT $2`, after, TokenAuditPage)
	if err != nil {
		return nil, fmt.Errorf("read token audit: %w", err)
	}
	defer rows.Close()
	var out []TokenAuditEntry
	for rows.Next() {
		var e TokenAuditEntry
		var role string
		if err := rows.Scan(&e.Seq, &e.At, &e.Action, &e.Token.ID, &e.Token.Name, &role, &e.Token.Unit, &e.Token.ExpiresAt, &e.Actor); err != nil {
			return nil, fmt.Errorf("read token audit: %w", err)
		}
		if e.Token.Role, err = ledger.ParseRole(role); err != nil {
			return nil, fmt.Errorf("token audit %d: %w", e.Seq, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read token audit: %w", err)
	}
	return out, nil
}

// TryAcquireWriter takes the writer lock if no one holds it: it returns the session, or
// nil when a writer is running. `ledger token` uses it to record its access event
// itself only when no server would.
func (s *Store) TryAcquireWriter(ctx context.Context) (*WriterSession, error) {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "ledger token"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect the writer session: %w", err)
	}
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, WriterLockKey).Scan(&locked); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("take the writer lock: %w", err)
	}
	if !locked {
		conn.Close(context.Background())
		return nil, nil
	}
	return &WriterSession{s: s, head: headUnknown, conn: conn}, nil
}
