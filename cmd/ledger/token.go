package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/vnntp/ledger/api"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// AccessConfig is the configuration of access control: serve's traffic limits and the
// flags of `ledger token`.
type AccessConfig struct {
	RatePerSecond float64
	RateBurst     int
	ConcurrentMax int

	// `ledger token create` flags.
	Role    string
	Unit    string
	Name    string
	Expires time.Duration
}

// register adds the flags of cmd: traffic limits for serve, token fields for token.
func (a *AccessConfig) register(fs *flag.FlagSet, c *Config, cmd string) {
	switch cmd {
	case "serve":
		fs.Float64Var(&a.RatePerSecond, "rate-limit", api.DefaultRatePerSecond,
			"requests per second of one token (token bucket); negative: no limit [LEDGER_RATE_LIMIT]")
		c.envs["rate-limit"] = "LEDGER_RATE_LIMIT"
		fs.IntVar(&a.RateBurst, "rate-burst", api.DefaultRateBurst, "burst of one token's bucket [LEDGER_RATE_BURST]")
		c.envs["rate-burst"] = "LEDGER_RATE_BURST"
		fs.IntVar(&a.ConcurrentMax, "max-concurrent", api.DefaultConcurrentMax,
			"requests served at once; beyond, 503 with Retry-After [LEDGER_MAX_CONCURRENT]")
		c.envs["max-concurrent"] = "LEDGER_MAX_CONCURRENT"
	case "token":
		fs.StringVar(&a.Role, "role", "", "create: officer, leader, auditor or admin")
		fs.StringVar(&a.Unit, "unit", "", "create: unit id whose subtree an officer or leader is held to; required for them, \"all\" for the whole country")
		fs.StringVar(&a.Name, "name", "", "create: the token's name, recorded as the actor of every event it writes")
		a.Expires = api.TokenDefaultTTL
		fs.Var(durationFlag{&a.Expires}, "expires", "create: lifetime of the token, in days (90d) or hours (720h); at most 366d")
	}
}

// check validates the access configuration of cmd.
func (a *AccessConfig) check(c *Config, cmd string) []error {
	var errs []error
	if c.BootstrapToken != "" && (len(c.BootstrapToken) < api.BootstrapTokenMinLen || !printableASCII(c.BootstrapToken)) {
		errs = append(errs, fmt.Errorf("bootstrap-token: must be at least %d printable ASCII characters without spaces", api.BootstrapTokenMinLen))
	}
	if cmd == "serve" && (a.RateBurst < 1 || a.ConcurrentMax < 1) {
		errs = append(errs, fmt.Errorf("rate-burst and max-concurrent must be at least 1"))
	}
	return errs
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// limits is the api.Limits of serve. A rate of exactly 0 would mean "default" to api,
// so it is passed as "no limit" only when negative, as the flag says.
func (a *AccessConfig) limits() api.Limits {
	return api.Limits{RatePerSecond: a.RatePerSecond, RateBurst: a.RateBurst, ConcurrentMax: a.ConcurrentMax}
}

// interleaved collects the positional arguments left by fs.Parse, parsing the flags that
// follow each, so that `ledger token create --role officer` reads as written.
func interleaved(fs *flag.FlagSet) ([]string, error) {
	var pos []string
	for fs.NArg() > 0 {
		pos = append(pos, fs.Arg(0))
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return nil, err
		}
	}
	return pos, nil
}

const tokenUsage = `usage:
  ledger token create --role officer|leader --unit UNIT|all --name NAME [--expires 30d]
  ledger token create --role auditor|admin --name NAME [--expires 30d]
  ledger token list
  ledger token revoke ID`

// token runs `ledger token create|list|revoke` against the database directly, for the
// operator who holds the database credentials (the first admin token of a fresh
// install, or a revocation when no admin token is at hand).
func token(ctx context.Context, cfg *Config, stdout io.Writer) error {
	if len(cfg.Args) == 0 {
		return errors.New(tokenUsage)
	}
	st, err := pgstore.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	a := &cfg.Access
	switch sub, rest := cfg.Args[0], cfg.Args[1:]; {
	case sub == "create" && len(rest) == 0:
		now := time.Now()
		spec := ledger.TokenSpec{Name: a.Name, Unit: a.Unit, ExpiresAt: now.Add(a.Expires)}
		spec.Role, err = ledger.ParseRole(a.Role)
		if err == nil {
			spec.Unit, err = api.TokenUnit(spec.Role, spec.Unit)
		}
		if err == nil {
			err = api.CheckTokenSpec(spec, now)
		}
		if err != nil {
			return fmt.Errorf("token create: --%s", ledger.Field(err)+": "+errMessage(err))
		}
		if spec.Unit != "" {
			known, err := st.UnitExists(ctx, spec.Unit)
			if err != nil {
				return err
			}
			if !known {
				// The API refuses the same (422 unknown_reference): a token held to a unit
				// that does not exist would see nothing, and a unit registered later under
				// that id would silently widen it.
				return fmt.Errorf("token create: --unit: no unit %s in the catalog", spec.Unit)
			}
		}
		t, secret, err := st.CreateToken(ctx, spec, cliActor(), now)
		if err != nil {
			return err
		}
		// The secret alone on the first line, for scripts: T=$(ledger token create … | head -1).
		fmt.Fprintln(stdout, secret)
		fmt.Fprintf(stdout, "# token %s (%s, %s, unit %s) expires %s; shown once: only its hash is stored\n",
			t.ID, t.Name, t.Role, unitText(t.Unit), t.ExpiresAt.UTC().Format(time.RFC3339))
		fmt.Fprintln(stdout, "# "+recordInChain(ctx, st))
		return nil
	case sub == "list" && len(rest) == 0:
		ts, err := st.Tokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tUNIT\tCREATED\tEXPIRES\tSTATUS")
		now := time.Now()
		for _, t := range ts {
			status := "active"
			switch {
			case !t.RevokedAt.IsZero():
				status = "revoked " + t.RevokedAt.UTC().Format(time.RFC3339)
			case !now.Before(t.ExpiresAt):
				status = "expired"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, unitText(t.Unit),
				t.CreatedAt.UTC().Format(time.RFC3339), t.ExpiresAt.UTC().Format(time.RFC3339), status)
		}
		return tw.Flush()
	case sub == "revoke" && len(rest) == 1:
		id, err := uuid.Parse(rest[0])
		if err != nil {
			return fmt.Errorf("token revoke: %q is not a token id (UUID)", rest[0])
		}
		t, err := st.RevokeToken(ctx, id, cliActor(), time.Now())
		if errors.Is(err, ledger.ErrNotFound) {
			return fmt.Errorf("token revoke: no token %s", id)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token %s (%s) revoked at %s; running servers stop accepting it within seconds\n",
			t.ID, t.Name, t.RevokedAt.UTC().Format(time.RFC3339))
		fmt.Fprintln(stdout, recordInChain(ctx, st))
		return nil
	}
	return errors.New(tokenUsage)
}

// recordInChain records the access events of `ledger token` in the hash chain: directly
// when no writer runs, else through the running writer, which it notifies. It says which.
// A failure leaves the token as it is: the next notification or the next server start
// records the event.
func recordInChain(ctx context.Context, st *pgstore.Store) string {
	done, err := recordTokenEventsDirectly(ctx, st)
	switch {
	case err != nil:
		return "not yet recorded in the hash chain (" + err.Error() + "); the next server start records it"
	case done:
		return "recorded in the hash chain"
	}
	if err := notifyTokens(ctx, st); err != nil {
		return "not yet recorded in the hash chain (" + err.Error() + "); the next server start records it"
	}
	return "the running writer records it in the hash chain"
}

func unitText(u string) string {
	if u == "" {
		return "all"
	}
	return u
}

func errMessage(err error) string {
	var le *ledger.Error
	if errors.As(err, &le) {
		return le.Message
	}
	return err.Error()
}

// cliActor names who used `ledger token` in the token audit log: the operating system
// user, since no token is involved.
func cliActor() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	return "cli (" + name + ")"
}

// benchAdminToken is the bootstrap token of the node `ledger bench` starts on its
// scratch database; it never leaves the process.
const benchAdminToken = "bench-admin-token-scratch-database"

// benchSessionCookie is the dashboard's session cookie (api/dashboard_auth.go), which
// holds the token, as a browser sends it after signing in.
const benchSessionCookie = "ledger_session"

// benchAuth creates an officer token on n's store and returns it with a wrapper of
// transports that authorizes each request of the bench: catalog writes as the admin, the
// rest as the officer (an admin does not move money); dashboard pages get the officer's
// session cookie.
func benchAuth(ctx context.Context, n *node) (string, func(http.RoundTripper) http.RoundTripper, error) {
	now := time.Now()
	_, officer, err := n.store.CreateToken(ctx, ledger.TokenSpec{Name: "bench officer", Role: ledger.RoleOfficer,
		ExpiresAt: now.Add(time.Hour)}, "bench", now)
	if err != nil {
		return "", nil, err
	}
	return officer, func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			r = r.Clone(r.Context())
			tok := officer
			if strings.HasPrefix(r.URL.Path, "/v1/catalog/") {
				tok = benchAdminToken
			}
			r.Header.Set("Authorization", "Bearer "+tok)
			if !strings.HasPrefix(r.URL.Path, "/v1/") {
				r.AddCookie(&http.Cookie{Name: benchSessionCookie, Value: tok})
			}
			return next.RoundTrip(r)
		})
	}, nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
