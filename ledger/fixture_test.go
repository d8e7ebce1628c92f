package ledger

import (
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The fixed clock of the domain tests: event n is recorded at clockBase + n ms, so every
// run builds byte-identical events and hashes.
var clockBase = time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)

func testTime(pos int64) time.Time { return clockBase.Add(time.Duration(pos) * time.Millisecond) }

// testNamespace seeds the deterministic event ids of the domain tests.
var testNamespace = uuid.MustParse("6f1c2a4e-0b7d-4c1e-9a57-3d2f8e6b1c00")

func testEventID(pos int64) uuid.UUID {
	return uuid.NewSHA1(testNamespace, strconv.AppendInt(nil, pos, 10))
}

func day(y int, m time.Month, d int) Date { return MakeDate(y, m, d) }

// Source codes of the fixture catalog.
const (
	srcInv   = "NSTW-DTPT" // central investment
	srcRec   = "NSTW-SN"   // central recurrent
	srcLocal = "NSDP-DTPT" // local investment, counterpart
	srcOld   = "OLD-SRC"   // valid until 2021-12-31 only
)

// testCatalog returns the reference data every domain test starts from: program GNBV;
// projects DA1, DA3 and its sub-project DA3.TDA1, and DA2, which ends on 2022-12-31;
// Bắc Kạn (06) with districts Pác Nặm (060) and Ngân Sơn (062), communes Xuân La (01873)
// and Nghiên Loan (01882) under Pác Nặm, a district OLD that ends on 2022-12-31 and one
// NEW that starts on 2025-07-01; Bắc Giang (24), valid until 2025-06-30, with Lạng Giang
// (217) and Xuân Hương (07429).
func testCatalog() []Command {
	from := Validity{ValidFrom: day(2000, 1, 1)}
	return []Command{
		&RegisterProgram{Program{Code: "GNBV", Name: "Giảm nghèo bền vững 2021–2025", Validity: Validity{ValidFrom: day(2021, 1, 1)}}},
		&RegisterProject{Project{Program: "GNBV", Code: "DA1", Name: "Hỗ trợ đầu tư hạ tầng", Validity: from}},
		&RegisterProject{Project{Program: "GNBV", Code: "DA3", Name: "Hỗ trợ sản xuất", Validity: from}},
		&RegisterProject{Project{Program: "GNBV", Code: "DA3.TDA1", Name: "Sản xuất nông nghiệp", Parent: "DA3", Validity: from}},
		&RegisterProject{Project{Program: "GNBV", Code: "DA2", Name: "Đa dạng hóa sinh kế", Validity: Validity{ValidFrom: day(2021, 1, 1), ValidTo: day(2022, 12, 31)}}},
		&RegisterSource{Source{Code: srcInv, Name: "NSTW đầu tư phát triển", Budget: BudgetCentral, Nature: NatureInvestment, Validity: from}},
		&RegisterSource{Source{Code: srcRec, Name: "NSTW sự nghiệp", Budget: BudgetCentral, Nature: NatureRecurrent, Validity: from}},
		&RegisterSource{Source{Code: srcLocal, Name: "NSĐP đối ứng", Budget: BudgetLocal, Nature: NatureInvestment, Counterpart: true, Validity: from}},
		&RegisterSource{Source{Code: srcOld, Name: "Nguồn cũ", Budget: BudgetOther, Nature: NatureInvestment, Validity: Validity{ValidFrom: day(2000, 1, 1), ValidTo: day(2021, 12, 31)}}},
		&RegisterUnit{Unit{ID: "06", Code: "06", Name: "Bắc Kạn", Level: LevelProvince, Validity: from}},
		&RegisterUnit{Unit{ID: "060", Code: "060", Name: "Pác Nặm", Level: LevelDistrict, Parent: "06", Validity: from}},
		&RegisterUnit{Unit{ID: "062", Code: "062", Name: "Ngân Sơn", Level: LevelDistrict, Parent: "06", Validity: from}},
		&RegisterUnit{Unit{ID: "01873", Code: "01873", Name: "Xuân La", Level: LevelCommune, Parent: "060", Validity: from}},
		&RegisterUnit{Unit{ID: "01882", Code: "01882", Name: "Nghiên Loan", Level: LevelCommune, Parent: "060", Validity: from}},
		&RegisterUnit{Unit{ID: "OLD", Code: "059", Name: "Huyện cũ", Level: LevelDistrict, Parent: "06", Validity: Validity{ValidFrom: day(2000, 1, 1), ValidTo: day(2022, 12, 31)}}},
		&RegisterUnit{Unit{ID: "NEW", Code: "069", Name: "Đơn vị mới", Level: LevelDistrict, Parent: "06", Validity: Validity{ValidFrom: day(2025, 7, 1)}}},
		&RegisterUnit{Unit{ID: "24", Code: "24", Name: "Bắc Giang", Level: LevelProvince, Validity: Validity{ValidFrom: day(2000, 1, 1), ValidTo: day(2025, 6, 30)}}},
		&RegisterUnit{Unit{ID: "217", Code: "217", Name: "Lạng Giang", Level: LevelDistrict, Parent: "24", Validity: Validity{ValidFrom: day(2000, 1, 1), ValidTo: day(2025, 6, 30)}}},
		&RegisterUnit{Unit{ID: "07429", Code: "07429", Name: "Xuân Hương", Level: LevelCommune, Parent: "217", Validity: Validity{ValidFrom: day(2000, 1, 1), ValidTo: day(2025, 6, 30)}}},
	}
}

// testCatalogLen is the number of events testCatalog records; the first event of a
// test's "given" commands is at position testCatalogLen+1.
var testCatalogLen = len(testCatalog())

// ref returns the id of the event recorded by the i-th "given" command of a test.
func ref(i int) uuid.UUID { return testEventID(int64(testCatalogLen + 1 + i)) }

// ln is a 2024 central-investment line of program GNBV.
func ln(unit, project string) Line { return lnY(2024, srcInv, project, unit) }

func lnY(year int, source, project, unit string) Line {
	return Line{Program: "GNBV", Year: year, Source: source, Project: project, Unit: unit}
}

func vch(number string, d Date) Voucher {
	return Voucher{Office: "KBNN-BK", Type: "C2-02", Number: number, Date: d}
}

func allocate(l Line, amount int64, d Date) *Allocate {
	return &Allocate{Line: l, Amount: amount, EffectiveDate: d, Decision: "QĐ 1/QĐ-UBND"}
}

func pay(l Line, amount int64, d Date, voucher string) *Disburse {
	return &Disburse{Line: l, Amount: amount, Kind: KindPayment, EffectiveDate: d, Payee: "HTX Ngân Sơn", Voucher: vch(voucher, d)}
}

func advance(l Line, amount int64, d Date, voucher string) *Disburse {
	c := pay(l, amount, d, voucher)
	c.Kind = KindAdvance
	return c
}

// decide runs a command the way the write path does: Validate on its own, then Decide
// against the state.
func decide(st *State, c Command) (EventType, Date, EventData, error) {
	if err := c.Validate(); err != nil {
		return "", 0, EventData{}, err
	}
	return st.Decide(c)
}

// record decides c and, if accepted, builds its event at the next position with the
// fixed clock, chains its hash and applies it.
func record(st *State, c Command) (*Event, error) {
	typ, date, data, err := decide(st, c)
	if err != nil {
		return nil, err
	}
	pos := st.Head + 1
	if date == 0 {
		date = DateOf(testTime(pos))
	}
	e := &Event{Position: pos, ID: testEventID(pos), Type: typ, EffectiveDate: date, RecordedAt: testTime(pos),
		Data: data, Meta: Metadata{Actor: "test"}, PrevHash: st.HeadHash}
	e.Hash, _ = ChainHash(nil, e.PrevHash, e)
	st.Apply(e)
	return e, nil
}

// given returns the state after the fixture catalog and cmds, and their events. Every
// command must be accepted.
func given(t testing.TB, cmds ...Command) (*State, []*Event) {
	t.Helper()
	st := &State{}
	var events []*Event
	for i, c := range append(testCatalog(), cmds...) {
		e, err := record(st, c)
		if err != nil {
			t.Fatalf("given command %d (%T) was refused: %v", i-testCatalogLen, c, err)
		}
		events = append(events, e)
	}
	return st, events
}

// diffState lists the differences between two write models, field by field, so that a
// failure says what differs rather than "not equal".
func diffState(want, got *State) []string {
	var d []string
	check := func(name string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			d = append(d, fmt.Sprintf("%s: want %v, got %v", name, a, b))
		}
	}
	check("Catalog.Programs", want.Catalog.Programs, got.Catalog.Programs)
	check("Catalog.Projects", want.Catalog.Projects, got.Catalog.Projects)
	check("Catalog.Units", want.Catalog.Units, got.Catalog.Units)
	check("Catalog.Sources", want.Catalog.Sources, got.Catalog.Sources)
	check("Catalog.successors", want.Catalog.successors, got.Catalog.successors)
	check("Catalog.predecessors", want.Catalog.predecessors, got.Catalog.predecessors)
	check("Catalog.levelChanges", want.Catalog.levelChanges, got.Catalog.levelChanges)
	check("Catalog.closedBy", want.Catalog.closedBy, got.Catalog.closedBy)
	check("Catalog.endedBy", want.Catalog.endedBy, got.Catalog.endedBy)
	if !reflect.DeepEqual(want.lines, got.lines) {
		d = append(d, fmt.Sprintf("lines: want %s, got %s", dumpLines(want), dumpLines(got)))
	}
	if got.refs != nil && want.refs == nil {
		// A bounded write model (the sequencer's) against a full fold: every fact its
		// caches hold must be the full fold's.
		d = append(d, diffRefs(want, got.refs)...)
	} else {
		check("disbursements", want.disbursements, got.disbursements)
		check("vouchers", want.vouchers, got.vouchers)
	}
	check("tokens", want.tokens, got.tokens)
	check("turnover", want.turnover, got.turnover)
	check("contracts", want.contracts, got.contracts)
	check("contractNumbers", want.contractNumbers, got.contractNumbers)
	check("contractOf", want.contractOf, got.contractOf)
	check("limits", want.limits, got.limits)
	check("deadlines", want.deadlines, got.deadlines)
	check("Head", want.Head, got.Head)
	check("HeadHash", want.HeadHash, got.HeadHash)
	if !want.HeadTime.Equal(got.HeadTime) {
		d = append(d, fmt.Sprintf("HeadTime: want %v, got %v", want.HeadTime, got.HeadTime))
	}
	check("EventCount", want.EventCount, got.EventCount)
	return d
}

// diffRefs lists the cached facts of refs that the full fold want contradicts.
func diffRefs(want *State, refs *storedRefs) []string {
	var d []string
	for id, got := range refs.disbursements.m {
		if w := want.disbursements[id]; !reflect.DeepEqual(w, got) {
			d = append(d, fmt.Sprintf("cached disbursement %s: want %+v, got %+v", id, w, got))
		}
	}
	for k, got := range refs.vouchers.m {
		if _, w := want.vouchers[k]; w != got {
			d = append(d, fmt.Sprintf("cached voucher %x: recorded %v, cache says %v", k, w, got))
		}
	}
	if n := refs.disbursements.len(); n > refs.disbursements.max {
		d = append(d, fmt.Sprintf("%d disbursements cached, more than %d", n, refs.disbursements.max))
	}
	if n := refs.vouchers.len(); n > refs.vouchers.max {
		d = append(d, fmt.Sprintf("%d vouchers cached, more than %d", n, refs.vouchers.max))
	}
	return d
}

func dumpLines(s *State) string {
	out := "{"
	for l, b := range s.lines {
		out += fmt.Sprintf(" %s:%+v", l.ID(), *b)
	}
	return out + " }"
}

// eventually polls cond until it holds or timeout passes: the bounded wait for
// asynchronous results (never a bare sleep).
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}
