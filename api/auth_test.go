package api

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vnntp/ledger/ledger"
)

// Tokens of the api tests. The officer token is unscoped, so the older tests (written
// before access control) keep exercising everything through it.
const (
	testAdminToken   = "test-admin-token-0123456789"
	testOfficerToken = "ldg_test-officer-token"
)

// memTokens is an in-memory TokenStore for the api tests (the PostgreSQL one is tested
// in pgstore and, through the whole server, in cmd/ledger). put adds a token with a
// known secret.
type memTokens struct {
	mu     sync.Mutex
	bySec  map[string]*ledger.Token
	lookup int // TokenBySecret calls, to see the cache work
}

func newMemTokens() *memTokens {
	m := &memTokens{bySec: map[string]*ledger.Token{}}
	m.put(testOfficerToken, "test officer", ledger.RoleOfficer, "", time.Now().Add(time.Hour))
	return m
}

func (m *memTokens) put(secret, name string, role ledger.Role, unit string, expires time.Time) *ledger.Token {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := &ledger.Token{ID: uuid.New(), Name: name, Role: role, Unit: unit, CreatedAt: time.Now().Add(-time.Minute), ExpiresAt: expires}
	m.bySec[secret] = t
	return t
}

func (m *memTokens) TokenBySecret(_ context.Context, secret string) (*ledger.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lookup++
	t := m.bySec[secret]
	if t == nil {
		return nil, ledger.ErrNotFound
	}
	c := *t
	return &c, nil
}

func (m *memTokens) CreateToken(_ context.Context, spec ledger.TokenSpec, _ string, now time.Time) (*ledger.Token, string, error) {
	secret := "ldg_" + uuid.NewString()
	t := m.put(secret, spec.Name, spec.Role, spec.Unit, spec.ExpiresAt)
	t.CreatedAt = now
	return t, secret, nil
}

func (m *memTokens) Tokens(context.Context) ([]*ledger.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*ledger.Token
	for _, t := range m.bySec {
		out = append(out, t)
	}
	return out, nil
}

func (m *memTokens) RevokeToken(_ context.Context, id uuid.UUID, _ string, now time.Time) (*ledger.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.bySec {
		if t.ID == id {
			if t.RevokedAt.IsZero() {
				t.RevokedAt = now
			}
			c := *t
			return &c, nil
		}
	}
	return nil, ledger.ErrNotFound
}

// testAuthFor is the Authorization the api tests send by default: the admin token for
// catalog writes and token management, the (unscoped) officer token otherwise.
func testAuthFor(method, path string) string {
	if method == http.MethodPost && (strings.HasPrefix(path, "/v1/catalog/") || path == "/v1/deadlines" || path == "/v1/extensions" || path == "/v1/targets") ||
		strings.HasPrefix(path, "/v1/tokens") {
		return "Bearer " + testAdminToken
	}
	return "Bearer " + testOfficerToken
}
