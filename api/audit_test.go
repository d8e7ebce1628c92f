package api

import (
	"context"
	"crypto/ed25519"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vnntp/ledger/internal/storetest"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/projections"
)

// fakeAuditor is an in-memory Auditor over a chain of events, checked with the same
// ledger.Verifier as the store's Verify.
type fakeAuditor struct {
	events []*ledger.Event
	cps    []ledger.Checkpoint
	keys   []ledger.SigningKey
}

func newFakeAuditor(n int) *fakeAuditor {
	a := &fakeAuditor{}
	var prev [32]byte
	line := ledger.Line{Program: "GNBV", Year: 2024, Source: "NSTW-DTPT", Project: "DA1", Unit: "062"}
	for i := range n {
		l := line
		e := &ledger.Event{Position: int64(i + 1), ID: uuid.Must(uuid.NewV7()), Type: ledger.TypeAllocated,
			EffectiveDate: ledger.MakeDate(2024, 3, 1), RecordedAt: fixedClock.Add(time.Duration(i) * time.Microsecond),
			Data: ledger.EventData{Line: &l, Amount: int64(1000 + i), Decision: "QĐ \"1\", số mới\nhai dòng"}, PrevHash: prev}
		e.Hash, _ = ledger.ChainHash(nil, prev, e)
		prev = e.Hash
		a.events = append(a.events, e)
	}
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pub := key.Public().(ed25519.PublicKey)
	a.keys = []ledger.SigningKey{{KeyID: ledger.KeyID(pub), PublicKey: pub, CreatedAt: fixedClock}}
	a.cps = []ledger.Checkpoint{ledger.SignCheckpoint(key, int64(n), prev, fixedClock)}
	return a
}

func (a *fakeAuditor) ReadFrom(_ context.Context, after int64, fn func(*ledger.Event) error) error {
	for _, e := range a.events {
		if e.Position > after {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *fakeAuditor) Verify(_ context.Context, opt ledger.VerifyOptions) (ledger.VerifyReport, error) {
	keys := map[string]ed25519.PublicKey{}
	for _, k := range a.keys {
		keys[k.KeyID] = k.PublicKey
	}
	v := ledger.NewVerifier(1, ledger.GenesisHash, opt.To, a.cps, keys)
	for _, e := range a.events {
		if v.Add(e) != nil {
			break
		}
	}
	_ = v.Finish()
	return v.Report(), nil
}

func (a *fakeAuditor) Checkpoints(_ context.Context, after int64, limit int) ([]ledger.Checkpoint, error) {
	var out []ledger.Checkpoint
	for _, cp := range a.cps {
		if cp.Position > after && len(out) < limit {
			out = append(out, cp)
		}
	}
	return out, nil
}

func (a *fakeAuditor) SigningKeys(context.Context) ([]ledger.SigningKey, error) { return a.keys, nil }

func auditServer(t *testing.T, a Auditor) http.Handler {
	t.Helper()
	cfg := Config{Writer: fakeWriter{}, Events: &storetest.MemStore{}, Balances: &projections.Balances{},
		BootstrapToken: testAdminToken, Tokens: newMemTokens(), Limits: Limits{RatePerSecond: -1},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if a != nil {
		cfg.Audit = a
	}
	return New(cfg).Handler()
}

func auditGet(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAuditRoutes(t *testing.T) {
	a := newFakeAuditor(5)
	h := auditServer(t, a)

	rec := auditGet(t, h, "/v1/events/export?after=2")
	lines := strings.Split(strings.TrimSuffix(rec.Body.String(), "\n"), "\n")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/x-ndjson" || len(lines) != 3 {
		t.Fatalf("export jsonl: %d %s\n%s", rec.Code, rec.Header(), rec.Body)
	}
	var e ledger.Event
	if err := e.UnmarshalJSON([]byte(lines[0])); err != nil || e.Position != 3 || e.Hash != a.events[2].Hash {
		t.Fatalf("first exported event: %v %+v", err, e)
	}

	rec = auditGet(t, h, "/v1/events/export?format=csv")
	if !strings.HasPrefix(rec.Body.String(), ledger.UTF8BOM+"position,") {
		t.Fatalf("export csv does not start with the BOM: %.40q", rec.Body.String())
	}
	rec = auditGet(t, h, "/v1/events/export?format=csv&bom=false")
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if rec.Code != 200 || err != nil || len(rows) != 6 || rows[0][0] != "position" || rows[5][7] != "1004" {
		t.Fatalf("export csv: %d %v %q", rec.Code, err, rows)
	}

	for _, bad := range []string{"/v1/events/export?format=xml", "/v1/events/export?after=-1", "/v1/events/export?unknown=1", "/v1/events/export?format=csv&bom=maybe",
		"/v1/verify?to=x", "/v1/checkpoints?limit=0"} {
		if rec := auditGet(t, h, bad); rec.Code != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400\n%s", bad, rec.Code, rec.Body)
		}
	}

	var rep struct {
		ledger.VerifyReport
		DurationMS *int64 `json:"duration_ms"`
	}
	rec = auditGet(t, h, "/v1/verify")
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); rec.Code != 200 || err != nil || !rep.OK || rep.Last != 5 || rep.Checkpoints != 1 || rep.DurationMS == nil {
		t.Fatalf("verify: %d %s", rec.Code, rec.Body)
	}
	a.events[1].Data.Amount++ // tampered: found at position 2, still a 200
	rec = auditGet(t, h, "/v1/verify")
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); rec.Code != 200 || err != nil || rep.OK || rep.Finding == nil ||
		rep.Finding.Position != 2 || rep.Finding.Kind != ledger.FindingHashMismatch {
		t.Fatalf("verify tampered: %d %s", rec.Code, rec.Body)
	}

	rec = auditGet(t, h, "/v1/checkpoints")
	var cps struct {
		Items []struct {
			Position  int64  `json:"position"`
			KeyID     string `json:"key_id"`
			Signature string `json:"signature"`
		} `json:"items"`
		NextAfter int64 `json:"next_after"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &cps); rec.Code != 200 || err != nil || len(cps.Items) != 1 || cps.NextAfter != 5 ||
		cps.Items[0].KeyID != a.keys[0].KeyID || len(cps.Items[0].Signature) != 2*ed25519.SignatureSize {
		t.Fatalf("checkpoints: %d %s", rec.Code, rec.Body)
	}
	rec = auditGet(t, h, "/v1/checkpoints/key")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), fmt.Sprintf(`"key_id":%q`, a.keys[0].KeyID)) {
		t.Fatalf("checkpoint keys: %d %s", rec.Code, rec.Body)
	}
}

func TestAuditRoutesWithoutAuditor(t *testing.T) {
	h := auditServer(t, nil)
	for _, p := range []string{"/v1/events/export", "/v1/verify", "/v1/checkpoints", "/v1/checkpoints/key"} {
		if rec := auditGet(t, h, p); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("GET %s without an Auditor: %d, want 503", p, rec.Code)
		}
	}
}
