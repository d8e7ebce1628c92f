package demo

import (
	"context"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vnntp/ledger/internal/storetest"
	"github.com/vnntp/ledger/ledger"
)

// testClock is the fixed recording time of the pure fold; recording times do not enter
// any figure.
var testClock = time.Date(2024, time.June, 30, 8, 0, 0, 0, time.UTC)

// run feeds the steps through a ledger.State the way the write path does (Validate, then
// Decide, then Apply at the next position) and returns the final state and every recorded
// event; t fails unless each step gets its wanted outcome. after, if set, is called after
// each step with the state.
func run(t *testing.T, steps []Step, after func(name string, st *ledger.State)) (*ledger.State, []*ledger.Event) {
	t.Helper()
	st := &ledger.State{}
	ids := map[string]uuid.UUID{}
	var events []*ledger.Event
	for _, s := range steps {
		cmd := s.Command
		if s.RefStep != "" {
			id, ok := ids[s.RefStep]
			if !ok {
				t.Fatalf("step %q: RefStep %q has no event before it", s.Name, s.RefStep)
			}
			cmd = WithRef(cmd, id)
		}
		err := cmd.Validate()
		var (
			typ  ledger.EventType
			date ledger.Date
			data ledger.EventData
		)
		if err == nil {
			typ, date, data, err = st.Decide(cmd)
		}
		if got := ledger.Code(err); got != s.WantCode {
			t.Fatalf("step %q: code %q, want %q (err: %v)", s.Name, got, s.WantCode, err)
		}
		if err != nil {
			continue
		}
		if date == 0 {
			t.Fatalf("step %q: no effective date; the sequencer would use the recording day", s.Name)
		}
		e := &ledger.Event{Position: st.Head + 1, ID: uuid.Must(uuid.NewV7()), Type: typ, EffectiveDate: date,
			RecordedAt: testClock, Data: data, PrevHash: st.HeadHash}
		e.Hash, _ = ledger.ChainHash(nil, e.PrevHash, e)
		st.Apply(e)
		ids[s.Name] = e.ID
		events = append(events, e)
		if after != nil {
			after(s.Name, st)
		}
	}
	return st, events
}

// fold replays the events with an effective date ≤ asOf, in position order, into a new
// State: the report "as of" a business date.
func fold(events []*ledger.Event, asOf ledger.Date) *ledger.State {
	st := &ledger.State{}
	for _, e := range events {
		if e.EffectiveDate > asOf {
			continue
		}
		c := *e
		c.Position = st.Head + 1
		c.PrevHash = st.HeadHash
		st.Apply(&c)
	}
	return st
}

// filter selects lines of a scope; empty fields select everything.
type filter struct {
	unit    string // unit subtree
	notIn   []string
	project string // project subtree
	source  string
	year    int
	budget  string // central, local, other
	partner *bool  // counterpart flag
}

// sum returns the plan and net disbursed of the lines f selects (docs/domain.md §6: transfers
// inside the scope cancel out because both their lines are summed).
func sum(st *ledger.State, f filter) (plan, disbursed int64) {
	c := &st.Catalog
	st.Lines(func(b *ledger.LineBalance) {
		l := b.Line
		if f.unit != "" && !c.IsUnitWithin(l.Unit, f.unit) {
			return
		}
		for _, u := range f.notIn {
			if c.IsUnitWithin(l.Unit, u) {
				return
			}
		}
		if f.project != "" && !c.IsProjectWithin(l.Program, l.Project, f.project) {
			return
		}
		if f.source != "" && l.Source != f.source {
			return
		}
		if f.year != 0 && l.Year != f.year {
			return
		}
		src := c.Sources[l.Source]
		if f.budget != "" && src.Budget != f.budget {
			return
		}
		if f.partner != nil && src.Counterpart != *f.partner {
			return
		}
		plan += b.Plan()
		disbursed += b.NetDisbursed()
	})
	return plan, disbursed
}

// rate returns disbursed / plan in hundredths of a percent, half-up.
func rate(disbursed, plan int64) int64 {
	return (disbursed*10000*2 + plan) / (2 * plan)
}

// bn converts centi-billions (0.01 tỷ đồng, the precision of the C1 report) to đồng.
func bn(centi int64) int64 { return centi * centiBillion }

func check(t *testing.T, what string, got, want int64) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %d, want %d", what, got, want)
	}
}

func TestStepsAreDeterministicAndNamedOnce(t *testing.T) {
	a, b := Steps(), Steps()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two calls of Steps differ")
	}
	names := map[string]bool{}
	vouchers := map[ledger.Voucher]string{}
	refused := 0
	for _, s := range a {
		if names[s.Name] {
			t.Errorf("step name %q used twice", s.Name)
		}
		names[s.Name] = true
		if s.RefStep != "" && !names[s.RefStep] {
			t.Errorf("step %q refers to %q, which is not before it", s.Name, s.RefStep)
		}
		if s.WantCode != "" {
			refused++
		}
		var v ledger.Voucher
		switch c := s.Command.(type) {
		case *ledger.Disburse:
			v = c.Voucher
			if c.Voucher.Date != c.EffectiveDate {
				t.Errorf("step %q: voucher dated %s, effective %s", s.Name, c.Voucher.Date, c.EffectiveDate)
			}
		case *ledger.SettleAdvance:
			v = c.Voucher
		default:
			continue
		}
		if other, dup := vouchers[v]; dup {
			t.Errorf("steps %q and %q share voucher %+v", other, s.Name, v)
		}
		vouchers[v] = s.Name
	}
	// C2's over-limit disbursement; C3's closed-unit disbursement, three handovers, the
	// payment after its deadline and the back-dated payment; C4's advance over the limit
	// and its second contract.
	if refused != 9 {
		t.Errorf("%d refused steps, want 9", refused)
	}
}

// TestC1 checks every figure of docs/domain.md §7, case C1, as of 31/05/2024, and that the
// June 2024 disbursements count only after that date.
func TestC1(t *testing.T) {
	_, events := run(t, Steps(), nil)
	st := fold(events, C1AsOf)
	yes, no := true, false

	// The holders' table: plan and disbursed by plan year, in centi-billions.
	others := filter{unit: unitBacKan, notIn: []string{unitNganSon, unitPacNam}}
	for _, h := range []struct {
		name       string
		f          filter
		plan, paid [3]int64
	}{
		{"Ngân Sơn", filter{unit: unitNganSon}, [3]int64{7000, 7200, 7794}, [3]int64{6800, 6000, 1400}},
		{"Pác Nặm", filter{unit: unitPacNam}, [3]int64{7400, 7600, 8218}, [3]int64{7200, 6300, 1500}},
		{"other units", others, [3]int64{9600, 10200, 11068}, [3]int64{9000, 8000, 1693}},
		{"province", filter{unit: unitBacKan}, [3]int64{24000, 25000, 27080}, [3]int64{23000, 20300, 4593}},
	} {
		var planTotal, paidTotal int64
		for i, y := range c1Years {
			f := h.f
			f.year = y
			p, d := sum(st, f)
			check(t, h.name+" plan "+strconv.Itoa(y), p, bn(h.plan[i]))
			check(t, h.name+" disbursed "+strconv.Itoa(y), d, bn(h.paid[i]))
			planTotal += p
			paidTotal += d
		}
		p, d := sum(st, h.f)
		check(t, h.name+" plan total", p, planTotal)
		check(t, h.name+" disbursed total", d, paidTotal)
	}
	for _, h := range []struct {
		name             string
		f                filter
		plan, paid, rate int64
	}{
		{"Ngân Sơn", filter{unit: unitNganSon}, 21994, 14200, 6456},
		{"Pác Nặm", filter{unit: unitPacNam}, 23218, 15000, 6461},
		{"other units", others, 30868, 18693, 6056},
		{"province", filter{unit: unitBacKan}, 76080, 47893, 6295},
		{"plan year 2022", filter{unit: unitBacKan, year: 2022}, 24000, 23000, 9583},
		{"plan year 2023", filter{unit: unitBacKan, year: 2023}, 25000, 20300, 8120},
		{"plan year 2024", filter{unit: unitBacKan, year: 2024}, 27080, 4593, 1696},
	} {
		p, d := sum(st, h.f)
		check(t, h.name+" plan", p, bn(h.plan))
		check(t, h.name+" disbursed", d, bn(h.paid))
		check(t, h.name+" rate ×100", rate(d, p), h.rate)
	}
	// The published totals, in đồng.
	p, d := sum(st, filter{unit: unitBacKan})
	check(t, "Bắc Kạn plan (đồng)", p, 760_800_000_000)
	check(t, "Bắc Kạn disbursed (đồng)", d, 478_930_000_000)

	// Poor districts together.
	pn, dn := sum(st, filter{unit: unitNganSon})
	pp, dp := sum(st, filter{unit: unitPacNam})
	check(t, "poor districts plan", pn+pp, bn(45212))
	check(t, "poor districts disbursed", dn+dp, bn(29200))
	check(t, "poor districts rate ×100", rate(dn+dp, pn+pp), 6458)

	// By project, the two poor districts: plan / disbursed per district and the rate of both.
	for _, r := range []struct {
		name                     string
		project, source          string
		nsPlan, nsPaid           int64
		pnPlan, pnPaid, bothRate int64
	}{
		{"DA1 investment", "DA1", srcCentralInvestment, 15000, 10500, 16000, 11000, 6935},
		{"DA1 maintenance", "DA1", srcCentralRecurrent, 500, 400, 500, 400, 8000},
		{"DA2", "DA2", "", 1500, 800, 1600, 900, 5484},
		{"DA3", "DA3", "", 2500, 1400, 2600, 1500, 5686},
		{"DA4", "DA4", "", 1000, 500, 1000, 500, 5000},
		{"DA5", "DA5", "", 1000, 400, 1000, 400, 4000},
		{"DA6", "DA6", "", 200, 100, 218, 100, 4785},
		{"DA7", "DA7", "", 294, 100, 300, 200, 5051},
	} {
		f := filter{unit: unitNganSon, project: r.project, source: r.source}
		p1, d1 := sum(st, f)
		f.unit = unitPacNam
		p2, d2 := sum(st, f)
		check(t, r.name+" Ngân Sơn plan", p1, bn(r.nsPlan))
		check(t, r.name+" Ngân Sơn disbursed", d1, bn(r.nsPaid))
		check(t, r.name+" Pác Nặm plan", p2, bn(r.pnPlan))
		check(t, r.name+" Pác Nặm disbursed", d2, bn(r.pnPaid))
		check(t, r.name+" rate ×100", rate(d1+d2, p1+p2), r.bothRate)
	}
	p1, d1 := sum(st, filter{unit: unitNganSon, project: "DA1"})
	p2, d2 := sum(st, filter{unit: unitPacNam, project: "DA1"})
	check(t, "DA1 across both sources plan", p1+p2, bn(32000))
	check(t, "DA1 across both sources disbursed", d1+d2, bn(22300))
	check(t, "DA1 across both sources rate ×100", rate(d1+d2, p1+p2), 6969)

	// Sources: central + counterpart = total, and the 3 % counterpart check on unrounded
	// integers (docs/domain.md, rule 8).
	central, _ := sum(st, filter{unit: unitBacKan, budget: ledger.BudgetCentral})
	counterpart, _ := sum(st, filter{unit: unitBacKan, partner: &yes})
	notCounterpart, _ := sum(st, filter{unit: unitBacKan, partner: &no})
	check(t, "central plan", central, bn(73864))
	check(t, "counterpart plan", counterpart, bn(2216))
	check(t, "central + counterpart", central+counterpart, bn(76080))
	check(t, "non-counterpart plan", notCounterpart, central)
	if counterpart*100 < 3*central {
		t.Errorf("counterpart %d below 3 %% of central %d", counterpart, central)
	}
	if bn(2215)*100 >= 3*central {
		t.Errorf("22.15 bn must fail the 3 %% check against %d", central)
	}

	// The communes of Pác Nặm hold capital passed down from the district line.
	xp, xd := sum(st, filter{unit: unitXuanLa})
	check(t, "Xuân La plan", xp, bn(150))
	check(t, "Xuân La disbursed", xd, bn(100))

	// The June 2024 disbursements: left out as of 31/05/2024, counted from their dates on.
	late := fold(events, ledger.MakeDate(2024, time.June, 30))
	p, d = sum(late, filter{unit: unitBacKan})
	check(t, "Bắc Kạn plan as of 30/06/2024", p, bn(76080))
	check(t, "Bắc Kạn disbursed as of 30/06/2024", d, bn(48643))
	var june int
	for _, e := range events {
		if e.Type == ledger.TypeDisbursed && e.EffectiveDate > C1AsOf && e.Data.Line.Unit != unitLangGiang && e.Data.Line.Year < 2025 {
			june++
		}
	}
	if june != len(c1AfterReport) {
		t.Errorf("%d Bắc Kạn disbursements after 31/05/2024, want %d", june, len(c1AfterReport))
	}
}

// TestC2 checks the Lạng Giang figures at 31/12/2023, execution year 2023, and the
// bitemporal view of Dương Đức.
func TestC2(t *testing.T) {
	duongDuc := map[string]int64{}
	watch := map[string]bool{StepDuongDucPayment: true, StepDuongDucReversal: true, StepDuongDucRepayment: true}
	_, events := run(t, Steps(), func(name string, st *ledger.State) {
		if watch[name] {
			_, duongDuc[name] = sum(st, filter{unit: unitDuongDuc})
		}
	})
	// A report at a position just after each step (before the next one is recorded).
	check(t, "Dương Đức net after payment", duongDuc[StepDuongDucPayment], 120_000_000)
	check(t, "Dương Đức net after reversal", duongDuc[StepDuongDucReversal], 108_000_000)
	check(t, "Dương Đức net after re-payment", duongDuc[StepDuongDucRepayment], 120_000_000)

	end2022 := fold(events, ledger.MakeDate(2022, time.December, 31))
	p, d := sum(end2022, filter{unit: unitLangGiang, year: 2022})
	check(t, "2022 plan", p, 3_400_000_000)
	check(t, "2022 unspent at 31/12/2022", p-d, 1_412_000_000)

	var carried int64
	for _, e := range events {
		if e.Type == ledger.TypeCarriedOver && e.Data.IntoYear == 2023 && e.Data.Line.Unit == unitLangGiang {
			carried += e.Data.Amount
			if e.EffectiveDate != ledger.MakeDate(2023, time.January, 2) {
				t.Errorf("carry-over of %s dated %s, want 2023-01-02", e.Data.Line.ID(), e.EffectiveDate)
			}
		}
	}
	check(t, "carried over into 2023", carried, 1_412_000_000)

	st := fold(events, C2AsOf)
	_, d2023 := sum(st, filter{unit: unitLangGiang, year: 2022})
	carriedPaid := d2023 - d // disbursed from the carried lines with a date in 2023
	check(t, "carried-over capital disbursed in 2023", carriedPaid, 1_300_000_000)
	check(t, "carried-over rate ×100", rate(carriedPaid, carried), 9207)

	own, ownPaid := sum(st, filter{unit: unitLangGiang, year: 2023})
	check(t, "2023 plan", own, 4_478_000_000)
	check(t, "2023 disbursed", ownPaid, 2_800_000_000)
	check(t, "2023 rate ×100", rate(ownPaid, own), 6253)
	check(t, "combined plan", own+carried, 5_890_000_000)
	check(t, "combined disbursed", ownPaid+carriedPaid, 4_100_000_000)
	check(t, "combined rate ×100", rate(ownPaid+carriedPaid, own+carried), 6961)

	for _, p := range c2Projects {
		plan, _ := sum(st, filter{unit: unitLangGiang, year: 2023, project: p.code})
		check(t, "2023 plan of "+p.code, plan, p.plan2023*million)
	}
	for _, c := range []struct {
		unit string
		want int64
	}{{unitXuanHuong, 120_000_000}, {unitDuongDuc, 120_000_000}, {unitHuongSon, 130_000_000}} {
		plan, paid := sum(st, filter{unit: c.unit})
		check(t, unitName(c.unit)+" plan", plan, c.want)
		check(t, unitName(c.unit)+" disbursed", paid, c.want)
	}
	// The district's own DA3 line keeps what it did not pass down.
	da3 := st.Line(gnbv(2023, srcCentralRecurrent, "DA3", unitLangGiang))
	check(t, "district DA3 2023 plan", da3.Plan(), 1_480_000_000)
}

// memStore is an in-memory ledger.WriterSession, so that Load runs through a real sequencer
// without a database.
type memStore struct {
	mu     sync.Mutex
	events []*ledger.Event
	keys   []ledger.KeyRecord
}

func (m *memStore) Append(_ context.Context, events []*ledger.Event, keys []ledger.KeyRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, events...)
	m.keys = append(m.keys, keys...)
	return nil
}

func (m *memStore) ReadFrom(_ context.Context, after int64, fn func(*ledger.Event) error) error {
	m.mu.Lock()
	events := m.events
	m.mu.Unlock()
	for _, e := range events {
		if e.Position > after {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memStore) ReadKeys(_ context.Context, after int64, fn func(ledger.KeyRecord) error) error {
	m.mu.Lock()
	keys := m.keys
	m.mu.Unlock()
	for _, k := range keys {
		if k.First > after {
			if err := fn(k); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memStore) LookupKeys(_ context.Context, keys []string) ([]ledger.KeyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ledger.KeyRecord
	for _, k := range m.keys {
		if slices.Contains(keys, k.Key) {
			out = append(out, k)
		}
	}
	return out, nil
}

func (m *memStore) LookupVouchers(_ context.Context, vouchers []ledger.Voucher) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return storetest.VoucherIdentities(m.events, vouchers), nil
}

func (m *memStore) ReadVouchers(_ context.Context, fn func(string) error) error {
	m.mu.Lock()
	events := m.events
	m.mu.Unlock()
	for _, e := range events {
		if v := e.Data.Voucher; v != nil {
			if err := fn(v.Identity()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memStore) LookupDisbursements(_ context.Context, ids []uuid.UUID) ([]ledger.DisbursementRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return storetest.DisbursementRecords(m.events, ids), nil
}

// TestLoad loads the scenario through a sequencer and checks that the ledger it leaves
// holds the figures of the pure fold.
func TestLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store := &memStore{}
	seq := ledger.NewSequencer(ledger.SequencerConfig{Store: store})
	if err := seq.Load(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- seq.Run(ctx) }()
	if err := Load(ctx, seq.Submit); err != nil {
		t.Fatal(err)
	}
	_, want := run(t, Steps(), nil)
	if int64(len(want)) != seq.Head().Position {
		t.Fatalf("sequencer head %d, want %d events", seq.Head().Position, len(want))
	}
	st := fold(store.events, C1AsOf)
	p, d := sum(st, filter{unit: unitBacKan})
	check(t, "loaded Bắc Kạn plan", p, 760_800_000_000)
	check(t, "loaded Bắc Kạn disbursed", d, 478_930_000_000)
	_, dd := sum(fold(store.events, C2AsOf), filter{unit: unitDuongDuc})
	check(t, "loaded Dương Đức disbursed", dd, 120_000_000)
	cancel()
	<-done
}

// TestLoadNamesTheFailedStep checks that a refused command of a batch is reported by the
// name of its step.
func TestLoadNamesTheFailedStep(t *testing.T) {
	const failed = 2
	submit := func(context.Context, *ledger.Request) (*ledger.Result, error) {
		return &ledger.Result{Err: &ledger.Error{Code: ledger.CodeUnknownReference, Field: "commands[2].parent", Message: "no parent"}}, nil
	}
	err := Load(context.Background(), submit)
	want := Steps()[failed].Name
	if err == nil || !strings.Contains(err.Error(), strconv.Quote(want)) {
		t.Fatalf("Load error %v, want it to name step %q", err, want)
	}
}
