package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
)

// Limits of authentication.
const (
	// BootstrapTokenMinLen is the shortest LEDGER_BOOTSTRAP_TOKEN accepted: it is an admin
	// credential, so it must not be guessable.
	BootstrapTokenMinLen = 16
	// BootstrapTokenName is the name (and id) of the principal of the bootstrap token.
	BootstrapTokenName = "bootstrap"
	// TokenNameMaxLen bounds a token's name; it is recorded in every event's metadata.
	TokenNameMaxLen = 64
	// ClientMaxLen bounds the User-Agent kept in an event's metadata (Metadata.Client).
	ClientMaxLen = 200
	// authorizationMaxLen bounds the Authorization header that is hashed and looked up.
	authorizationMaxLen = 512
	// tokenCacheTTL is how long a looked-up token is trusted without asking the store
	// again. A revocation through this server's API takes effect at once; one made
	// elsewhere (`ledger token revoke`, another server) within this delay.
	tokenCacheTTL = 5 * time.Second
	// tokenCacheMax bounds the cache of known tokens; when full it is emptied and
	// refilled on demand.
	tokenCacheMax = 10_000
	// tokenMissCacheMax bounds the cache of unknown secrets, kept apart from the known
	// tokens so that a flood of guesses can never push a valid token out of the cache.
	tokenMissCacheMax = 10_000
	// SuspectLookupMax bounds the store lookups in flight, over the whole server, for
	// client addresses that have used up their failed-authentication budget. Such a
	// client is still authenticated (a valid token is never refused for its address's
	// failures), but its uncached lookups queue on these few slots, so that a flood of
	// guessed tokens costs the database at most this many concurrent queries.
	SuspectLookupMax = 2
)

// TokenStore keeps access tokens, hashed (*pgstore.Store through an adapter in
// cmd/ledger). Errors other than ledger.ErrNotFound are store failures.
type TokenStore interface {
	// TokenBySecret returns the token whose secret is secret, revoked or expired ones
	// included, or ledger.ErrNotFound.
	TokenBySecret(ctx context.Context, secret string) (*ledger.Token, error)
	// CreateToken stores a new token and its audit record naming actor; it returns the
	// token and its secret, which exists nowhere else.
	CreateToken(ctx context.Context, spec ledger.TokenSpec, actor string, now time.Time) (*ledger.Token, string, error)
	// Tokens lists every token, oldest first.
	Tokens(ctx context.Context) ([]*ledger.Token, error)
	// RevokeToken revokes token id (idempotently) and records who did it; it returns
	// ledger.ErrNotFound for an unknown id.
	RevokeToken(ctx context.Context, id uuid.UUID, actor string, now time.Time) (*ledger.Token, error)
}

// principalKey is the echo.Context key of the request's *Principal.
const principalKey = "principal"

func principalOf(c echo.Context) *ledger.Principal {
	p, _ := c.Get(principalKey).(*ledger.Principal)
	return p
}

// actorOf is the actor recorded for the request: its principal, or Anonymous.
func actorOf(c echo.Context) string {
	if p := principalOf(c); p != nil {
		return p.Actor()
	}
	return Anonymous
}

// clientOf is the request's User-Agent, with control characters dropped and cut to
// ClientMaxLen bytes on a character boundary: it is stored, hashed, in the event.
func clientOf(c echo.Context) string {
	ua := c.Request().UserAgent()
	if clientASCII(ua) {
		return ua // the common case, kept as sent: nothing to drop or cut
	}
	var b strings.Builder
	for _, r := range ua {
		if r < ' ' || r == 0x7f || r == utf8.RuneError {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > ClientMaxLen {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// clientASCII reports whether ua is at most ClientMaxLen bytes of printable ASCII, which
// clientOf keeps whole.
func clientASCII(ua string) bool {
	if len(ua) > ClientMaxLen {
		return false
	}
	for i := 0; i < len(ua); i++ {
		if ua[i] < ' ' || ua[i] >= 0x7f {
			return false
		}
	}
	return true
}

// cachedToken is a token looked up in the store, or a known miss (tok nil), with the
// principal it authenticates, built once: every request of the token shares it, and
// nothing modifies a principal.
type cachedToken struct {
	tok       *ledger.Token
	principal *ledger.Principal
	fetched   time.Time
}

// authenticator resolves bearer tokens to principals: the bootstrap token in memory,
// the others through the store with a short cache. It is safe for concurrent use.
type authenticator struct {
	store     TokenStore // nil: only the bootstrap token exists
	bootstrap [32]byte   // SHA-256 of the bootstrap token; hasBoot says whether there is one
	hasBoot   bool
	bootUser  *ledger.Principal // the bootstrap token's principal, shared like cachedToken's
	now       func() time.Time

	mu     sync.Mutex
	cache  map[[32]byte]cachedToken // known tokens (tok non-nil)
	misses map[[32]byte]time.Time   // unknown secrets, by when the store said so

	// suspect is the semaphore of SuspectLookupMax.
	suspect chan struct{}
}

func newAuthenticator(store TokenStore, bootstrap string, now func() time.Time) *authenticator {
	a := &authenticator{store: store, now: now, cache: map[[32]byte]cachedToken{}, misses: map[[32]byte]time.Time{},
		suspect: make(chan struct{}, SuspectLookupMax)}
	if bootstrap != "" {
		if len(bootstrap) < BootstrapTokenMinLen || !visibleASCII(bootstrap, authorizationMaxLen) {
			panic("api.New: the bootstrap token must be 16 to 512 printable ASCII characters (checked by cmd/ledger)")
		}
		a.bootstrap, a.hasBoot = sha256.Sum256([]byte(bootstrap)), true
		a.bootUser = &ledger.Principal{TokenID: BootstrapTokenName, Name: BootstrapTokenName, Role: ledger.RoleAdmin}
	}
	return a
}

// errUnauthenticated carries the reason shown to the client; the WWW-Authenticate header
// is set by the middleware.
func errUnauthenticated(detail string) error {
	return &ledger.Error{Code: ledger.CodeUnauthenticated, Message: detail}
}

func errForbidden(field, detail string) error {
	return &ledger.Error{Code: ledger.CodeForbidden, Field: field, Message: detail}
}

// bearer returns the token of the request's Authorization header, or an
// unauthenticated error. Only the header is read: a token in the URL is refused earlier
// (hygieneMiddleware), since URLs end up in logs, histories and Referer headers.
func bearer(hdr []string) (string, error) {
	switch {
	case len(hdr) == 0:
		return "", errUnauthenticated("send an access token: Authorization: Bearer <token>")
	case len(hdr) > 1:
		return "", errUnauthenticated("the Authorization header must be given once")
	}
	scheme, tok, ok := strings.Cut(hdr[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", errUnauthenticated("the Authorization header must be \"Bearer <token>\"")
	}
	tok = strings.TrimLeft(tok, " ")
	if !visibleASCII(tok, authorizationMaxLen) {
		return "", errUnauthenticated("the access token is malformed")
	}
	return tok, nil
}

// authenticate returns the principal of secret, or an unauthenticated error for an
// unknown, revoked or expired token. suspect says that the client's address has used up
// its failed-authentication budget: a store lookup then waits for one of the few
// SuspectLookupMax slots (bounded by ctx) instead of being refused, so that a valid
// token is always authenticated and a flood of guesses costs the store little.
func (a *authenticator) authenticate(ctx context.Context, secret string, suspect bool) (*ledger.Principal, error) {
	sum := sha256.Sum256([]byte(secret))
	if a.hasBoot && subtle.ConstantTimeCompare(sum[:], a.bootstrap[:]) == 1 {
		return a.bootUser, nil
	}
	now := a.now()
	a.mu.Lock()
	ct, ok := a.cache[sum]
	missAt, missed := a.misses[sum]
	a.mu.Unlock()
	fresh := func(at time.Time) bool { return now.Sub(at) < tokenCacheTTL && !now.Before(at) }
	switch {
	case ok && fresh(ct.fetched):
	case missed && fresh(missAt):
		ct = cachedToken{fetched: missAt}
	default:
		if a.store == nil {
			return nil, errUnauthenticated("unknown access token")
		}
		if suspect {
			select {
			case a.suspect <- struct{}{}:
				defer func() { <-a.suspect }()
			case <-ctx.Done():
				return nil, &ledger.Error{Code: ledger.CodeUnavailable, Message: "the token could not be checked in time; retry"}
			}
		}
		tok, err := a.store.TokenBySecret(ctx, secret)
		switch {
		case errors.Is(err, ledger.ErrNotFound):
			tok = nil
		case err != nil:
			return nil, storeError(err, "look up access token")
		}
		ct = cachedToken{tok: tok, fetched: now}
		if tok != nil {
			ct.principal = &ledger.Principal{TokenID: tok.ID.String(), Name: tok.Name, Role: tok.Role, Unit: tok.Unit}
		}
		a.mu.Lock()
		if tok != nil {
			if len(a.cache) >= tokenCacheMax {
				clear(a.cache)
			}
			a.cache[sum] = ct
			delete(a.misses, sum)
		} else {
			if len(a.misses) >= tokenMissCacheMax {
				clear(a.misses)
			}
			a.misses[sum] = now
			delete(a.cache, sum)
		}
		a.mu.Unlock()
	}
	switch t := ct.tok; {
	case t == nil:
		return nil, errUnauthenticated("unknown access token")
	case !t.RevokedAt.IsZero():
		return nil, errUnauthenticated("the access token was revoked")
	case !now.Before(t.ExpiresAt):
		return nil, errUnauthenticated("the access token has expired")
	}
	return ct.principal, nil
}

// forget drops every cached entry of token id, so that its revocation through this
// server takes effect at once.
func (a *authenticator) forget(id uuid.UUID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, ct := range a.cache {
		if ct.tok != nil && ct.tok.ID == id {
			delete(a.cache, k)
		}
	}
}

// remoteHost is the client's address as the connection shows it. X-Forwarded-For is not
// trusted: any client can write it.
func remoteHost(c echo.Context) string {
	host, _, err := net.SplitHostPort(c.Request().RemoteAddr)
	if err != nil {
		return c.Request().RemoteAddr
	}
	return host
}

// Authenticate returns the principal of the access token secret, as the bearer
// middleware does for every API request and the dashboard for its session cookie. A
// malformed, unknown, revoked or expired token is an unauthenticated error; other errors
// are store failures or rate limits (rate_limited, with Retry-After set on c's response).
//
// The token is checked first, always: a valid token is limited only by its own budget
// (Limits.RatePerSecond), never by what other clients of the same address did, so one
// client behind a shared proxy or NAT guessing tokens cannot lock the others out. Failed
// attempts are counted per client address (DefaultAuthFailuresPerSecond, …Burst); once
// an address is over its budget its failures are answered 429 instead of 401, and its
// uncached lookups share SuspectLookupMax store slots.
func (s *Server) Authenticate(c echo.Context, secret string) (*ledger.Principal, error) {
	if !visibleASCII(secret, authorizationMaxLen) {
		return nil, errUnauthenticated("the access token is malformed")
	}
	// s.failures counts addresses and s.rate tokens, each alone: their keys need no
	// prefix, and the request allocates none.
	key := remoteHost(c)
	suspect, _ := s.failures.peek(key, s.now())
	p, err := s.auth.authenticate(c.Request().Context(), secret, !suspect)
	if err != nil {
		if ledger.Code(err) == ledger.CodeUnauthenticated {
			if ok, retry := s.failures.allow(key, s.now()); !ok {
				return nil, failuresLimited(c, retry)
			}
		}
		return nil, err
	}
	if ok, retry := s.rate.allow(p.TokenID, s.now()); !ok {
		return nil, rateLimited(c, retry)
	}
	return p, nil
}

// authMiddleware authenticates every request to a route that is neither public nor
// authenticating by itself (Pages), applies the per-token rate limit, and checks the
// route's policy (authPolicy). It runs after routing, so c.Path() is the matched route.
func (s *Server) authMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		method, route := c.Request().Method, c.Path()
		pol, known := s.policies[method+" "+route]
		if known && (pol.public || pol.ownAuth) {
			return next(c)
		}
		secret, err := bearer(c.Request().Header.Values(echo.HeaderAuthorization))
		if err != nil {
			return s.unauthenticated(c, err)
		}
		p, err := s.Authenticate(c, secret)
		if ledger.Code(err) == ledger.CodeUnauthenticated {
			return s.unauthenticated(c, err)
		}
		if err != nil {
			return err
		}
		c.Set(principalKey, p)
		if !s.registered[method+" "+route] {
			return next(c) // no such route or method: the router's 404 or 405
		}
		if !known {
			return errForbidden("", "no access policy covers "+method+" "+route)
		}
		if !pol.allows(p.Role) {
			return errForbidden("", "the role "+string(p.Role)+" may not "+method+" "+route)
		}
		return next(c)
	}
}

// unauthenticated answers 401 with the challenge of RFC 6750.
func (s *Server) unauthenticated(c echo.Context, err error) error {
	challenge := `Bearer realm="ledger"`
	if c.Request().Header.Get(echo.HeaderAuthorization) != "" {
		challenge += `, error="invalid_token"`
	}
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, challenge)
	return err
}
