package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
)

// Token lifetimes.
const (
	// TokenDefaultTTL is the lifetime of a token created without an expiry.
	TokenDefaultTTL = 90 * 24 * time.Hour
	// TokenMaxTTL is the longest lifetime a token may be given: a forgotten credential
	// stops working within a year.
	TokenMaxTTL = 366 * 24 * time.Hour
)

// tokenJSON is a token as GET /v1/tokens shows it; "token" (the secret) only in the
// answer to POST /v1/tokens.
type tokenJSON struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	Unit      *string    `json:"unit"` // null: every unit
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	Token     string     `json:"token,omitempty"`
}

func tokenOut(t *ledger.Token, secret string) tokenJSON {
	out := tokenJSON{ID: t.ID.String(), Name: t.Name, Role: string(t.Role), CreatedAt: t.CreatedAt.UTC(),
		ExpiresAt: t.ExpiresAt.UTC(), Token: secret}
	if t.Unit != "" {
		u := t.Unit
		out.Unit = &u
	}
	if !t.RevokedAt.IsZero() {
		r := t.RevokedAt.UTC()
		out.RevokedAt = &r
	}
	return out
}

// tokenRequest is the body of POST /v1/tokens.
type tokenRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
	Unit string `json:"unit"`
	// ExpiresAt is an RFC 3339 time; empty means now + TokenDefaultTTL.
	ExpiresAt string `json:"expires_at"`
}

// CheckTokenSpec validates a token to create at now, naming the wrong field: a known
// role, a printable name of 1..TokenNameMaxLen bytes, a unit only for officers and
// leaders (in the form of a unit code), an expiry after now and within TokenMaxTTL.
// `ledger token create` uses it too, so both paths accept the same tokens.
func CheckTokenSpec(spec ledger.TokenSpec, now time.Time) error {
	if _, err := ledger.ParseRole(string(spec.Role)); err != nil {
		return err
	}
	switch {
	case spec.Name == "" || len(spec.Name) > TokenNameMaxLen || !cleanText(spec.Name) || strings.TrimSpace(spec.Name) != spec.Name:
		return invalidArg("name", fmt.Sprintf("must be 1 to %d bytes of text without control characters or surrounding spaces", TokenNameMaxLen))
	case spec.Unit != "" && !spec.Role.Scoped():
		return invalidArg("unit", "only officer and leader tokens are held to a unit; "+string(spec.Role)+"s see everything")
	case spec.Unit != "" && !unitCode(spec.Unit):
		return invalidArg("unit", "must be a unit id: 1 to 32 characters [A-Za-z0-9._-]")
	case !spec.ExpiresAt.After(now):
		return invalidArg("expires_at", "must be in the future")
	case spec.ExpiresAt.Sub(now) > TokenMaxTTL:
		return invalidArg("expires_at", fmt.Sprintf("must be within %d days", TokenMaxTTL/(24*time.Hour)))
	}
	return nil
}

// TokenUnitAll is the unit that gives an officer or leader token the whole country. It
// must be asked for by name: a scoped token without a unit is refused, never widened.
const TokenUnitAll = "all"

// TokenUnit resolves the unit asked for a token of role: "" for TokenUnitAll (every
// unit), the unit itself otherwise. An officer or leader token needs one, so that no
// token sees the whole country by default; the error names the field "unit".
func TokenUnit(role ledger.Role, unit string) (string, error) {
	switch {
	case unit == TokenUnitAll:
		return "", nil
	case unit == "" && role.Scoped():
		return "", invalidArg("unit", string(role)+" tokens are held to a unit subtree: give the unit id, or \""+
			TokenUnitAll+"\" for the whole country")
	}
	return unit, nil
}

// unitCode reports whether s has the form of a unit id (ledger codes: 1..32 of [A-Za-z0-9._-]).
func unitCode(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// tokenStoreOrUnavailable returns the token store, or 503 when the server has none
// (only the bootstrap token is known).
func (s *Server) tokenStore() (TokenStore, error) {
	if s.cfg.Tokens == nil {
		return nil, unavailable("this server keeps no tokens: only the bootstrap token is defined")
	}
	return s.cfg.Tokens, nil
}

// handleCreateToken serves POST /v1/tokens (admin): the secret is in this answer only.
func (s *Server) handleCreateToken(c echo.Context) error {
	store, err := s.tokenStore()
	if err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.BodyMaxBytes)
	if err != nil {
		return err
	}
	var req tokenRequest
	if err := decodeStrict(body, &req); err != nil {
		return err
	}
	now := s.now()
	spec := ledger.TokenSpec{Name: req.Name, Unit: req.Unit, ExpiresAt: now.Add(TokenDefaultTTL)}
	if req.ExpiresAt != "" {
		if spec.ExpiresAt, err = time.Parse(time.RFC3339, req.ExpiresAt); err != nil {
			return invalidArg("expires_at", "must be an RFC 3339 time, e.g. 2025-12-31T00:00:00Z")
		}
	}
	if spec.Role, err = ledger.ParseRole(req.Role); err != nil {
		return err
	}
	if spec.Unit, err = TokenUnit(spec.Role, spec.Unit); err != nil {
		return err
	}
	if err := CheckTokenSpec(spec, now); err != nil {
		return err
	}
	if spec.Unit != "" {
		if err := s.freshBalances(c); err != nil {
			return err
		}
		known := false
		s.cfg.Balances.Read(func(st *ledger.State) { known = st.Catalog.Units[spec.Unit] != nil })
		if !known {
			return &ledger.Error{Code: ledger.CodeUnknownReference, Field: "unit", Message: "no unit " + spec.Unit + " in the catalog"}
		}
	}
	t, secret, err := store.CreateToken(c.Request().Context(), spec, actorOf(c), now)
	if err != nil {
		return storeError(err, "create token")
	}
	s.log.Info("token created", "request_id", requestIDOf(c), "token_id", t.ID.String(), "name", t.Name,
		"role", t.Role, "unit", t.Unit, "actor", actorOf(c))
	s.recordAccess(c, ledger.TokenActionCreated, t, t.CreatedAt)
	c.Response().Header().Set(echo.HeaderLocation, "/v1/tokens/"+t.ID.String())
	return writeJSON(c, http.StatusCreated, tokenOut(t, secret))
}

// handleTokens serves GET /v1/tokens (admin): every token, without secrets.
func (s *Server) handleTokens(c echo.Context) error {
	if err := onlyParams(c.QueryParams()); err != nil {
		return err
	}
	store, err := s.tokenStore()
	if err != nil {
		return err
	}
	ts, err := store.Tokens(c.Request().Context())
	if err != nil {
		return storeError(err, "list tokens")
	}
	out := make([]tokenJSON, len(ts))
	for i, t := range ts {
		out[i] = tokenOut(t, "")
	}
	return writeJSON(c, http.StatusOK, struct {
		Tokens []tokenJSON `json:"tokens"`
	}{out})
}

// handleRevokeToken serves DELETE /v1/tokens/{id} (admin). Revoking twice answers the
// same token; the bootstrap token lives in the configuration and cannot be revoked here.
func (s *Server) handleRevokeToken(c echo.Context) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return invalidArg("id", "must be a token id (UUID)")
	}
	store, err := s.tokenStore()
	if err != nil {
		return err
	}
	t, err := store.RevokeToken(c.Request().Context(), id, actorOf(c), s.now())
	if errors.Is(err, ledger.ErrNotFound) {
		return &ledger.Error{Code: ledger.CodeNotFound, Field: "id", Message: "no token " + id.String()}
	}
	if err != nil {
		return storeError(err, "revoke token")
	}
	s.auth.forget(id)
	s.recordAccess(c, ledger.TokenActionRevoked, t, t.RevokedAt)
	s.log.Info("token revoked", "request_id", requestIDOf(c), "token_id", id.String(), "actor", actorOf(c))
	return writeJSON(c, http.StatusOK, tokenOut(t, ""))
}
