package checker

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vnntp/ledger/ledger"
)

// The load's shape: every disbursement is loadDisburseDong on one of the set-up lines.
const (
	loadDisburseDong = 1000
	// setupRetryMax bounds the attempts of one set-up write while the server restarts.
	setupRetryMax = 100
)

// Setup registers a minimal catalog (program GNBV, project DA1, source NSTW-DTPT,
// province 06) and n districts, and allocates amount đồng to one line per district, each
// write recorded with a key under prefix and retried until it is acknowledged. It returns
// the lines. adminAuth marks the catalog writes, which need the admin role.
func Setup(ctx context.Context, rec *Recorder, c *Client, prefix string, n int, amount int64) ([]ledger.Line, error) {
	type step struct {
		path string
		body map[string]any
	}
	steps := []step{
		{"/v1/catalog/programs", map[string]any{"code": "GNBV", "name": "Giảm nghèo bền vững"}},
		{"/v1/catalog/projects", map[string]any{"program": "GNBV", "code": "DA1", "name": "Dự án 1"}},
		{"/v1/catalog/sources", map[string]any{"code": "NSTW-DTPT", "name": "NSTW đầu tư", "budget": "central", "nature": "investment"}},
		{"/v1/catalog/units", map[string]any{"code": "06", "name": "Bắc Kạn", "level": "province"}},
	}
	var lines []ledger.Line
	for i := range n {
		code := fmt.Sprintf("%03d", 100+i)
		line := ledger.Line{Program: "GNBV", Year: 2024, Source: "NSTW-DTPT", Project: "DA1", Unit: code}
		lines = append(lines, line)
		steps = append(steps,
			step{"/v1/catalog/units", map[string]any{"code": code, "name": "Huyện " + code, "level": "district", "parent": "06"}},
			step{"/v1/allocations", map[string]any{"line": line, "amount": amount, "effective_date": "2024-01-15", "decision": "QĐ-" + code}})
	}
	for i, s := range steps {
		r := rec.Post(ctx, c, s.path, fmt.Sprintf("%s-setup-%d", prefix, i), s.body)
		for attempt := 0; ; attempt++ {
			o, status, _ := r.Outcome()
			if o == Acked {
				break
			}
			if o == Failed || attempt == setupRetryMax {
				return nil, fmt.Errorf("set-up POST %s: %s, status %d", s.path, o, status)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(retryDelay):
			}
			c.send(ctx, r)
		}
	}
	return lines, nil
}

// LoadConfig is a write load: Clients goroutines each post one disbursement per request
// on Lines (client i on line i mod len), with keys "<Prefix>-<client>-<n>", until Stop
// is closed or ctx ends.
type LoadConfig struct {
	Lines   []ledger.Line
	Clients int
	Prefix  string
	Stop    <-chan struct{}
	// QuitOnError ends a client at its first request without an answer: the server is
	// gone (a kill test). Otherwise clients go on, and unknown requests pile up to be
	// retried (an outage test).
	QuitOnError bool
	// Pause, when set, is waited between two requests of a client that got no answer, so
	// that an outage does not become a busy loop.
	Pause time.Duration
}

// Load runs cfg's load, recording every request in rec, and returns when every client
// stopped.
func Load(ctx context.Context, rec *Recorder, c *Client, cfg LoadConfig) {
	var wg sync.WaitGroup
	var voucher atomic.Int64
	for cl := range cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-cfg.Stop:
					return
				case <-ctx.Done():
					return
				default:
				}
				n := voucher.Add(1)
				r := rec.Post(ctx, c, "/v1/disbursements", fmt.Sprintf("%s-%d-%d", cfg.Prefix, cl, i), Disbursement(cfg.Lines[cl%len(cfg.Lines)], fmt.Sprintf("%s-%d", cfg.Prefix, n)))
				if _, status, _ := r.Outcome(); status == 0 || status >= 500 {
					if cfg.QuitOnError {
						return
					}
					if cfg.Pause > 0 {
						select {
						case <-cfg.Stop:
							return
						case <-time.After(cfg.Pause):
						}
					}
				}
			}
		}()
	}
	wg.Wait()
}

// Disbursement is the body of a payment of loadDisburseDong on line with voucher number.
func Disbursement(line ledger.Line, number string) map[string]any {
	return map[string]any{"line": line, "amount": loadDisburseDong, "kind": "payment", "effective_date": "2024-03-01",
		"payee": "Nhà thầu", "voucher": map[string]any{"office": "KB01", "type": "C2-02a", "number": number, "date": "2024-03-01"}}
}
