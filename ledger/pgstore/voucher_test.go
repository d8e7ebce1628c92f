package pgstore_test

import (
	"testing"

	"github.com/vnntp/ledger/ledger"
)

// TestVoucherIdentityIndex: the database's backstop refuses a voucher that only
// re-spells one already recorded (case, leading zeros of the number), as the write model
// does (reproduction 7 of the second hardening round), and keeps what was entered.
func TestVoucherIdentityIndex(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	w := acquire(t, s)
	ctx := testContext(t)
	disburse := func(office, number string) *ledger.Event {
		l := lineA
		return &ledger.Event{Type: ledger.TypeDisbursed, Data: ledger.EventData{Line: &l, Amount: 5, Kind: string(ledger.KindPayment),
			Payee: "A", Voucher: &ledger.Voucher{Office: office, Type: "C2-02a", Number: number, Date: day}}}
	}
	evs := chain(0, [32]byte{}, allocation(lineA, 100), disburse("kb062", "000123"))
	if err := w.Append(ctx, evs, nil); err != nil {
		t.Fatal(err)
	}
	head := evs[1].Hash
	for _, re := range []struct{ office, number string }{{"KB062", "123"}, {"Kb062", "0123"}, {"KB062", "00000123"}} {
		err := w.Append(ctx, chain(2, head, disburse(re.office, re.number)), nil)
		if ledger.Code(err) != ledger.CodeInvalidArgument || ledger.Field(err) != "voucher" {
			t.Errorf("voucher %s/%s after kb062/000123: error %v, want invalid_argument on voucher", re.office, re.number, err)
		}
	}
	ok := chain(2, head, disburse("KB062", "1230"))
	if err := w.Append(ctx, ok, nil); err != nil {
		t.Fatalf("another number: %v", err)
	}
	got := readAll(t, s, 0)
	if len(got) != 3 || got[1].Data.Voucher.Number != "000123" || got[1].Data.Voucher.Office != "kb062" {
		t.Errorf("stored %d events; the voucher as entered: %+v", len(got), got[1].Data.Voucher)
	}
}
