package ledger

import (
	"errors"
	"testing"
)

// TestDeadlineInForce: the most specific deadline recorded on or before a date wins; a
// line without one has none; an extension must move its deadline later.
func TestDeadlineInForce(t *testing.T) {
	law := &SetDeadline{Program: "GNBV", Year: 2024, Until: day(2025, 1, 31), LegalBasis: "Luật 58/2024/QH15 Điều 72",
		EffectiveDate: day(2024, 1, 2)}
	st, _ := given(t, law,
		allocate(ln("062", "DA1"), 1_000_000, day(2024, 2, 1)),
		allocate(ln("060", "DA1"), 1_000_000, day(2024, 2, 1)),
		allocate(ln("01873", "DA1"), 1_000_000, day(2024, 2, 1)),
		allocate(lnY(2024, srcRec, "DA1", "062"), 1_000_000, day(2024, 2, 1)),
		allocate(lnY(2023, srcInv, "DA1", "062"), 1_000_000, day(2023, 2, 1)),
		// Pác Nặm's subtree, recorded later: more specific than the program's.
		&SetDeadline{Program: "GNBV", Year: 2024, Unit: "060", Until: day(2025, 3, 31), LegalBasis: "NQ HĐND", EffectiveDate: day(2024, 6, 1)},
		// Recurrent capital of the whole program: a nature is more specific than none.
		&SetDeadline{Program: "GNBV", Year: 2024, Nature: NatureRecurrent, Until: day(2024, 12, 31), LegalBasis: "TT BTC", EffectiveDate: day(2024, 6, 1)},
		// Xuân La's own line, extended: the most specific.
		&ExtendDeadline{Line: ln("01873", "DA1"), Until: day(2025, 12, 31), LegalBasis: "QĐ gia hạn", EffectiveDate: day(2025, 1, 20)},
	)
	for _, c := range []struct {
		line  Line
		on    Date
		until Date
		none  bool
	}{
		{ln("062", "DA1"), day(2025, 6, 1), day(2025, 1, 31), false},
		{ln("060", "DA1"), day(2025, 6, 1), day(2025, 3, 31), false},
		{ln("060", "DA1"), day(2024, 5, 1), day(2025, 1, 31), false}, // before the subtree's rule was in force
		{ln("01873", "DA1"), day(2025, 6, 1), day(2025, 12, 31), false},
		{ln("01873", "DA1"), day(2025, 1, 10), day(2025, 3, 31), false}, // before its extension
		{lnY(2024, srcRec, "DA1", "062"), day(2025, 6, 1), day(2024, 12, 31), false},
		{lnY(2023, srcInv, "DA1", "062"), day(2029, 6, 1), 0, true}, // no deadline recorded for 2023
	} {
		dl, ok := st.deadlines.For(&st.Catalog, &c.line, c.on, 0)
		if ok == c.none || dl.Until != c.until {
			t.Errorf("%s on %s: deadline %s %v, want %s (none %v)", c.line.ID(), c.on, dl.Until, ok, c.until, c.none)
		}
	}

	// A disbursement after the deadline is refused, naming it; on the deadline it is not.
	_, err := record(st, pay(ln("062", "DA1"), 1, day(2025, 2, 1), "L1"))
	var dpe *DeadlinePassedError
	if !errors.As(err, &dpe) || dpe.Deadline != day(2025, 1, 31) || dpe.LegalBasis != law.LegalBasis || dpe.Line != ln("062", "DA1").ID() {
		t.Fatalf("late disbursement: %v", err)
	}
	if Code(err) != CodeDeadlinePassed {
		t.Errorf("code %q", Code(err))
	}
	if _, err := record(st, pay(ln("062", "DA1"), 1, day(2025, 1, 31), "L2")); err != nil {
		t.Fatalf("disbursement on the deadline: %v", err)
	}
	if _, err := record(st, pay(lnY(2023, srcInv, "DA1", "062"), 1, day(2029, 6, 1), "L3")); err != nil {
		t.Fatalf("a line without a deadline has none: %v", err)
	}

	// Extensions: later than the deadline in force, and only of one.
	for _, c := range []struct {
		cmd   Command
		field string
	}{
		{&ExtendDeadline{Line: ln("062", "DA1"), Until: day(2025, 1, 15), LegalBasis: "x", EffectiveDate: day(2025, 1, 2)}, "until"},
		{&ExtendDeadline{Program: "GNBV", Year: 2024, Unit: "060", Until: day(2025, 3, 1), LegalBasis: "x", EffectiveDate: day(2025, 1, 2)}, "until"},
		{&ExtendDeadline{Line: lnY(2023, srcInv, "DA1", "062"), Until: day(2030, 1, 1), LegalBasis: "x", EffectiveDate: day(2025, 1, 2)}, "line"},
		{&SetDeadline{Program: "GNBV", Year: 2024, Until: day(2023, 12, 31), LegalBasis: "x", EffectiveDate: day(2024, 1, 2)}, "until"},
		{&SetDeadline{Program: "GNBV", Year: 2024, Nature: NatureRecurrent, Source: srcRec, Until: day(2025, 1, 31), LegalBasis: "x", EffectiveDate: day(2024, 1, 2)}, "source"},
	} {
		if _, err := record(st, c.cmd); Field(err) != c.field || Code(err) != CodeInvalidArgument {
			t.Errorf("%+v: err %v, want invalid_argument on %q", c.cmd, err, c.field)
		}
	}
	// A scope extension later than the subtree's deadline is accepted, and it wins over
	// the subtree's set (equal specificity, later).
	if _, err := record(st, &ExtendDeadline{Program: "GNBV", Year: 2024, Unit: "060", Until: day(2025, 9, 30), LegalBasis: "NQ gia hạn",
		EffectiveDate: day(2025, 3, 1)}); err != nil {
		t.Fatal(err)
	}
	l := ln("060", "DA1")
	if dl, _ := st.deadlines.For(&st.Catalog, &l, day(2025, 6, 1), 0); dl.Until != day(2025, 9, 30) {
		t.Errorf("after the scope extension: %s", dl.Until)
	}
}
