package pgstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vnntp/ledger/ledger"
)

// Token format and limits.
const (
	// TokenPrefix starts every token, so that secret scanners and people recognise one in a
	// log, a chat or a repository.
	TokenPrefix = "ldg_"
	// tokenSecretBytes is the entropy of a token: 256 random bits.
	tokenSecretBytes = 32
	// TokensListMax bounds how many tokens Tokens returns.
	TokensListMax = 10_000
)

// HashToken is how a token is stored and looked up: SHA-256 of the whole token string.
// A token has 256 random bits, so a fast hash is enough; no password hashing is needed.
func HashToken(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

// newTokenSecret returns TokenPrefix and 32 random bytes in unpadded base64url.
func newTokenSecret() string {
	b := make([]byte, tokenSecretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24): it crashes the program instead
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

const tokenColumns = `id, name, role, coalesce(unit, ''), created_at, expires_at, revoked_at`

// scanToken reads a token row (tokenColumns). The role is parsed: the table's CHECK
// constraint admits only the roles of ledger.Roles.
func scanToken(row pgx.Row) (*ledger.Token, error) {
	t := new(ledger.Token)
	var role string
	var revoked *time.Time
	if err := row.Scan(&t.ID, &t.Name, &role, &t.Unit, &t.CreatedAt, &t.ExpiresAt, &revoked); err != nil {
		return nil, err
	}
	var err error
	if t.Role, err = ledger.ParseRole(role); err != nil {
		return nil, fmt.Errorf("token %s: %w", t.ID, err)
	}
	if revoked != nil {
		t.RevokedAt = *revoked
	}
	return t, nil
}

// CreateToken stores a new token for spec, and in the same transaction its "created"
// entry in token_audit naming actor. It returns the token and its secret, which is
// shown once and stored only as its hash. A spec the table refuses (unknown role, empty
// or long name, expiry not after now, a unit for an auditor or admin) is a wrapped
// driver error; callers validate first.
func (s *Store) CreateToken(ctx context.Context, spec ledger.TokenSpec, actor string, now time.Time) (*ledger.Token, string, error) {
	secret := newTokenSecret()
	hash := HashToken(secret)
	t := &ledger.Token{ID: uuid.Must(uuid.NewV7()), Name: spec.Name, Role: spec.Role, Unit: spec.Unit,
		CreatedAt: now.UTC().Truncate(time.Microsecond), ExpiresAt: spec.ExpiresAt.UTC().Truncate(time.Microsecond)}
	var unit *string
	if t.Unit != "" {
		unit = &t.Unit
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO tokens (id, hash, name, role, unit, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, t.ID, hash[:], t.Name, string(t.Role), unit, t.CreatedAt, t.ExpiresAt); err != nil {
			return err
		}
		return auditToken(ctx, tx, "created", t, actor, t.CreatedAt)
	})
	if err != nil {
		return nil, "", fmt.Errorf("create token %q: %w", spec.Name, unreachable(err))
	}
	return t, secret, nil
}

func auditToken(ctx context.Context, tx pgx.Tx, action string, t *ledger.Token, actor string, at time.Time) error {
	var unit *string
	if t.Unit != "" {
		unit = &t.Unit
	}
	_, err := tx.Exec(ctx, `INSERT INTO token_audit (at, action, token_id, name, role, unit, expires_at, actor)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, at, action, t.ID, t.Name, string(t.Role), unit, t.ExpiresAt, actor)
	return err
}

// TokenBySecret returns the token whose secret is secret, whether or not it is expired or
// revoked (the caller decides), or ledger.ErrNotFound.
func (s *Store) TokenBySecret(ctx context.Context, secret string) (*ledger.Token, error) {
	hash := HashToken(secret)
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = $1`, hash[:]))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ledger.ErrNotFound
	}
	if err != nil {
		// Every request checks its token here (api caches the answer a few seconds): a
		// store that cannot be reached makes it "unavailable, retry", not a 500.
		return nil, fmt.Errorf("look up token: %w", unreachable(err))
	}
	return t, nil
}

// Tokens returns every token (at most TokensListMax), oldest first.
func (s *Store) Tokens(ctx context.Context) ([]*ledger.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY created_at, id LIMIT $1`, TokensListMax)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", unreachable(err))
	}
	defer rows.Close()
	var out []*ledger.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", unreachable(err))
	}
	return out, nil
}

// RevokeToken revokes the token id at now and records a "revoked" entry in token_audit
// naming actor, in one transaction. Revoking a revoked token changes nothing and returns
// it as it is (revocation is idempotent). It returns ledger.ErrNotFound for an unknown id.
func (s *Store) RevokeToken(ctx context.Context, id uuid.UUID, actor string, now time.Time) (*ledger.Token, error) {
	var t *ledger.Token
	now = now.UTC().Truncate(time.Microsecond)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		// FOR UPDATE: two concurrent revocations record one audit entry, not two.
		t, err = scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		if !t.RevokedAt.IsZero() {
			return nil
		}
		if now.Before(t.CreatedAt) { // a clock step backwards must not break the table's CHECK
			now = t.CreatedAt
		}
		if _, err := tx.Exec(ctx, `UPDATE tokens SET revoked_at = $2 WHERE id = $1`, id, now); err != nil {
			return err
		}
		t.RevokedAt = now
		return auditToken(ctx, tx, "revoked", t, actor, now)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ledger.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("revoke token %s: %w", id, unreachable(err))
	}
	return t, nil
}
