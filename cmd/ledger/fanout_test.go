package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/vnntp/ledger/api"
	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/projections"
)

// TestStuckProjectionDoesNotDelayCommits holds the Balances projection's read lock, as a
// long report would, and shows that the writer goes on committing: more events than the
// fan-out queues for a projection (so its handoff overflows) commit within a bound while
// the projection is stuck, Progress keeps up on its own goroutine, and a read of the
// stuck projection is answered 503 after api.ProjectionWaitMax instead of with stale
// figures. Once released, Balances reads the gap back from the store and both
// projections equal a rebuild from the store: no event is lost.
func TestStuckProjectionDoesNotDelayCommits(t *testing.T) {
	a := startACNode(t, testenv.DB(t))
	ctx := context.Background()
	line := ledger.Line{Program: "GNBV", Year: 2024, Source: "NSTW-SN", Project: "DA2", Unit: "062"}
	a.submit(&ledger.Allocate{Line: line, Amount: 1_000_000_000_000, EffectiveDate: ledger.DateOf(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)),
		Decision: "QĐ stuck"})

	held, release := make(chan struct{}), make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		a.n.balances.Read(func(*ledger.State) { close(held); <-release })
	}()
	<-held
	released := false
	defer func() {
		if !released {
			close(release)
		}
		<-readerDone
	}()
	stuckAt := a.n.balances.Position()

	// Batches of BatchMaxEvents disbursements, enough to overflow the projection's queue.
	const perRequest = ledger.BatchMaxEvents
	requests := projections.FanoutQueueEvents/perRequest + 1
	const commitBound = 30 * time.Second // generous: the point is that it ends at all
	cctx, cancel := context.WithTimeout(ctx, commitBound)
	defer cancel()
	day := ledger.DateOf(time.Date(2024, 6, 3, 0, 0, 0, 0, time.UTC))
	for r := range requests {
		cmds := make([]ledger.Command, perRequest)
		for i := range cmds {
			cmds[i] = &ledger.Disburse{Line: line, Amount: 1_000, Kind: ledger.KindPayment, EffectiveDate: day, Payee: "Nhà thầu",
				Voucher: ledger.Voucher{Office: "KBNN-T", Type: "C2-02a", Number: fmt.Sprintf("stuck-%d-%d", r, i), Date: day}}
		}
		res, err := a.n.seq.Submit(cctx, &ledger.Request{Commands: cmds, Atomic: true, Meta: ledger.Metadata{Actor: "test"}})
		if err != nil {
			t.Fatalf("request %d of %d did not commit within %s while the Balances projection was held: %v",
				r+1, requests, commitBound, err)
		}
		if res.Err != nil {
			t.Fatalf("request %d: %v", r+1, res.Err)
		}
	}
	head := a.head()
	if got := a.n.balances.Position(); got != stuckAt {
		t.Fatalf("the held projection moved from %d to %d", stuckAt, got)
	}
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := a.n.progress.WaitFor(wctx, head); err != nil {
		t.Fatalf("Progress did not reach the head %d while Balances was held (at %d): %v", head, a.n.progress.Position(), err)
	}

	start := time.Now()
	rec := a.do("admin", http.MethodGet, "/v1/lines?unit=062", "")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("a read of the held projection: %d %s (Retry-After %q), want 503 with Retry-After",
			rec.Code, rec.Body, rec.Header().Get("Retry-After"))
	}
	if waited := time.Since(start); waited < api.ProjectionWaitMax {
		t.Errorf("the read gave up after %s, before ProjectionWaitMax %s", waited, api.ProjectionWaitMax)
	}

	close(release)
	released = true
	if err := a.n.balances.WaitFor(wctx, head); err != nil {
		t.Fatalf("Balances did not catch up with the head %d after release (at %d): %v", head, a.n.balances.Position(), err)
	}
	rec = a.do("admin", http.MethodGet, "/v1/lines/"+url.PathEscape(line.ID()), "")
	var got struct {
		NetDisbursed int64 `json:"net_disbursed"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &got) != nil {
		t.Fatalf("line after release: %d %s", rec.Code, rec.Body)
	}
	if want := int64(requests*perRequest) * 1_000; got.NetDisbursed < want {
		t.Errorf("net disbursed %d after release, want at least the %d disbursed while held", got.NetDisbursed, want)
	}
	assertProjectionsMatchStore(t, a, head)
}

// assertProjectionsMatchStore rebuilds both projections from the store up to head and
// compares them with the node's: the same line balances, the same progress report.
func assertProjectionsMatchStore(t *testing.T, a *acNode, head int64) {
	t.Helper()
	bal, prog := &projections.Balances{}, &projections.Progress{}
	var events []*ledger.Event
	err := a.n.store.ReadFrom(context.Background(), 0, func(e *ledger.Event) error {
		if e.Position <= head {
			events = append(events, e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	bal.Apply(events)
	prog.Apply(events)
	lines := func(b *projections.Balances) map[string]ledger.LineBalance {
		out := map[string]ledger.LineBalance{}
		b.Read(func(st *ledger.State) { st.Lines(func(l *ledger.LineBalance) { out[l.Line.ID()] = *l }) })
		return out
	}
	want, have := lines(bal), lines(a.n.balances)
	if len(want) != len(have) {
		t.Errorf("the live Balances has %d lines, a rebuild %d", len(have), len(want))
	}
	for id, w := range want {
		if !reflect.DeepEqual(have[id], w) {
			t.Errorf("line %s: live %+v, rebuilt %+v", id, have[id], w)
		}
	}
	q := projections.Query{GroupBy: []projections.Dimension{projections.GroupDistrict, projections.GroupProject}, Program: "GNBV", At: head}
	wr, err := prog.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	hr, err := a.n.progress.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	wj, _ := json.Marshal(wr)
	hj, _ := json.Marshal(hr)
	if string(wj) != string(hj) {
		t.Errorf("the live progress report differs from a rebuild:\nlive    %s\nrebuilt %s", hj, wj)
	}
}

// TestReadYourWrites: writers run concurrently, each as its own client; after every 201
// the same client's next request sees the write. An admin registers a commune, then an
// officer held to the district allocates on a line of it (the scope check reads the
// catalog projection), disburses, and reads the line and the district's progress, whose
// figures must include every one of its own writes.
func TestReadYourWrites(t *testing.T) {
	a := startACNode(t, testenv.DB(t))
	const writers, rounds = 8, 40
	const plan, paid = 1_000_000, 400_000
	from := ledger.Validity{ValidFrom: ledger.DateOf(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))}
	now := time.Now()
	for w := range writers {
		district := fmt.Sprintf("9%02d", w)
		a.submit(&ledger.RegisterUnit{Unit: ledger.Unit{ID: district, Code: district, Name: "Huyện " + district,
			Level: ledger.LevelDistrict, Parent: "06", Validity: from}})
		a.auth["w"+district] = "Bearer " + a.createToken("writer "+district, "officer", district, now, now.Add(time.Hour))
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := readYourWrites(a, fmt.Sprintf("9%02d", w), rounds, plan, paid); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// readYourWrites runs one writer's rounds in district; it returns the first answer that
// does not show the writer's own writes. It must not call t.Fatal (another goroutine).
func readYourWrites(a *acNode, district string, rounds int, plan, paid int64) error {
	who := "w" + district
	for r := range rounds {
		commune := fmt.Sprintf("%s%02d", district, r)
		line := fmt.Sprintf(`{"program":"GNBV","year":2024,"source":"NSTW-SN","project":"DA2","unit":%q}`, commune)
		steps := []struct{ who, path, body string }{
			{"admin", "/v1/catalog/units", fmt.Sprintf(`{"code":%q,"name":"Xã %s","level":"commune","parent":%q,"valid_from":"2020-01-01"}`, commune, commune, district)},
			{who, "/v1/allocations", fmt.Sprintf(`{"line":%s,"amount":%d,"effective_date":"2024-02-01","decision":"QĐ %s"}`, line, plan, commune)},
			{who, "/v1/disbursements", fmt.Sprintf(`{"line":%s,"amount":%d,"kind":"payment","effective_date":"2024-03-01","payee":"Nhà thầu","voucher":{"office":"KB01","type":"C2-02a","number":"ryw-%s","date":"2024-03-01"}}`, line, paid, commune)},
		}
		for _, s := range steps {
			if rec := a.do(s.who, http.MethodPost, s.path, s.body); rec.Code != http.StatusCreated {
				return fmt.Errorf("%s round %d: POST %s: %d %s", district, r, s.path, rec.Code, rec.Body)
			}
		}
		id := "GNBV:2024:NSTW-SN:DA2:" + commune
		var l struct {
			Plan         int64 `json:"plan"`
			NetDisbursed int64 `json:"net_disbursed"`
		}
		rec := a.do(who, http.MethodGet, "/v1/lines/"+url.PathEscape(id), "")
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &l) != nil || l.Plan != plan || l.NetDisbursed != paid {
			return fmt.Errorf("%s round %d: GET line %s after its writes: %d %s", district, r, id, rec.Code, rec.Body)
		}
		var rep struct {
			Total struct {
				Plan      int64 `json:"plan"`
				Disbursed int64 `json:"disbursed"`
			} `json:"total"`
		}
		rec = a.do(who, http.MethodGet, "/v1/progress?program=GNBV&year=2024&unit="+district, "")
		wantPlan, wantPaid := plan*int64(r+1), paid*int64(r+1)
		if err := json.Unmarshal(rec.Body.Bytes(), &rep); rec.Code != http.StatusOK || err != nil ||
			rep.Total.Plan != wantPlan || rep.Total.Disbursed != wantPaid {
			return fmt.Errorf("%s round %d: GET progress after its writes, want plan %d disbursed %d: %d %s",
				district, r, wantPlan, wantPaid, rec.Code, rec.Body)
		}
	}
	return nil
}
