package api

import (
	"maps"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
)

// Default limits of traffic (docs/design.md §11: every bound named). Limits overrides them.
const (
	// DefaultRatePerSecond is the sustained requests per second of one token: far above
	// what a person or an accounting system posting one voucher at a time needs, low
	// enough that one leaked or runaway token cannot starve the single writer. Bulk loads
	// use POST /v1/batch, which carries up to BatchMaxCommands per request.
	DefaultRatePerSecond = 200
	// DefaultRateBurst is how many requests one token may send at once after being idle.
	DefaultRateBurst = 400
	// DefaultConcurrentMax bounds the requests served at the same time; beyond it the
	// answer is 503 at once, before any work, rather than an ever longer queue.
	DefaultConcurrentMax = 1024
	// DefaultAuthFailuresPerSecond and DefaultAuthFailuresBurst bound, per client address,
	// the failed authentications answered 401; beyond them a failure is answered 429 and
	// the address's lookups share SuspectLookupMax store slots. Guessing is pointless
	// with 256-bit tokens, but each guess costs a query. A valid token is never refused
	// by this budget (Server.Authenticate).
	DefaultAuthFailuresPerSecond = 10
	DefaultAuthFailuresBurst     = 100
	// AnonymousShareDivisor sets the in-flight slots of routes served to callers not
	// signed in (the dashboard's sign-in, assets, the OpenAPI document): ConcurrentMax /
	// AnonymousShareDivisor of them, at least AnonymousConcurrentMin, apart from and in
	// addition to the ConcurrentMax slots of everyone else. Anonymous requests beyond
	// it are answered 503 and never take an authenticated user's slot.
	AnonymousShareDivisor  = 8
	AnonymousConcurrentMin = 2
	// AnonymousBodyMaxBytes bounds the body of an anonymous request (a sign-in form is
	// one token and a language).
	AnonymousBodyMaxBytes = 4 << 10
	// AnonymousReadTimeout bounds how long an anonymous request may take to send its
	// body, so that a client trickling bytes holds its slot seconds, not minutes.
	AnonymousReadTimeout = 5 * time.Second
	// rateBucketsMax bounds the buckets kept in memory (one per token or client address);
	// when it is reached, the buckets that are full again are dropped.
	rateBucketsMax = 100_000
	// retryAfterMin is the smallest Retry-After sent, in whole seconds (RFC 9110).
	retryAfterMin = 1
)

// Limits bounds the traffic a Server accepts. The zero value means the defaults.
type Limits struct {
	// RatePerSecond is the sustained rate of one token; 0 means DefaultRatePerSecond and a
	// negative value means no limit (benchmarks, tests of the write path).
	RatePerSecond float64
	// RateBurst is the bucket size of one token; 0 means DefaultRateBurst.
	RateBurst int
	// ConcurrentMax bounds requests in flight; 0 means DefaultConcurrentMax.
	ConcurrentMax int
}

func (l Limits) withDefaults() Limits {
	if l.RatePerSecond == 0 {
		l.RatePerSecond = DefaultRatePerSecond
	}
	if l.RateBurst <= 0 {
		l.RateBurst = DefaultRateBurst
	}
	if l.ConcurrentMax <= 0 {
		l.ConcurrentMax = DefaultConcurrentMax
	}
	return l
}

// bucket is one token bucket: level tokens at time last.
type bucket struct {
	level float64
	last  time.Time
}

// rateLimiter is a set of token buckets by key. A nil *rateLimiter allows everything.
// It is safe for concurrent use; one mutex is enough, the critical section is a few
// arithmetic operations.
type rateLimiter struct {
	rate, burst float64
	mu          sync.Mutex
	buckets     map[string]*bucket
}

func newRateLimiter(perSecond float64, burst int) *rateLimiter {
	if perSecond < 0 {
		return nil
	}
	return &rateLimiter{rate: perSecond, burst: float64(burst), buckets: map[string]*bucket{}}
}

// refill returns key's bucket brought up to now; l.mu is held.
func (l *rateLimiter) refill(key string, now time.Time) *bucket {
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= rateBucketsMax {
			l.sweep(now)
		}
		b = &bucket{level: l.burst, last: now}
		l.buckets[key] = b
		return b
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.level = math.Min(l.burst, b.level+dt*l.rate)
		b.last = now
	}
	return b
}

// sweep drops the buckets that have refilled: forgetting them changes nothing.
func (l *rateLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.level+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// allow takes one token from key's bucket. When there is none it returns false and how
// long until there will be one.
func (l *rateLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key, now)
	if b.level >= 1 {
		b.level--
		return true, 0
	}
	return false, l.wait(b)
}

// peek reports whether key's bucket holds a token, without taking it.
func (l *rateLimiter) peek(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets[key] == nil {
		return true, 0
	}
	b := l.refill(key, now)
	if b.level >= 1 {
		return true, 0
	}
	return false, l.wait(b)
}

func (l *rateLimiter) wait(b *bucket) time.Duration {
	if l.rate <= 0 {
		return time.Hour
	}
	return time.Duration((1 - b.level) / l.rate * float64(time.Second))
}

// rateLimited answers 429 rate_limited with Retry-After in whole seconds, rounded up.
func rateLimited(c echo.Context, retry time.Duration) error {
	secs := max(retryAfterMin, int(math.Ceil(retry.Seconds())))
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	return &ledger.Error{Code: ledger.CodeRateLimited,
		Message: "too many requests with this token; retry after " + strconv.Itoa(secs) + " s"}
}

// failuresLimited answers 429 rate_limited to a failed authentication from an address
// over its failure budget, with Retry-After in whole seconds, rounded up.
func failuresLimited(c echo.Context, retry time.Duration) error {
	secs := max(retryAfterMin, int(math.Ceil(retry.Seconds())))
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	return &ledger.Error{Code: ledger.CodeRateLimited,
		Message: "too many failed authentications from this address; retry after " + strconv.Itoa(secs) + " s"}
}

// concurrencyMiddleware bounds the requests in flight with a semaphore. A request that
// finds it full is answered 503 unavailable with Retry-After at once. Health and
// readiness probes are exempt, so that a busy server is not mistaken for a dead one.
func (s *Server) concurrencyMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Path() {
		case "/healthz", "/readyz", "/metrics":
			return next(c)
		}
		slots, what := s.inflight, "requests in flight"
		if s.policies[c.Request().Method+" "+c.Path()].anonymous {
			slots, what = s.anonInflight, "requests in flight from callers not signed in"
			req := c.Request()
			// The deadline covers reading the body; net/http sets the next request's own.
			_ = http.NewResponseController(c.Response().Writer).SetReadDeadline(time.Now().Add(AnonymousReadTimeout))
			req.Body = http.MaxBytesReader(c.Response(), req.Body, AnonymousBodyMaxBytes)
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			return next(c)
		default:
			c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfterMin))
			return &ledger.Error{Code: ledger.CodeUnavailable,
				Message: "the server is at its limit of " + strconv.Itoa(cap(slots)) + " " + what + "; retry shortly"}
		}
	}
}

// initAccess builds the authenticator, the rate limiters and the semaphore from s.cfg.
func (s *Server) initAccess() {
	if s.cfg.Now == nil {
		s.cfg.Now = time.Now
	}
	l := s.cfg.Limits.withDefaults()
	s.auth = newAuthenticator(s.cfg.Tokens, s.cfg.BootstrapToken, s.cfg.Now)
	s.rate = newRateLimiter(l.RatePerSecond, l.RateBurst)
	s.failures = newRateLimiter(DefaultAuthFailuresPerSecond, DefaultAuthFailuresBurst)
	s.inflight = make(chan struct{}, l.ConcurrentMax)
	s.anonInflight = make(chan struct{}, max(AnonymousConcurrentMin, l.ConcurrentMax/AnonymousShareDivisor))
	s.registered = map[string]bool{}
	s.policies = maps.Clone(routePolicies)
}

// now is the server's clock.
func (s *Server) now() time.Time { return s.cfg.Now() }
