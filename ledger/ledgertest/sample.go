// Package ledgertest holds test data that the packages consuming ledger events share.
// It is imported by tests only.
package ledgertest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vnntp/ledger/ledger"
)

// sampleExtra, when set (by a build with the ledger_testtype tag), returns an event of
// a type that exists only in that build, appended to SampleHistory.
var sampleExtra func(line ledger.Line) (ledger.EventType, ledger.EventData)

// SampleHistory returns a short valid history, chained from the genesis hash, with at
// least one event of every type in ledger.EventTypes: a catalog, an allocation, a
// sub-allocation, a carry-over, a cancellation, an advance, its settlement and a
// reversal of part of it, a payment, an advance limit, a contract, its amendment and an
// advance under it, a deadline and its extension for one line, a target, a reorganisation
// and a handover. Consumers fold it to show that they handle
// every event type (TestEveryConsumerHandlesEveryEventType).
func SampleHistory() []*ledger.Event {
	from := ledger.MakeDate(2021, 1, 1)
	valid := ledger.Validity{ValidFrom: from}
	prov := ledger.Line{Program: "GNBV", Year: 2024, Source: "NSTW-DTPT", Project: "DA1", Unit: "06"}
	dist := prov
	dist.Unit = "062"
	succ := prov
	succ.Unit = "19"
	d := ledger.MakeDate(2024, time.March, 15)
	advance := uuid.MustParse("01900000-0000-7000-8000-000000000010")
	token := ledger.TokenRecord{ID: "01900000-0000-7000-8000-0000000000aa", Name: "Kế toán Ngân Sơn", Role: "officer",
		Unit: "062", ExpiresAt: "2024-06-13T08:00:00Z"}
	contract := uuid.MustParse("01900000-0000-7000-8000-000000000020")
	voucher := func(n string) *ledger.Voucher {
		return &ledger.Voucher{Office: "KB06", Type: "C2-02", Number: n, Date: d}
	}
	data := []struct {
		typ ledger.EventType
		id  uuid.UUID
		d   ledger.EventData
	}{
		{ledger.TypeProgramRegistered, uuid.Nil, ledger.EventData{Program: &ledger.Program{Code: "GNBV", Name: "Giảm nghèo bền vững", Validity: valid}}},
		{ledger.TypeProjectRegistered, uuid.Nil, ledger.EventData{Project: &ledger.Project{Program: "GNBV", Code: "DA1", Name: "Dự án 1", Validity: valid}}},
		{ledger.TypeSourceRegistered, uuid.Nil, ledger.EventData{Source: &ledger.Source{Code: "NSTW-DTPT", Name: "NSTW đầu tư",
			Budget: ledger.BudgetCentral, Nature: ledger.NatureInvestment, Validity: valid}}},
		{ledger.TypeUnitRegistered, uuid.Nil, ledger.EventData{Unit: &ledger.Unit{ID: "06", Code: "06", Name: "Bắc Kạn",
			Level: ledger.LevelProvince, Validity: valid}}},
		{ledger.TypeUnitRegistered, uuid.Nil, ledger.EventData{Unit: &ledger.Unit{ID: "062", Code: "062", Name: "Ngân Sơn",
			Level: ledger.LevelDistrict, Parent: "06", Validity: valid}}},
		{ledger.TypeAllocated, uuid.Nil, ledger.EventData{Line: &prov, Amount: 1_000_000, Decision: "QĐ 1"}},
		{ledger.TypeTransferred, uuid.Nil, ledger.EventData{From: &prov, To: &dist, Amount: 600_000,
			Kind: string(ledger.KindSuballocation), Decision: "QĐ 2"}},
		{ledger.TypeCarriedOver, uuid.Nil, ledger.EventData{Line: &prov, Amount: 100_000, IntoYear: 2025, Decision: "QĐ 3"}},
		{ledger.TypeCancelled, uuid.Nil, ledger.EventData{Line: &prov, Amount: 50_000, Decision: "QĐ 4"}},
		{ledger.TypeDisbursed, advance, ledger.EventData{Line: &dist, Amount: 200_000, Kind: string(ledger.KindAdvance),
			Payee: "HTX Ngân Sơn", Voucher: voucher("1")}},
		{ledger.TypeAdvanceSettled, uuid.Nil, ledger.EventData{Line: &dist, EventID: advance.String(), Amount: 50_000, Voucher: voucher("2")}},
		{ledger.TypeReversed, uuid.Nil, ledger.EventData{Line: &dist, EventID: advance.String(), Amount: 20_000,
			AdvanceReversed: 20_000, Reason: "sai số tiền"}},
		{ledger.TypeDisbursed, uuid.Nil, ledger.EventData{Line: &dist, Amount: 100_000, Kind: string(ledger.KindPayment),
			Payee: "Công ty A", Voucher: voucher("3")}},
		{ledger.TypeAdvanceLimitSet, uuid.MustParse("01900000-0000-7000-8000-000000000030"), ledger.EventData{AdvanceLimit: &ledger.AdvanceLimit{ShareBP: 3000,
			Nature: ledger.NatureInvestment}, Decision: "NĐ 99/2021/NĐ-CP Điều 10"}},
		{ledger.TypeContractSigned, contract, ledger.EventData{Line: &dist, Amount: 400_000, Number: "01/2024/HĐXD",
			Contractor: "Công ty B", Document: "HĐ 01/2024/HĐXD"}},
		{ledger.TypeContractAmended, uuid.MustParse("01900000-0000-7000-8000-000000000031"), ledger.EventData{Line: &dist, Contract: contract.String(), Amount: 450_000,
			PreviousValue: 400_000, Reason: "phụ lục 1"}},
		{ledger.TypeDisbursed, uuid.MustParse("01900000-0000-7000-8000-000000000032"), ledger.EventData{Line: &dist, Amount: 100_000, Kind: string(ledger.KindAdvance),
			Payee: "Công ty B", Voucher: voucher("4"), Contract: contract.String()}},
		{ledger.TypeReconciliationCompleted, uuid.MustParse("01900000-0000-7000-8000-000000000033"), ledger.EventData{
			Reconciliation: &ledger.Reconciliation{Office: "KB06", From: d, To: d, FileSHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
				Matched: 3, LedgerOnly: 1, LedgerPosition: 17, StatementRows: 3}}},
		{ledger.TypeDeadlineSet, uuid.Nil, ledger.EventData{Deadline: &ledger.Deadline{Program: "GNBV", Year: 2024,
			Nature: ledger.NatureInvestment, Until: ledger.MakeDate(2025, time.January, 31), LegalBasis: "Luật 58/2024/QH15, Điều 72"}}},
		{ledger.TypeDeadlineExtended, uuid.Nil, ledger.EventData{Line: &dist, Deadline: &ledger.Deadline{Program: "GNBV", Year: 2024,
			Until: ledger.MakeDate(2025, time.December, 31), LegalBasis: "QĐ 5/QĐ-UBND"}}},
		{ledger.TypeTargetSet, uuid.Nil, ledger.EventData{Target: &ledger.Target{Unit: "06", Program: "GNBV", Year: 2024,
			RateBP: 9500, By: ledger.MakeDate(2025, time.January, 31), Document: "NQ 25/NQ-HĐND"}}},
		{ledger.TypeTokenCreated, uuid.Nil, ledger.EventData{Token: &token}},
		{ledger.TypeTokenRevoked, uuid.Nil, ledger.EventData{Token: &token}},
		{ledger.TypeUnitRegistered, uuid.Nil, ledger.EventData{Unit: &ledger.Unit{ID: "19", Code: "19", Name: "Thái Nguyên",
			Level: ledger.LevelProvince, Validity: valid}}},
		{ledger.TypeUnitReorganized, uuid.Nil, ledger.EventData{Reorganization: &ledger.Reorganization{
			LegalBasis: "NQ 202/2025/QH15", Levels: []ledger.Level{ledger.LevelProvince, ledger.LevelCommune},
			Changes: []ledger.UnitChange{{Kind: ledger.ChangeAbolish, Predecessors: []string{"062"}, Successors: []string{"19"}}}}}},
		{ledger.TypeTransferred, uuid.MustParse("01900000-0000-7000-8000-0000000000f0"), ledger.EventData{From: &dist, To: &succ, Amount: 10_000,
			Kind: string(ledger.KindHandover), Decision: "QĐ 5"}},
	}
	var events []*ledger.Event
	add := func(typ ledger.EventType, id uuid.UUID, ed ledger.EventData) {
		pos := int64(len(events) + 1)
		if id == uuid.Nil {
			// Apart from the fixed ids above, which end in …00xx.
			id = uuid.MustParse("01900000-0000-7000-8000-00000000a000")
			id[15] = byte(pos)
		}
		e := &ledger.Event{Position: pos, ID: id, Type: typ, EffectiveDate: d, Data: ed,
			RecordedAt: time.Date(2024, time.March, 15, 8, 0, int(pos), 0, time.UTC)}
		if len(events) > 0 {
			e.PrevHash = events[len(events)-1].Hash
		}
		e.Hash, _ = ledger.ChainHash(nil, e.PrevHash, e)
		events = append(events, e)
	}
	for _, x := range data {
		add(x.typ, x.id, x.d)
	}
	if sampleExtra != nil {
		typ, ed := sampleExtra(dist)
		// An id of its own: the one its position would give may be an explicit id above.
		add(typ, uuid.MustParse("01900000-0000-7000-8000-0000000000ff"), ed)
	}
	return events
}

// CheckConsumer folds SampleHistory with apply, one event at a time in position order,
// and fails t for every event on which apply panics, naming consumer and the event
// type: the default branch of an exhaustive switch over event types panics.
func CheckConsumer(t testing.TB, consumer string, apply func(e *ledger.Event)) {
	t.Helper()
	for _, e := range SampleHistory() {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s does not handle event type %s: %v", consumer, e.Type, r)
				}
			}()
			apply(e)
		}()
	}
}

// Chain gives events the positions after head and links their hashes from prev, as the
// sequencer does; an event without an id, a recording time or an effective date gets a
// new UUIDv7, clock plus its position in milliseconds, and day.
func Chain(head int64, prev [32]byte, clock time.Time, day ledger.Date, events ...*ledger.Event) []*ledger.Event {
	var buf []byte
	for i, e := range events {
		e.Position = head + int64(i) + 1
		if e.ID == uuid.Nil {
			e.ID = uuid.Must(uuid.NewV7())
		}
		if e.RecordedAt.IsZero() {
			e.RecordedAt = clock.Add(time.Duration(e.Position) * time.Millisecond)
		}
		if e.EffectiveDate == 0 {
			e.EffectiveDate = day
		}
		e.PrevHash = prev
		e.Hash, buf = ledger.ChainHash(buf, prev, e)
		prev = e.Hash
	}
	return events
}
