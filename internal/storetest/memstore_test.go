package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/vnntp/ledger/ledger"
)

// TestMemStoreConformance holds the test double to the contract the PostgreSQL store
// passes (ledger/pgstore's TestConformance).
func TestMemStoreConformance(t *testing.T) {
	Run(t, func(*testing.T) Stores {
		m := &MemStore{}
		return Stores{Store: m, Events: m, EventsLimitMax: MemEventsLimitMax, EventsRangeMax: MemEventsRangeMax}
	})
}

// TestMemStoreFaults checks the double's fault injection, which only the double has: a
// store that is down stores nothing and reads nothing, and works again once healed.
func TestMemStoreFaults(t *testing.T) {
	ctx := testContext(t)
	m := &MemStore{}
	s := Stores{Store: m, Events: m}
	down := errors.New("down")
	m.FailAppends(down)
	evs := chain(0, ledger.GenesisHash, allocation(lineA, 1))
	if err := m.Append(ctx, evs, []ledger.KeyRecord{{Key: "k", First: 1, Last: 1}}); err != down {
		t.Fatalf("Append on a failing store: %v, want %v", err, down)
	}
	if got := snapshot(t, s); len(got.events) != 0 || len(got.keys) != 0 {
		t.Fatalf("a failed Append stored %d events and %d keys", len(got.events), len(got.keys))
	}
	m.FailAppends(nil)
	mustAppend(t, s, evs, ledger.KeyRecord{Key: "k", First: 1, Last: 1})

	m.FailReads(down)
	reads := map[string]error{
		"ReadFrom": m.ReadFrom(ctx, 0, func(*ledger.Event) error { return nil }),
		"ReadKeys": m.ReadKeys(ctx, 0, func(ledger.KeyRecord) error { return nil }),
	}
	_, reads["Events"] = m.Events(ctx, 0, 10)
	_, reads["EventsRange"] = m.EventsRange(ctx, 1, 1)
	_, reads["Event"] = m.Event(ctx, evs[0].ID)
	_, reads["LineEvents"] = m.LineEvents(ctx, lineA.ID(), 0, 10)
	for name, err := range reads {
		if err != down {
			t.Errorf("%s on a failing store: %v, want %v", name, err, down)
		}
	}
	m.FailReads(nil)
	if got := snapshot(t, s); len(got.events) != 1 || len(got.keys) != 1 {
		t.Errorf("after healing: %d events and %d keys, want 1 and 1", len(got.events), len(got.keys))
	}
}

// TestCloneSharesNothing sets every reference an event can hold and checks that
// MemStore's copy shares none of them, so that a field added to ledger.Event or
// ledger.EventData cannot make the double hand out its own memory.
func TestCloneSharesNothing(t *testing.T) {
	e := &ledger.Event{}
	fillReferences(t, "Event", reflect.ValueOf(e).Elem())
	assertNoSharing(t, "Event", reflect.ValueOf(e).Elem(), reflect.ValueOf(clone(e)).Elem())
}

// fillReferences points every nil pointer under v at a new zero value.
func fillReferences(t *testing.T, path string, v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			return // immutable; its location pointer is shared by design
		}
		for i := range v.NumField() {
			fillReferences(t, path+"."+v.Type().Field(i).Name, v.Field(i))
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillReferences(t, path, v.Elem())
	case reflect.Slice:
		// One element, itself filled, so that the copy must not share the backing array
		// nor what the element refers to.
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillReferences(t, path+"[0]", v.Index(0))
	}
}

// assertNoSharing walks a and its copy b and fails on any pointer they share, and on any
// kind of reference the copy does not handle.
func assertNoSharing(t *testing.T, path string, a, b reflect.Value) {
	switch a.Kind() {
	case reflect.Struct:
		if a.Type() == reflect.TypeFor[time.Time]() {
			return
		}
		for i := range a.NumField() {
			assertNoSharing(t, path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
		}
	case reflect.Pointer:
		if b.IsNil() || a.Pointer() == b.Pointer() {
			t.Errorf("%s: the copy shares or drops the pointer; copy it in clone", path)
			return
		}
		assertNoSharing(t, path, a.Elem(), b.Elem())
	case reflect.Slice:
		if b.Len() != a.Len() || a.Len() > 0 && a.Pointer() == b.Pointer() {
			t.Errorf("%s: the copy shares or drops the slice; copy it in clone", path)
			return
		}
		for i := range a.Len() {
			assertNoSharing(t, fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i))
		}
	case reflect.Map, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		t.Errorf("%s: a %s field; teach clone to copy it", path, a.Kind())
	}
}

// TestSequencerReferenceLookupFails: when the store cannot look up a disbursement the
// sequencer's cache does not hold, the request naming it is answered unavailable and
// nothing of it is stored, while requests that need no lookup are still recorded; once
// the store answers, the same request is decided as usual.
func TestSequencerReferenceLookupFails(t *testing.T) {
	ctx := testContext(t)
	m := &MemStore{}
	from := ledger.Validity{ValidFrom: ledger.MakeDate(2021, 1, 1)}
	seq := ledger.NewSequencer(ledger.SequencerConfig{Store: m, Now: func() time.Time { return clock },
		DisbursementCacheSize: 2, VoucherCacheSize: 2})
	defer runSequencer(t, seq)()
	submit := func(c ledger.Command) *ledger.Result {
		t.Helper()
		res, err := seq.Submit(ctx, &ledger.Request{Commands: []ledger.Command{c}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for _, c := range []ledger.Command{
		&ledger.RegisterProgram{Program: ledger.Program{Code: "GNBV", Name: "Giảm nghèo", Validity: from}},
		&ledger.RegisterProject{Project: ledger.Project{Program: "GNBV", Code: "DA1", Name: "Dự án 1", Validity: from}},
		&ledger.RegisterSource{Source: ledger.Source{Code: "NSTW-DTPT", Name: "NSTW", Budget: ledger.BudgetCentral,
			Nature: ledger.NatureInvestment, Validity: from}},
		&ledger.RegisterUnit{Unit: ledger.Unit{ID: "062", Code: "062", Name: "Bắc Kạn", Level: ledger.LevelProvince, Validity: from}},
		&ledger.Allocate{Line: lineA, Amount: 1_000, EffectiveDate: day, Decision: "QĐ 1"},
	} {
		if r := submit(c); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	var oldest, second ledger.Result
	for i := range 5 {
		r := submit(&ledger.Disburse{Line: lineA, Amount: 10, Kind: ledger.KindPayment, EffectiveDate: day, Payee: "A",
			Voucher: *voucher(fmt.Sprint(i + 1))})
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		switch i {
		case 0:
			oldest = *r
		case 1:
			second = *r
		}
	}
	// A keyed reversal recorded while the store answers, then pushed out of the
	// disbursement cache by two more.
	keyed := func() *ledger.Request {
		return &ledger.Request{Key: "reverse-second", Commands: []ledger.Command{
			&ledger.Reverse{EventID: second.Events[0].ID, Amount: 5, EffectiveDate: day, Reason: "sai"}}}
	}
	first, err := seq.Submit(ctx, keyed())
	if err != nil || first.Err != nil {
		t.Fatal(err, first.Err)
	}
	for i := range 2 {
		if r := submit(&ledger.Disburse{Line: lineA, Amount: 10, Kind: ledger.KindPayment, EffectiveDate: day, Payee: "A",
			Voucher: *voucher(fmt.Sprint(i + 10))}); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	reverse := &ledger.Reverse{EventID: oldest.Events[0].ID, Amount: 10, EffectiveDate: day, Reason: "sai"}
	m.FailReads(errors.New("down"))
	head := seq.Head().Position
	if r := submit(reverse); !errors.Is(r.Err, ledger.ErrUnavailable) {
		t.Fatalf("a reversal of a disbursement the cache lost, the store down: %v, want unavailable", r.Err)
	}
	// Its retry needs no lookup: it is answered with the recorded outcome.
	if r, err := seq.Submit(ctx, keyed()); err != nil || r.Err != nil || r.First != first.First || !r.Replayed {
		t.Fatalf("a retry of a recorded reversal while lookups fail: %+v %v, want the outcome at %d replayed", r, err, first.First)
	}
	if r := submit(&ledger.Allocate{Line: lineA, Amount: 1, EffectiveDate: day, Decision: "QĐ 2"}); r.Err != nil || r.First != head+1 {
		t.Fatalf("an allocation while lookups fail: %+v, want recorded at %d", r, head+1)
	}
	m.FailReads(nil)
	if r := submit(reverse); r.Err != nil || r.First != head+2 {
		t.Fatalf("the reversal once the store answers: %+v, want recorded at %d", r, head+2)
	}
}
