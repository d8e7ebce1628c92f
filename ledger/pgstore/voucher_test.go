package pgstore_test

import (
	"slices"
	"strings"
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

// TestLookupVouchersLegacy: events recorded before voucher_key existed (migration 00008)
// keep it NULL; the write model no longer folds their vouchers into memory, so the
// store's lookup computes their identity in SQL (migration 00012) and must find them
// re-spelt as Voucher.Identity does, and the filter's reader must give that identity.
func TestLookupVouchersLegacy(t *testing.T) {
	t.Parallel()
	s, url := open(t)
	w := acquire(t, s)
	ctx := testContext(t)
	disburse := func(office, typ, number string) *ledger.Event {
		l := lineA
		return &ledger.Event{Type: ledger.TypeDisbursed, Data: ledger.EventData{Line: &l, Amount: 5, Kind: string(ledger.KindPayment),
			Payee: "A", Voucher: &ledger.Voucher{Office: office, Type: typ, Number: number, Date: day}}}
	}
	// Numbers that test the SQL of the identity against Voucher.Identity: leading zeros
	// before a digit only, a lone zero, a zero before a letter, letters in lower case.
	numbers := []string{"000123", "00", "0a7", "12/kb-tt", "0012/kb-tx"}
	evs := []*ledger.Event{allocation(lineA, 100)}
	for _, n := range numbers {
		evs = append(evs, disburse("kb062", "c2-02a", n))
	}
	evs = chain(0, [32]byte{}, evs...)
	if err := w.Append(ctx, evs, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := superuser(t, url).Exec(ctx, `UPDATE events SET voucher_key = NULL`); err != nil {
		t.Fatal(err)
	}
	var asked, want []string
	var vouchers []ledger.Voucher
	for _, n := range numbers {
		v := ledger.Voucher{Office: "KB062", Type: "C2-02A", Number: strings.ToUpper(strings.TrimLeft(n, "0")), Date: day}
		switch n {
		case "00":
			v.Number = "0"
		case "0a7":
			v.Number = "0A7"
		}
		vouchers = append(vouchers, v, ledger.Voucher{Office: "KB062", Type: "C2-02A", Number: n + "9", Date: day})
		asked = append(asked, v.Identity())
		want = append(want, v.Identity())
	}
	got, err := s.LookupVouchers(ctx, vouchers)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("LookupVouchers of old events = %q, want %q (asked %q)", got, want, asked)
	}
	var read []string
	if err := s.ReadVouchers(ctx, func(id string) error { read = append(read, id); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(read)
	if !slices.Equal(read, want) {
		t.Errorf("ReadVouchers of old events = %q, want %q", read, want)
	}
}
