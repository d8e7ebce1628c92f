package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vnntp/ledger/internal/storetest"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/projections"
)

// harness runs the API over a real sequencer and the storetest.MemStore test double,
// which passes the same conformance suite as the PostgreSQL store.
type harness struct {
	t     testing.TB
	store *storetest.MemStore
	seq   *ledger.Sequencer
	h     http.Handler
	ready error
}

// The double stands in for *pgstore.Store as the API's EventReader.
var _ EventReader = (*storetest.MemStore)(nil)

// fixedClock is the recording time of every event in these tests.
var fixedClock = time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)

func newHarness(t testing.TB) *harness {
	t.Helper()
	hs := &harness{t: t, store: &storetest.MemStore{}}
	bal := &projections.Balances{}
	hs.seq = ledger.NewSequencer(ledger.SequencerConfig{Store: hs.store, OnCommit: bal.Apply,
		Now: func() time.Time { return fixedClock }})
	if err := hs.seq.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = hs.seq.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	hs.h = New(Config{Writer: hs.seq, Events: hs.store, Balances: bal,
		BootstrapToken: testAdminToken, Tokens: newMemTokens(), Limits: Limits{RatePerSecond: -1},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Ready:  func() error { return hs.ready }}).Handler()
	return hs
}

// do sends a request; body "" sends none. Headers come as name, value pairs.
func (hs *harness) do(method, path, body string, headers ...string) *httptest.ResponseRecorder {
	hs.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", testAuthFor(method, path))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	hs.h.ServeHTTP(rec, req)
	return rec
}

func (hs *harness) post(path, body string, headers ...string) *httptest.ResponseRecorder {
	hs.t.Helper()
	return hs.do(http.MethodPost, path, body, headers...)
}

// mustPost posts and fails the test unless the answer is 201; it returns the event.
func (hs *harness) mustPost(path, body string) map[string]any {
	hs.t.Helper()
	rec := hs.post(path, body)
	if rec.Code != http.StatusCreated {
		hs.t.Fatalf("POST %s %s: %d %s", path, body, rec.Code, rec.Body)
	}
	return decodeMap(hs.t, rec)
}

func (hs *harness) head() int64 {
	hs.t.Helper()
	rec := hs.do(http.MethodGet, "/v1/head", "")
	var h struct{ Position int64 }
	if err := json.Unmarshal(rec.Body.Bytes(), &h); err != nil || rec.Code != 200 {
		hs.t.Fatalf("GET /v1/head: %d %s", rec.Code, rec.Body)
	}
	return h.Position
}

func decodeMap(t testing.TB, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, rec.Body)
	}
	return m
}

// checkProblem asserts a problem+json answer with status, code and field.
func checkProblem(t *testing.T, rec *httptest.ResponseRecorder, status int, code, field string) map[string]any {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	p := decodeMap(t, rec)
	if p["code"] != code || p["status"] != float64(status) {
		t.Errorf("code %v status %v, want %s %d: %s", p["code"], p["status"], code, status, rec.Body)
	}
	if got, _ := p["field"].(string); got != field {
		t.Errorf("field %q, want %q: %s", got, field, rec.Body)
	}
	for _, k := range []string{"type", "title", "detail"} {
		if s, _ := p[k].(string); s == "" {
			t.Errorf("problem lacks %q: %s", k, rec.Body)
		}
	}
	return p
}

// Catalog and lines of the tests.
const (
	lineProvince = `{"program":"GNBV","year":2024,"source":"NSTW-DTPT","project":"DA1","unit":"06"}`
	line062      = `{"program":"GNBV","year":2024,"source":"NSTW-DTPT","project":"DA1","unit":"062"}`
	line060DA3   = `{"program":"GNBV","year":2024,"source":"NSTW-DTPT","project":"DA3.TDA1","unit":"060"}`
	line062ID    = "GNBV:2024:NSTW-DTPT:DA1:062"
)

// seed registers the catalog and gives line062 10,000,000 đồng and the province line
// 50,000,000 đồng.
func (hs *harness) seed() {
	hs.t.Helper()
	for _, r := range []struct{ path, body string }{
		{"/v1/catalog/programs", `{"code":"GNBV","name":"Giảm nghèo bền vững","valid_from":"2021-01-01"}`},
		{"/v1/catalog/projects", `{"program":"GNBV","code":"DA1","name":"Dự án 1"}`},
		{"/v1/catalog/projects", `{"program":"GNBV","code":"DA3","name":"Dự án 3"}`},
		{"/v1/catalog/projects", `{"program":"GNBV","code":"DA3.TDA1","name":"Tiểu dự án 1","parent":"DA3"}`},
		{"/v1/catalog/sources", `{"code":"NSTW-DTPT","name":"NSTW đầu tư","budget":"central","nature":"investment"}`},
		{"/v1/catalog/units", `{"code":"06","name":"Bắc Kạn","level":"province"}`},
		{"/v1/catalog/units", `{"code":"062","name":"Ngân Sơn","level":"district","parent":"06"}`},
		{"/v1/catalog/units", `{"code":"060","name":"Pác Nặm","level":"district","parent":"06"}`},
		{"/v1/catalog/units", `{"id":"01873","code":"01873","name":"Xuân La","level":"commune","parent":"060"}`},
		{"/v1/catalog/units", `{"id":"099-old","code":"099","name":"Huyện cũ","level":"district","parent":"06","valid_to":"2023-12-31"}`},
		{"/v1/allocations", `{"line":` + line062 + `,"amount":10000000,"effective_date":"2024-01-15","decision":"QĐ 1"}`},
		{"/v1/allocations", `{"line":` + lineProvince + `,"amount":50000000,"effective_date":"2024-01-15","decision":"QĐ 2"}`},
	} {
		hs.mustPost(r.path, r.body)
	}
}

func disbursement(line string, amount any, number string) string {
	a, _ := json.Marshal(amount)
	return `{"line":` + line + `,"amount":` + string(a) + `,"kind":"payment","effective_date":"2024-03-01",` +
		`"payee":"Nhà thầu","voucher":{"office":"KB01","type":"C2-02a","number":"` + number + `","date":"2024-03-01"}}`
}

func TestWriteEndpointsRecordEvents(t *testing.T) {
	hs := newHarness(t)
	hs.seed()
	if got := hs.head(); got != 12 {
		t.Fatalf("head %d after seeding, want 12", got)
	}
	cases := []struct {
		path, body string
		typ        ledger.EventType
	}{
		{"/v1/transfers", `{"from":` + lineProvince + `,"to":` + line062 + `,"amount":5000000,"kind":"suballocation","effective_date":"2024-02-01","decision":"QĐ 3"}`, ledger.TypeTransferred},
		{"/v1/carryovers", `{"line":` + line062 + `,"amount":1000000,"into_year":2025,"effective_date":"2024-12-31","decision":"QĐ 4"}`, ledger.TypeCarriedOver},
		{"/v1/cancellations", `{"line":` + lineProvince + `,"amount":2000000,"effective_date":"2024-04-01","decision":"QĐ 5","note":"thu hồi"}`, ledger.TypeCancelled},
		{"/v1/disbursements", strings.Replace(disbursement(line062, 3000000, "1"), "payment", "advance", 1), ledger.TypeDisbursed},
	}
	for i, c := range cases {
		rec := hs.post(c.path, c.body, "X-Request-Id", fmt.Sprintf("req-%d", i))
		if rec.Code != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", c.path, rec.Code, rec.Body)
		}
		ev := decodeMap(t, rec)
		if ev["type"] != string(c.typ) || ev["position"] != float64(13+i) {
			t.Errorf("POST %s: type %v position %v, want %s %d", c.path, ev["type"], ev["position"], c.typ, 13+i)
		}
		if loc := rec.Header().Get("Location"); loc != "/v1/events/"+ev["id"].(string) {
			t.Errorf("Location %q", loc)
		}
		if rid := rec.Header().Get("X-Request-Id"); rid != fmt.Sprintf("req-%d", i) {
			t.Errorf("X-Request-Id %q not echoed", rid)
		}
		md := ev["metadata"].(map[string]any)
		if md["request_id"] != fmt.Sprintf("req-%d", i) || md["actor"] != "test officer (officer)" {
			t.Errorf("metadata %v", md)
		}
	}
	// The advance, then its settlement and a reversal of what remains.
	advance := decodeMap(t, hs.do(http.MethodGet, "/v1/events?after=15&limit=1", ""))["events"].([]any)[0].(map[string]any)
	id := advance["id"].(string)
	ev := hs.mustPost("/v1/settlements", `{"event_id":"`+id+`","amount":1000000,"effective_date":"2024-03-10","voucher":{"office":"KB01","type":"C2-03","number":"2","date":"2024-03-10"}}`)
	if ev["type"] != string(ledger.TypeAdvanceSettled) {
		t.Errorf("settlement type %v", ev["type"])
	}
	ev = hs.mustPost("/v1/reversals", `{"event_id":"`+id+`","amount":500000,"effective_date":"2024-03-11","reason":"hộ không đủ điều kiện"}`)
	if ev["type"] != string(ledger.TypeReversed) || ev["data"].(map[string]any)["amount"] != float64(500000) {
		t.Errorf("reversal %v", ev)
	}
	l := decodeMap(t, hs.do(http.MethodGet, "/v1/lines/"+line062ID, ""))
	// 10,000,000 + 5,000,000 in − 3,000,000 disbursed + 500,000 reversed.
	if l["available"] != float64(12_500_000) || l["net_disbursed"] != float64(2_500_000) || l["plan"] != float64(15_000_000) ||
		l["carried_over"] != float64(1_000_000) {
		t.Errorf("line after the writes: %v", l)
	}
}

func TestOverspendingIsRefusedWithNumbers(t *testing.T) {
	hs := newHarness(t)
	hs.seed()
	before := hs.head()
	rec := hs.post("/v1/disbursements", disbursement(line062, 10_000_001, "9"))
	p := checkProblem(t, rec, http.StatusUnprocessableEntity, ledger.CodeInsufficientFunds, "line")
	if p["line"] != line062ID || p["requested"] != float64(10_000_001) || p["available"] != float64(10_000_000) {
		t.Errorf("insufficient funds problem lacks the numbers: %s", rec.Body)
	}
	if hs.head() != before {
		t.Error("head moved on a refused disbursement")
	}
	// A transfer out of a line that never held capital names "from".
	rec = hs.post("/v1/transfers", `{"from":`+line060DA3+`,"to":`+line062+`,"amount":1,"kind":"reallocation","effective_date":"2024-02-01","decision":"x"}`)
	checkProblem(t, rec, http.StatusUnprocessableEntity, ledger.CodeInsufficientFunds, "from")
	if hs.head() != before {
		t.Error("head moved on a refused transfer")
	}
}

func TestBadInputIsRefusedNamingTheField(t *testing.T) {
	hs := newHarness(t)
	hs.seed()
	before := hs.head()
	alloc := func(line, amount, date string) string {
		return `{"line":` + line + `,"amount":` + amount + `,"effective_date":` + date + `,"decision":"QĐ"}`
	}
	big := `{"line":` + line062 + `,"amount":1,"effective_date":"2024-01-15","decision":"QĐ","note":"` +
		strings.Repeat("x", DefaultBodyMaxBytes) + `"}`
	cases := []struct {
		name, path, body string
		headers          []string
		status           int
		code, field      string
	}{
		{"not JSON", "/v1/allocations", `amount=5`, nil, 400, "invalid_argument", ""},
		{"truncated", "/v1/allocations", `{"line":{"program":"GNBV",`, nil, 400, "invalid_argument", "line"},
		{"trailing comma", "/v1/allocations", `{"amount":5,}`, nil, 400, "invalid_argument", ""},
		{"trailing data", "/v1/allocations", alloc(line062, "5", `"2024-01-15"`) + ` {}`, nil, 400, "invalid_argument", ""},
		{"empty body", "/v1/allocations", ` `, nil, 400, "invalid_argument", ""},
		{"array body", "/v1/allocations", `[]`, nil, 400, "invalid_argument", ""},
		{"unknown field", "/v1/allocations", `{"amout":5}`, nil, 400, "invalid_argument", "amout"},
		{"field in other case", "/v1/allocations", `{"Amount":5}`, nil, 400, "invalid_argument", "Amount"},
		{"unknown nested field", "/v1/allocations", `{"line":{"unti":"062"}}`, nil, 400, "invalid_argument", "line.unti"},
		{"duplicate key", "/v1/allocations", `{"amount":5,"amount":6}`, nil, 400, "invalid_argument", "amount"},
		{"duplicate nested key", "/v1/allocations", `{"line":{"unit":"062","unit":"060"}}`, nil, 400, "invalid_argument", "line.unit"},
		{"zero amount", "/v1/allocations", alloc(line062, "0", `"2024-01-15"`), nil, 400, "invalid_argument", "amount"},
		{"negative amount", "/v1/allocations", alloc(line062, "-5", `"2024-01-15"`), nil, 400, "invalid_argument", "amount"},
		{"fractional amount", "/v1/allocations", alloc(line062, "1.5", `"2024-01-15"`), nil, 400, "invalid_argument", "amount"},
		{"integral fraction", "/v1/allocations", alloc(line062, "5.0", `"2024-01-15"`), nil, 400, "invalid_argument", "amount"},
		{"exponent amount", "/v1/allocations", alloc(line062, "1e3", `"2024-01-15"`), nil, 400, "invalid_argument", "amount"},
		{"amount over 2^53", "/v1/allocations", alloc(line062, "9007199254740993", `"2024-01-15"`), nil, 400, "invalid_argument", "amount"},
		{"amount over int64", "/v1/allocations", alloc(line062, "9223372036854775808", `"2024-01-15"`), nil, 400, "invalid_argument", "amount"},
		{"string amount", "/v1/allocations", alloc(line062, `"1000"`, `"2024-01-15"`), nil, 400, "invalid_argument", "amount"},
		{"boolean amount", "/v1/allocations", alloc(line062, `true`, `"2024-01-15"`), nil, 400, "invalid_argument", "amount"},
		{"missing amount", "/v1/allocations", `{"line":` + line062 + `,"effective_date":"2024-01-15","decision":"QĐ"}`, nil, 400, "invalid_argument", "amount"},
		{"February 30", "/v1/allocations", alloc(line062, "5", `"2024-02-30"`), nil, 400, "invalid_argument", "effective_date"},
		{"day/month/year", "/v1/allocations", alloc(line062, "5", `"31/05/2024"`), nil, 400, "invalid_argument", "effective_date"},
		{"date as number", "/v1/allocations", alloc(line062, "5", `20240115`), nil, 400, "invalid_argument", "effective_date"},
		{"missing date", "/v1/allocations", alloc(line062, "5", `null`), nil, 400, "invalid_argument", "effective_date"},
		{"bad voucher date", "/v1/disbursements", strings.Replace(disbursement(line062, 5, "1"), `"date":"2024-03-01"`, `"date":"2024-13-01"`, 1), nil, 400, "invalid_argument", "voucher.date"},
		{"line as string", "/v1/allocations", alloc(`"`+line062ID+`"`, "5", `"2024-01-15"`), nil, 400, "invalid_argument", "line"},
		{"year as string", "/v1/allocations", alloc(strings.Replace(line062, `2024`, `"2024"`, 1), "5", `"2024-01-15"`), nil, 400, "invalid_argument", "line.year"},
		{"bad transfer kind", "/v1/transfers", `{"from":` + lineProvince + `,"to":` + line062 + `,"amount":5,"kind":"gift","effective_date":"2024-02-01","decision":"x"}`, nil, 400, "invalid_argument", "kind"},
		{"bad event id", "/v1/reversals", `{"event_id":"nope","amount":5,"effective_date":"2024-02-01","reason":"x"}`, nil, 400, "invalid_argument", "event_id"},
		{"unknown unit", "/v1/allocations", alloc(strings.Replace(line062, `"062"`, `"063"`, 1), "5", `"2024-01-15"`), nil, 422, "unknown_reference", "line.unit"},
		{"unknown project", "/v1/allocations", alloc(strings.Replace(line062, `"DA1"`, `"DA9"`, 1), "5", `"2024-01-15"`), nil, 422, "unknown_reference", "line.project"},
		{"unknown source", "/v1/allocations", alloc(strings.Replace(line062, `"NSTW-DTPT"`, `"NSTW-SN"`, 1), "5", `"2024-01-15"`), nil, 422, "unknown_reference", "line.source"},
		{"unit no longer valid", "/v1/allocations", alloc(strings.Replace(line062, `"062"`, `"099-old"`, 1), "5", `"2024-01-15"`), nil, 422, "unit_closed", "line.unit"},
		{"unknown disbursement", "/v1/reversals", `{"event_id":"0190a0e8-0000-7000-8000-000000000000","amount":5,"effective_date":"2024-02-01","reason":"x"}`, nil, 422, "unknown_reference", "event_id"},
		{"oversized body", "/v1/allocations", big, nil, 413, "payload_too_large", ""},
		{"wrong content type", "/v1/allocations", alloc(line062, "5", `"2024-01-15"`), []string{"Content-Type", "text/plain"}, 415, "invalid_argument", ""},
		{"other charset", "/v1/allocations", alloc(line062, "5", `"2024-01-15"`), []string{"Content-Type", "application/json; charset=latin1"}, 415, "invalid_argument", ""},
		{"bad idempotency key", "/v1/allocations", alloc(line062, "5", `"2024-01-15"`), []string{"Idempotency-Key", "has space"}, 400, "invalid_argument", "Idempotency-Key"},
		{"idempotency key too long", "/v1/allocations", alloc(line062, "5", `"2024-01-15"`), []string{"Idempotency-Key", strings.Repeat("k", IdempotencyKeyMaxLen+1)}, 400, "invalid_argument", "Idempotency-Key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := hs.post(c.path, c.body, c.headers...)
			checkProblem(t, rec, c.status, c.code, c.field)
			if got := hs.head(); got != before {
				t.Errorf("head moved from %d to %d", before, got)
			}
		})
	}
	// An oversized body of unknown length (chunked) is cut off at the limit.
	req := httptest.NewRequest(http.MethodPost, "/v1/allocations", io.MultiReader(strings.NewReader(big)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testOfficerToken)
	if req.ContentLength != -1 && req.ContentLength != 0 {
		t.Fatalf("request has a known length %d", req.ContentLength)
	}
	rec := httptest.NewRecorder()
	hs.h.ServeHTTP(rec, req)
	checkProblem(t, rec, http.StatusRequestEntityTooLarge, ledger.CodePayloadTooLarge, "")
	// No Content-Type at all.
	req = httptest.NewRequest(http.MethodPost, "/v1/allocations", strings.NewReader(alloc(line062, "5", `"2024-01-15"`)))
	req.Header.Set("Authorization", "Bearer "+testOfficerToken)
	rec = httptest.NewRecorder()
	hs.h.ServeHTTP(rec, req)
	checkProblem(t, rec, http.StatusUnsupportedMediaType, "invalid_argument", "")
}

func TestIdempotentReplayAndConflict(t *testing.T) {
	hs := newHarness(t)
	hs.seed()
	body := disbursement(line062, 1000, "77")
	first := hs.post("/v1/disbursements", body, "Idempotency-Key", "k-1")
	if first.Code != http.StatusCreated || first.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %d %v %s", first.Code, first.Header(), first.Body)
	}
	head := hs.head()
	// The same command with other white space and member order is the same request.
	var m map[string]any
	_ = json.Unmarshal([]byte(body), &m)
	reordered, _ := json.MarshalIndent(m, "", "   ")
	again := hs.post("/v1/disbursements", string(reordered), "Idempotency-Key", "k-1")
	if again.Code != http.StatusCreated || again.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %v %s", again.Code, again.Header(), again.Body)
	}
	if again.Body.String() != first.Body.String() {
		t.Errorf("replay answer differs:\n%s\n%s", again.Body, first.Body)
	}
	if hs.head() != head {
		t.Error("a replay moved the head")
	}
	// Same key, other body: conflict.
	rec := hs.post("/v1/disbursements", disbursement(line062, 2000, "78"), "Idempotency-Key", "k-1")
	checkProblem(t, rec, http.StatusConflict, ledger.CodeIdempotencyConflict, "")
	// Same key, same body, other route: conflict too.
	rec = hs.post("/v1/allocations", `{"line":`+line062+`,"amount":5,"effective_date":"2024-01-15","decision":"QĐ"}`, "Idempotency-Key", "k-1")
	checkProblem(t, rec, http.StatusConflict, ledger.CodeIdempotencyConflict, "")
	if hs.head() != head {
		t.Error("a conflict moved the head")
	}
}

func batchOf(atomic string, cmds ...string) string {
	b := `{"commands":[` + strings.Join(cmds, ",") + `]`
	if atomic != "" {
		b += `,"atomic":` + atomic
	}
	return b + "}"
}

func typed(typ, body string) string { return `{"type":"` + typ + `",` + body[1:] }

func TestBatchAtomic(t *testing.T) {
	hs := newHarness(t)
	hs.seed()
	before := hs.head()
	ok := hs.post("/v1/batch", batchOf("", typed("disbursement", disbursement(line062, 100, "b1")),
		// "type" need not come first.
		strings.Replace(disbursement(line062, 200, "b2"), `"payee"`, `"type":"disbursement","payee"`, 1),
		typed("allocation", `{"line":`+line060DA3+`,"amount":700,"effective_date":"2024-01-20","decision":"QĐ 9"}`)))
	if ok.Code != http.StatusCreated {
		t.Fatalf("atomic batch: %d %s", ok.Code, ok.Body)
	}
	events := decodeMap(t, ok)["events"].([]any)
	if len(events) != 3 || events[2].(map[string]any)["type"] != string(ledger.TypeAllocated) {
		t.Fatalf("atomic batch events: %s", ok.Body)
	}
	before += 3
	// One over-spend refuses the whole batch, naming its index.
	rec := hs.post("/v1/batch", batchOf("true", typed("disbursement", disbursement(line062, 100, "b3")),
		typed("disbursement", disbursement(line062, 100, "b4")), typed("disbursement", disbursement(line062, 99_000_000, "b5"))))
	checkProblem(t, rec, http.StatusUnprocessableEntity, ledger.CodeInsufficientFunds, "commands[2].line")
	// A malformed command refuses it before the sequencer.
	rec = hs.post("/v1/batch", batchOf("true", typed("disbursement", disbursement(line062, 100, "b6")),
		typed("disbursement", disbursement(line062, 0, "b7"))))
	checkProblem(t, rec, http.StatusBadRequest, ledger.CodeInvalidArgument, "commands[1].amount")
	// A batch of one still names commands[0].
	rec = hs.post("/v1/batch", batchOf("", typed("disbursement", disbursement(line062, 99_000_000, "b8"))))
	checkProblem(t, rec, http.StatusUnprocessableEntity, ledger.CodeInsufficientFunds, "commands[0].line")
	if hs.head() != before {
		t.Error("head moved on a refused atomic batch")
	}
}

func TestBatchNotAtomic(t *testing.T) {
	hs := newHarness(t)
	hs.seed()
	before := hs.head()
	body := batchOf("false",
		typed("disbursement", disbursement(line062, 100, "n1")),
		typed("disbursement", disbursement(line062, 0, "n2")),          // refused by Validate
		typed("disbursement", disbursement(line062, 99_000_000, "n3")), // refused by the sequencer
		typed("disbursement", disbursement(line062, 300, "n4")))
	rec := hs.post("/v1/batch", body, "Idempotency-Key", "batch-1")
	if rec.Code != http.StatusCreated {
		t.Fatalf("non-atomic batch: %d %s", rec.Code, rec.Body)
	}
	var got struct {
		Recorded, Refused int
		Results           []struct {
			Index int
			Event map[string]any
			Error map[string]any
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Recorded != 2 || got.Refused != 2 || len(got.Results) != 4 {
		t.Fatalf("answer: %s", rec.Body)
	}
	want := []struct{ code, field string }{{"", ""}, {"invalid_argument", "commands[1].amount"},
		{"insufficient_funds", "commands[2].line"}, {"", ""}}
	for i, r := range got.Results {
		if r.Index != i {
			t.Errorf("results[%d].index = %d", i, r.Index)
		}
		if want[i].code == "" {
			if r.Event == nil || r.Error != nil {
				t.Errorf("results[%d]: want an event: %v", i, r)
			}
			continue
		}
		if r.Error == nil || r.Error["code"] != want[i].code || r.Error["field"] != want[i].field {
			t.Errorf("results[%d]: want %v, got %v", i, want[i], r.Error)
		}
	}
	if r := got.Results[2].Error; r["line"] != line062ID || r["available"] == nil {
		t.Errorf("insufficient funds entry lacks its numbers: %v", r)
	}
	if hs.head() != before+2 {
		t.Errorf("head %d, want %d", hs.head(), before+2)
	}
	// The replay gives the same answer, refusals included.
	again := hs.post("/v1/batch", body, "Idempotency-Key", "batch-1")
	if again.Code != http.StatusCreated || again.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", again.Code, again.Body)
	}
	var replayed struct{ Results []map[string]any }
	_ = json.Unmarshal(again.Body.Bytes(), &replayed)
	for i, r := range replayed.Results {
		var orig map[string]any
		b, _ := json.Marshal(got.Results[i])
		_ = json.Unmarshal(b, &orig)
		if e, ok := r["error"].(map[string]any); ok {
			if e["code"] != want[i].code || e["field"] != want[i].field || e["detail"] != got.Results[i].Error["detail"] {
				t.Errorf("replayed results[%d].error = %v, want %v", i, e, got.Results[i].Error)
			}
		} else if r["event"].(map[string]any)["id"] != got.Results[i].Event["id"] {
			t.Errorf("replayed results[%d] differs", i)
		}
	}
	if hs.head() != before+2 {
		t.Error("replay moved the head")
	}
	// Every command refused: the answer is the first error, listing all.
	rec = hs.post("/v1/batch", batchOf("false", typed("disbursement", disbursement(line062, 0, "n5")),
		typed("disbursement", disbursement(line062, 99_000_000, "n6"))))
	p := checkProblem(t, rec, http.StatusBadRequest, ledger.CodeInvalidArgument, "commands[0].amount")
	if errs, _ := p["errors"].([]any); len(errs) != 2 {
		t.Errorf("errors: %s", rec.Body)
	}
	// A lone command left for the sequencer, refused there, is answered the same way.
	rec = hs.post("/v1/batch", batchOf("false", typed("disbursement", disbursement(line062, 99_000_000, "n7"))))
	p = checkProblem(t, rec, http.StatusUnprocessableEntity, ledger.CodeInsufficientFunds, "commands[0].line")
	if errs, _ := p["errors"].([]any); len(errs) != 1 {
		t.Errorf("errors: %s", rec.Body)
	}
	if hs.head() != before+2 {
		t.Error("a refused batch moved the head")
	}
}

func TestBatchDecodingErrors(t *testing.T) {
	hs := newHarness(t)
	hs.seed()
	before := hs.head()
	d := disbursement(line062, 100, "x")
	many := make([]string, BatchMaxCommands+1)
	for i := range many {
		many[i] = `{"type":"reversal"}`
	}
	cases := []struct {
		name, body  string
		status      int
		code, field string
	}{
		{"no commands", `{"atomic":true}`, 400, "invalid_argument", "commands"},
		{"empty commands", `{"commands":[]}`, 400, "invalid_argument", "commands"},
		{"commands not an array", `{"commands":{}}`, 400, "invalid_argument", "commands"},
		{"missing type", batchOf("", d), 400, "invalid_argument", "commands[0].type"},
		{"unknown type", batchOf("", typed("gift", d)), 400, "invalid_argument", "commands[0].type"},
		{"catalog type", batchOf("", `{"type":"program","code":"X","name":"x"}`), 400, "invalid_argument", "commands[0].type"},
		{"type not a string", batchOf("", `{"type":7}`), 400, "invalid_argument", "commands[0].type"},
		{"duplicate type", batchOf("", typed("disbursement", typed("disbursement", d))), 400, "invalid_argument", "commands[0].type"},
		{"unknown field", batchOf("", typed("disbursement", d), typed("disbursement", `{"amout":1}`)), 400, "invalid_argument", "commands[1].amout"},
		{"bad amount", batchOf("", typed("disbursement", d), typed("disbursement", `{"amount":1.5}`)), 400, "invalid_argument", "commands[1].amount"},
		{"bad nested date", batchOf("", typed("disbursement", d), typed("disbursement", `{"voucher":{"date":"2024-02-30"}}`)), 400, "invalid_argument", "commands[1].voucher.date"},
		{"atomic not a boolean", batchOf(`"yes"`, typed("disbursement", d)), 400, "invalid_argument", "atomic"},
		{"unknown top-level field", `{"commands":[],"atomik":true}`, 400, "invalid_argument", "atomik"},
		{"duplicate commands", `{"commands":[],"commands":[]}`, 400, "invalid_argument", "commands"},
		{"too many commands", batchOf("", many...), 413, "payload_too_large", "commands"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkProblem(t, hs.post("/v1/batch", c.body), c.status, c.code, c.field)
			if hs.head() != before {
				t.Error("head moved")
			}
		})
	}
}

func TestStoreDownIsUnavailable(t *testing.T) {
	hs := newHarness(t)
	hs.seed()
	before := hs.head()
	hs.store.FailAppends(errors.New("connection refused (simulated)"))
	rec := hs.post("/v1/disbursements", disbursement(line062, 100, "down"))
	checkProblem(t, rec, http.StatusServiceUnavailable, ledger.CodeUnavailable, "")
	if hs.head() != before {
		t.Error("head moved")
	}
}

// fakeWriter is a Writer whose Submit behaves as told.
type fakeWriter struct {
	submit func(context.Context, *ledger.Request) (*ledger.Result, error)
}

func (f fakeWriter) Submit(ctx context.Context, r *ledger.Request) (*ledger.Result, error) {
	return f.submit(ctx, r)
}
func (f fakeWriter) Head() ledger.Head { return ledger.Head{} }

func TestSubmitTimeoutAndPanic(t *testing.T) {
	for _, c := range []struct {
		name   string
		submit func(context.Context, *ledger.Request) (*ledger.Result, error)
		status int
		code   string
		detail string
	}{
		{"context ends", func(context.Context, *ledger.Request) (*ledger.Result, error) {
			return nil, context.DeadlineExceeded
		}, 503, ledger.CodeUnavailable, "outcome unknown; retry with the same Idempotency-Key"},
		{"panic", func(context.Context, *ledger.Request) (*ledger.Result, error) {
			panic("boom: secret detail")
		}, 500, ledger.CodeInternal, "internal error"},
		{"uncoded error", func(context.Context, *ledger.Request) (*ledger.Result, error) {
			return &ledger.Result{Err: fmt.Errorf("pq: secret detail")}, nil
		}, 500, ledger.CodeInternal, "internal error"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := New(Config{Writer: fakeWriter{c.submit}, Events: &storetest.MemStore{}, Balances: &projections.Balances{},
				Tokens: newMemTokens()}).Handler()
			req := httptest.NewRequest(http.MethodPost, "/v1/allocations",
				strings.NewReader(`{"line":`+line062+`,"amount":5,"effective_date":"2024-01-15","decision":"QĐ"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+testOfficerToken)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			p := checkProblem(t, rec, c.status, c.code, "")
			if p["detail"] != c.detail {
				t.Errorf("detail %q, want %q", p["detail"], c.detail)
			}
		})
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	hs := newHarness(t)
	checkProblem(t, hs.do(http.MethodGet, "/v1/nothing", ""), http.StatusNotFound, ledger.CodeNotFound, "")
	rec := hs.do(http.MethodDelete, "/v1/allocations", "")
	checkProblem(t, rec, http.StatusMethodNotAllowed, ledger.CodeInvalidArgument, "")
	if rec.Header().Get("Allow") == "" {
		t.Error("405 without Allow")
	}
}

func TestReads(t *testing.T) {
	hs := newHarness(t)
	hs.seed()
	hs.mustPost("/v1/allocations", `{"line":`+line060DA3+`,"amount":700,"effective_date":"2024-01-20","decision":"QĐ 9"}`)
	hs.mustPost("/v1/disbursements", disbursement(line062, 1000, "r1"))

	// Head.
	// The harness's clock stands still: each commit is recorded a microsecond after the
	// one before (ledger.Sequencer's recordingTime).
	h := decodeMap(t, hs.do(http.MethodGet, "/v1/head", ""))
	if at, _ := h["recorded_at"].(string); h["position"] != float64(14) || len(h["hash"].(string)) != 64 ||
		!strings.HasPrefix(at, "2024-06-01T08:00:00.0000") {
		t.Errorf("head %v", h)
	}

	// Catalog, sorted by id.
	units := decodeMap(t, hs.do(http.MethodGet, "/v1/catalog/units", ""))["items"].([]any)
	var ids []string
	for _, u := range units {
		ids = append(ids, u.(map[string]any)["id"].(string))
	}
	if strings.Join(ids, " ") != "01873 06 060 062 099-old" {
		t.Errorf("unit ids %v", ids)
	}
	if u := units[4].(map[string]any); u["valid_to"] != "2023-12-31" || u["parent"] != "06" || u["code"] != "099" {
		t.Errorf("unit entry %v", u)
	}
	projects := decodeMap(t, hs.do(http.MethodGet, "/v1/catalog/projects", ""))["items"].([]any)
	if len(projects) != 3 || projects[2].(map[string]any)["parent"] != "DA3" {
		t.Errorf("projects %v", projects)
	}
	for _, k := range []string{"programs", "sources"} {
		if items := decodeMap(t, hs.do(http.MethodGet, "/v1/catalog/"+k, ""))["items"].([]any); len(items) != 1 {
			t.Errorf("%s: %v", k, items)
		}
	}

	// Lines, filtered and paged.
	lineIDs := func(path string) ([]string, any) {
		rec := hs.do(http.MethodGet, path, "")
		if rec.Code != 200 {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		m := decodeMap(t, rec)
		var out []string
		for _, l := range m["lines"].([]any) {
			out = append(out, l.(map[string]any)["id"].(string))
		}
		return out, m["next"]
	}
	all, next := lineIDs("/v1/lines")
	if len(all) != 3 || next != nil {
		t.Fatalf("lines %v next %v", all, next)
	}
	if got, _ := lineIDs("/v1/lines?unit=060"); len(got) != 1 || got[0] != "GNBV:2024:NSTW-DTPT:DA3.TDA1:060" {
		t.Errorf("unit=060: %v", got)
	}
	if got, _ := lineIDs("/v1/lines?unit=06"); len(got) != 3 {
		t.Errorf("unit=06 (subtree): %v", got)
	}
	if got, _ := lineIDs("/v1/lines?project=DA3"); len(got) != 1 {
		t.Errorf("project=DA3 (subtree): %v", got)
	}
	if got, _ := lineIDs("/v1/lines?year=2023"); len(got) != 0 {
		t.Errorf("year=2023: %v", got)
	}
	page1, next := lineIDs("/v1/lines?limit=2")
	if len(page1) != 2 || next != page1[1] {
		t.Fatalf("page 1 %v next %v", page1, next)
	}
	page2, next := lineIDs("/v1/lines?limit=2&after=" + page1[1])
	if len(page2) != 1 || next != nil || page2[0] != all[2] {
		t.Errorf("page 2 %v next %v", page2, next)
	}
	checkProblem(t, hs.do(http.MethodGet, "/v1/lines?limit=0", ""), 400, "invalid_argument", "limit")
	checkProblem(t, hs.do(http.MethodGet, "/v1/lines?limit=1001", ""), 400, "invalid_argument", "limit")
	checkProblem(t, hs.do(http.MethodGet, "/v1/lines?unti=06", ""), 400, "invalid_argument", "unti")

	// One line, by id, also with encoded colons.
	for _, path := range []string{"/v1/lines/" + line062ID, "/v1/lines/GNBV%3A2024%3ANSTW-DTPT%3ADA1%3A062"} {
		l := decodeMap(t, hs.do(http.MethodGet, path, ""))
		if l["id"] != line062ID || l["disbursed"] != float64(1000) || l["available"] != float64(10_000_000-1000) {
			t.Errorf("GET %s: %v", path, l)
		}
	}
	checkProblem(t, hs.do(http.MethodGet, "/v1/lines/GNBV:2024:NSTW-DTPT:DA1:060", ""), 404, "not_found", "line_id")
	checkProblem(t, hs.do(http.MethodGet, "/v1/lines/GNBV:2024", ""), 400, "invalid_argument", "line_id")

	// A line's events.
	m := decodeMap(t, hs.do(http.MethodGet, "/v1/lines/"+line062ID+"/events", ""))
	if evs := m["events"].([]any); len(evs) != 2 || m["next_after"] != float64(14) {
		t.Errorf("line events %v", m)
	}
	m = decodeMap(t, hs.do(http.MethodGet, "/v1/lines/"+line062ID+"/events?after=11&limit=1", ""))
	if evs := m["events"].([]any); len(evs) != 1 || m["next_after"] != float64(14) {
		t.Errorf("line events after 11: %v", m)
	}

	// The log, paged.
	m = decodeMap(t, hs.do(http.MethodGet, "/v1/events?limit=5", ""))
	if evs := m["events"].([]any); len(evs) != 5 || m["next_after"] != float64(5) {
		t.Errorf("events page: %v", m)
	}
	m = decodeMap(t, hs.do(http.MethodGet, "/v1/events?after=14", ""))
	if evs := m["events"].([]any); len(evs) != 0 || m["next_after"] != float64(14) {
		t.Errorf("events at the head: %v", m)
	}
	checkProblem(t, hs.do(http.MethodGet, "/v1/events?limit=1001", ""), 400, "invalid_argument", "limit")
	checkProblem(t, hs.do(http.MethodGet, "/v1/events?after=-1", ""), 400, "invalid_argument", "after")

	// One event.
	first := decodeMap(t, hs.do(http.MethodGet, "/v1/events?limit=1", ""))["events"].([]any)[0].(map[string]any)
	ev := decodeMap(t, hs.do(http.MethodGet, "/v1/events/"+first["id"].(string), ""))
	if ev["position"] != float64(1) || ev["type"] != string(ledger.TypeProgramRegistered) {
		t.Errorf("event %v", ev)
	}
	checkProblem(t, hs.do(http.MethodGet, "/v1/events/0190a0e8-0000-7000-8000-000000000000", ""), 404, "not_found", "id")
	checkProblem(t, hs.do(http.MethodGet, "/v1/events/42", ""), 400, "invalid_argument", "id")

	// Store down: reads are 503, not 500.
	hs.store.FailReads(ledger.ErrUnavailable)
	checkProblem(t, hs.do(http.MethodGet, "/v1/events", ""), 503, "unavailable", "")
}

func TestHealthAndReadiness(t *testing.T) {
	hs := newHarness(t)
	if rec := hs.do(http.MethodGet, "/healthz", ""); rec.Code != 200 {
		t.Errorf("healthz %d", rec.Code)
	}
	if rec := hs.do(http.MethodGet, "/readyz", ""); rec.Code != 200 {
		t.Errorf("readyz %d", rec.Code)
	}
	hs.ready = fmt.Errorf("starting")
	checkProblem(t, hs.do(http.MethodGet, "/readyz", ""), 503, "unavailable", "")
	if rec := hs.do(http.MethodGet, "/healthz", ""); rec.Code != 200 {
		t.Errorf("healthz %d while not ready", rec.Code)
	}
	h := decodeMap(t, hs.do(http.MethodGet, "/v1/head", ""))
	if h["position"] != float64(0) || h["recorded_at"] != nil {
		t.Errorf("empty head %v", h)
	}
}

func TestRequestIDIsGeneratedWhenMissingOrBad(t *testing.T) {
	hs := newHarness(t)
	for _, given := range []string{"", "has space", strings.Repeat("x", RequestIDMaxLen+1)} {
		rec := hs.do(http.MethodGet, "/healthz", "", "X-Request-Id", given)
		if id := rec.Header().Get("X-Request-Id"); id == "" || id == given {
			t.Errorf("given %q, got %q", given, id)
		}
	}
}

// BenchmarkDisbursementHandler measures the HTTP layer of one disbursement with an
// Idempotency-Key (decode, validate, fingerprint, sequencer over the MemStore test
// double, answer), from parallel clients; the store's own cost is not in it.
func BenchmarkDisbursementHandler(b *testing.B) {
	t := &testing.T{}
	hs := newHarness(t)
	hs.t = t
	hs.seed()
	hs.mustPost("/v1/allocations", `{"line":`+line062+`,"amount":9000000000000000,"effective_date":"2024-01-15","decision":"QĐ big"}`)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32) // 64 clients on 2 cores, as in docs/benchmarks.md
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			num := strconv.FormatInt(i, 10)
			req := httptest.NewRequest(http.MethodPost, "/v1/disbursements", strings.NewReader(disbursement(line062, 1000, num)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "bench-"+num)
			req.Header.Set("Authorization", "Bearer "+testOfficerToken)
			rec := httptest.NewRecorder()
			hs.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
}
