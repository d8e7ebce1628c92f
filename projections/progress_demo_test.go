package projections

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vnntp/ledger/demo"
	"github.com/vnntp/ledger/ledger"
)

// Demo ids (demo/catalog.go keeps them unexported; they are the GSO codes of the time).
const (
	demoProgram   = "GNBV"
	unitBacKan    = "06"
	unitPacNam    = "060"
	unitNganSon   = "062"
	unitLangGiang = "217"
	unitDuongDuc  = "07408"
	srcInvestment = "NSTW-DTPT"
	srcRecurrent  = "NSTW-SN"
	centiBillion  = 10_000_000 // 0.01 tỷ đồng, the precision of the C1 tables
)

// testClock is the recording time of the pure fold; it enters no figure.
var testClock = time.Date(2024, time.June, 30, 8, 0, 0, 0, time.UTC)

// runSteps feeds steps through a ledger.State the way the write path does (Validate,
// Decide, Apply at the next position, chained hash) and returns the recorded events; t
// fails unless each step gets its wanted outcome. It is demo/demo_test.go's run.
func runSteps(t *testing.T, steps []demo.Step) []*ledger.Event {
	t.Helper()
	st := &ledger.State{}
	ids := map[string]uuid.UUID{}
	var events []*ledger.Event
	for _, s := range steps {
		cmd := s.Command
		if s.RefStep != "" {
			cmd = demo.WithRef(cmd, ids[s.RefStep])
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
		e := &ledger.Event{Position: st.Head + 1, ID: uuid.Must(uuid.NewV7()), Type: typ, EffectiveDate: date,
			RecordedAt: testClock, Data: data, PrevHash: st.HeadHash}
		e.Hash, _ = ledger.ChainHash(nil, e.PrevHash, e)
		st.Apply(e)
		ids[s.Name] = e.ID
		events = append(events, e)
	}
	return events
}

func demoProgress(t *testing.T, steps []demo.Step) (*Progress, []*ledger.Event) {
	t.Helper()
	events := runSteps(t, steps)
	p := &Progress{}
	p.Apply(events)
	return p, events
}

func mustQuery(t *testing.T, p *Progress, q Query) Report {
	t.Helper()
	r, err := p.Query(q)
	if err != nil {
		t.Fatalf("query %+v: %v", q, err)
	}
	return r
}

// rowOf returns the row with key, or fails.
func rowOf(t *testing.T, r Report, key ...string) Row {
	t.Helper()
	for _, row := range r.Rows {
		if len(row.Key) == len(key) && equalStrings(row.Key, key) {
			return row
		}
	}
	t.Fatalf("no row %v in %d rows", key, len(r.Rows))
	return Row{}
}

func equalStrings(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// checkAmounts compares plan and disbursed (in đồng) and the printed rate ("" for none).
func checkAmounts(t *testing.T, what string, a Amounts, plan, disbursed int64, rate string) {
	t.Helper()
	if a.Plan != plan || a.Disbursed != disbursed || a.Available != plan-disbursed {
		t.Errorf("%s: plan %d disbursed %d available %d, want %d / %d / %d", what, a.Plan, a.Disbursed, a.Available,
			plan, disbursed, plan-disbursed)
	}
	got := ""
	if a.Rate != nil {
		got = a.Rate.String()
	}
	if got != rate {
		t.Errorf("%s: rate %q, want %q", what, got, rate)
	}
}

func rateString(disbursed, plan int64) string {
	if r := RateOf(disbursed, plan); r != nil {
		return r.String()
	}
	return ""
}

// TestC1 checks the Bắc Kạn figures of docs/domain.md §7 (C1) as of 31/05/2024.
func TestC1(t *testing.T) {
	p, _ := demoProgress(t, demo.StepsBeforeC4())
	base := Query{Program: demoProgram, Unit: unitBacKan, AsOf: demo.C1AsOf}

	// Province total: the published 478.93 / 760.80 = 62.95 %.
	r := mustQuery(t, p, base)
	checkAmounts(t, "Bắc Kạn", r.Total.Amounts, 760_800_000_000, 478_930_000_000, "62.95")

	// The holders' table by district × plan year (centi-billions).
	byYear := base
	byYear.GroupBy = []Dimension{GroupDistrict, GroupYear}
	r = mustQuery(t, p, byYear)
	for _, h := range []struct {
		unit       string
		plan, paid [3]int64
	}{
		{unitNganSon, [3]int64{7000, 7200, 7794}, [3]int64{6800, 6000, 1400}},
		{unitPacNam, [3]int64{7400, 7600, 8218}, [3]int64{7200, 6300, 1500}},
	} {
		for i, y := range []string{"2022", "2023", "2024"} {
			row := rowOf(t, r, h.unit, y)
			checkAmounts(t, h.unit+" "+y, row.Amounts, h.plan[i]*centiBillion, h.paid[i]*centiBillion,
				rateString(h.paid[i], h.plan[i]))
		}
	}
	// Others by year = province − the two poor districts.
	others := [3][2]int64{{9600, 9000}, {10200, 8000}, {11068, 1693}}
	for i, y := range []string{"2022", "2023", "2024"} {
		var plan, paid int64
		for _, row := range r.Rows {
			if row.Key[1] == y && row.Key[0] != unitNganSon && row.Key[0] != unitPacNam {
				plan += row.Plan
				paid += row.Disbursed
			}
		}
		if plan != others[i][0]*centiBillion || paid != others[i][1]*centiBillion {
			t.Errorf("other units %s: %d / %d, want %d / %d", y, plan, paid, others[i][0]*centiBillion, others[i][1]*centiBillion)
		}
	}

	// By district: the rates of the table.
	byDistrict := base
	byDistrict.GroupBy = []Dimension{GroupDistrict}
	r = mustQuery(t, p, byDistrict)
	ns, pn := rowOf(t, r, unitNganSon), rowOf(t, r, unitPacNam)
	checkAmounts(t, "Ngân Sơn", ns.Amounts, 21994*centiBillion, 14200*centiBillion, "64.56")
	checkAmounts(t, "Pác Nặm", pn.Amounts, 23218*centiBillion, 15000*centiBillion, "64.61")
	if ns.Name[0] != "Huyện Ngân Sơn" {
		t.Errorf("Ngân Sơn row named %q", ns.Name[0])
	}
	if len(r.Rows) != 8 {
		t.Errorf("%d district rows, want 8", len(r.Rows))
	}
	var otherPlan, otherPaid int64
	for _, row := range r.Rows {
		if row.Key[0] != unitNganSon && row.Key[0] != unitPacNam {
			otherPlan += row.Plan
			otherPaid += row.Disbursed
		}
	}
	checkAmounts(t, "other units", amounts(otherPlan, otherPaid), 30868*centiBillion, 18693*centiBillion, "60.56")
	// Poor districts together: 292.00 / 452.12 = 64.58 %.
	checkAmounts(t, "poor districts", amounts(ns.Plan+pn.Plan, ns.Disbursed+pn.Disbursed), 45212*centiBillion,
		29200*centiBillion, "64.58")

	// By plan year.
	perYear := base
	perYear.GroupBy = []Dimension{GroupYear}
	r = mustQuery(t, p, perYear)
	for _, y := range []struct {
		year       string
		plan, paid int64
		rate       string
	}{{"2022", 24000, 23000, "95.83"}, {"2023", 25000, 20300, "81.20"}, {"2024", 27080, 4593, "16.96"}} {
		checkAmounts(t, "plan year "+y.year, rowOf(t, r, y.year).Amounts, y.plan*centiBillion, y.paid*centiBillion, y.rate)
	}
	one := base
	one.Year = 2023
	checkAmounts(t, "year filter 2023", mustQuery(t, p, one).Total.Amounts, 25000*centiBillion, 20300*centiBillion, "81.20")

	// By project × source in the two poor districts (DA1 investment vs maintenance).
	for _, c := range []struct {
		name            string
		project, source string
		nsPlan, nsPaid  int64
		pnPlan, pnPaid  int64
		bothRate        string
	}{
		{"DA1 investment", "DA1", srcInvestment, 15000, 10500, 16000, 11000, "69.35"},
		{"DA1 maintenance", "DA1", srcRecurrent, 500, 400, 500, 400, "80.00"},
		{"DA2", "DA2", srcRecurrent, 1500, 800, 1600, 900, "54.84"},
		{"DA3", "DA3", srcRecurrent, 2500, 1400, 2600, 1500, "56.86"},
		{"DA4", "DA4", srcRecurrent, 1000, 500, 1000, 500, "50.00"},
		{"DA5", "DA5", srcRecurrent, 1000, 400, 1000, 400, "40.00"},
		{"DA6", "DA6", srcRecurrent, 200, 100, 218, 100, "47.85"},
		{"DA7", "DA7", srcRecurrent, 294, 100, 300, 200, "50.51"},
	} {
		q := Query{GroupBy: []Dimension{GroupProject, GroupSource}, Program: demoProgram, AsOf: demo.C1AsOf, Unit: unitNganSon}
		a := rowOf(t, mustQuery(t, p, q), c.project, c.source)
		q.Unit = unitPacNam
		b := rowOf(t, mustQuery(t, p, q), c.project, c.source)
		checkAmounts(t, c.name+" Ngân Sơn", a.Amounts, c.nsPlan*centiBillion, c.nsPaid*centiBillion, rateString(c.nsPaid, c.nsPlan))
		checkAmounts(t, c.name+" Pác Nặm", b.Amounts, c.pnPlan*centiBillion, c.pnPaid*centiBillion, rateString(c.pnPaid, c.pnPlan))
		checkAmounts(t, c.name+" both", amounts(a.Plan+b.Plan, a.Disbursed+b.Disbursed),
			(c.nsPlan+c.pnPlan)*centiBillion, (c.nsPaid+c.pnPaid)*centiBillion, c.bothRate)
	}
	// DA1 across both sources: by district × project, and by the project filter (subtree).
	q := Query{GroupBy: []Dimension{GroupDistrict, GroupProject}, Program: demoProgram, Unit: unitBacKan, AsOf: demo.C1AsOf}
	r = mustQuery(t, p, q)
	a, b := rowOf(t, r, unitNganSon, "DA1"), rowOf(t, r, unitPacNam, "DA1")
	checkAmounts(t, "DA1 both sources", amounts(a.Plan+b.Plan, a.Disbursed+b.Disbursed), 32000*centiBillion, 22300*centiBillion, "69.69")
	da1 := Query{GroupBy: []Dimension{GroupSubproject}, Project: "DA1", Unit: unitNganSon, AsOf: demo.C1AsOf}
	r = mustQuery(t, p, da1)
	checkAmounts(t, "DA1 subtree Ngân Sơn", r.Total.Amounts, a.Plan, a.Disbursed, rateString(a.Disbursed, a.Plan))
	if len(r.Rows) != 1 || r.Rows[0].Key[0] != "DA1.TDA1" {
		t.Errorf("DA1 sub-projects of Ngân Sơn: %+v", r.Rows)
	}

	// Sources: central 738.64 + counterpart 22.16 = 760.80.
	bySource := base
	bySource.GroupBy = []Dimension{GroupSource}
	r = mustQuery(t, p, bySource)
	checkAmounts(t, "counterpart source", rowOf(t, r, "NSDP-DU").Amounts, 2216*centiBillion, rowOf(t, r, "NSDP-DU").Disbursed,
		rateString(rowOf(t, r, "NSDP-DU").Disbursed, 2216*centiBillion))

	// June 2024 disbursements: counted from their dates on.
	june := base
	june.AsOf = ledger.MakeDate(2024, time.June, 30)
	checkAmounts(t, "Bắc Kạn as of 30/06/2024", mustQuery(t, p, june).Total.Amounts, 76080*centiBillion, 48643*centiBillion,
		rateString(48643, 76080))

	// The communes of Pác Nặm, by commune: the district's own lines show as the district.
	communes := Query{GroupBy: []Dimension{GroupCommune}, Unit: unitPacNam, AsOf: demo.C1AsOf}
	r = mustQuery(t, p, communes)
	checkAmounts(t, "Xuân La", rowOf(t, r, "01873").Amounts, 150*centiBillion, 100*centiBillion, "66.67")
	checkAmounts(t, "Pác Nặm by commune", r.Total.Amounts, 23218*centiBillion, 15000*centiBillion, "64.61")
	if row := rowOf(t, r, unitPacNam); row.Name[0] != "Huyện Pác Nặm" {
		t.Errorf("the district's own row is named %q", row.Name[0])
	}
}

// TestCounterpart checks docs/domain.md, rule 8, on C1: 22.16 bn against 738.64 bn passes;
// in a variant where 0.01 bn of counterpart funds is cancelled, 22.15 bn displays as
// 3.00 % and fails.
func TestCounterpart(t *testing.T) {
	steps := demo.StepsBeforeC4()
	p, _ := demoProgress(t, steps)
	q := CounterpartQuery{Program: demoProgram, Unit: unitBacKan, FromYear: 2022, ToYear: 2024, AsOf: demo.C1AsOf}
	r, err := p.Counterpart(q)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rows) != 1 {
		t.Fatalf("%d rows, want 1: %+v", len(r.Rows), r.Rows)
	}
	row := r.Rows[0]
	if row.Province != unitBacKan || row.Counterpart != 2216*centiBillion || row.Central != 73864*centiBillion ||
		row.Required != 22_159_200_000 || !row.Pass || row.Rate.String() != "3.00" {
		t.Errorf("Bắc Kạn: %+v (rate %s)", row, row.Rate)
	}

	variant := append(steps, demo.Step{Name: "variant/cancel-counterpart", Command: &ledger.Cancel{
		Line:   ledger.Line{Program: demoProgram, Year: 2024, Source: "NSDP-DU", Project: "DA3", Unit: "066"},
		Amount: centiBillion, EffectiveDate: ledger.MakeDate(2024, time.May, 30), Decision: "QĐ thu hồi vốn đối ứng (variant)"}})
	pv, _ := demoProgress(t, variant)
	r, err = pv.Counterpart(q)
	if err != nil {
		t.Fatal(err)
	}
	row = r.Rows[0]
	if row.Counterpart != 2215*centiBillion || row.Pass || row.Rate.String() != "3.00" || row.Required != 22_159_200_000 {
		t.Errorf("variant: %+v (rate %s), want 22.15 bn failing at a displayed 3.00", row, row.Rate)
	}
	// Before the cancellation's position the variant still passes.
	q.At = r.Position - 1
	r, err = pv.Counterpart(q)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Rows[0].Pass {
		t.Errorf("variant before the cancellation: %+v", r.Rows[0])
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil || back["head_hash"] == nil {
		t.Errorf("counterpart JSON %s: %v", b, err)
	}
}

// TestC2 checks Lạng Giang, execution year 2023, and the bitemporal view of Dương Đức.
func TestC2(t *testing.T) {
	p, events := demoProgress(t, demo.StepsBeforeC4())
	q := Query{Basis: BasisExecutionYear, Year: 2023, Unit: unitLangGiang, AsOf: demo.C2AsOf}
	r := mustQuery(t, p, q)
	checkAmounts(t, "carried in", *r.Total.CarriedIn, 1_412_000_000, 1_300_000_000, "92.07")
	checkAmounts(t, "own 2023", *r.Total.Own, 4_478_000_000, 2_800_000_000, "62.53")
	checkAmounts(t, "combined", r.Total.Amounts, 5_890_000_000, 4_100_000_000, "69.61")

	// By plan year, the carried part sits on 2022 and the own part on 2023.
	q.GroupBy = []Dimension{GroupYear}
	r = mustQuery(t, p, q)
	checkAmounts(t, "2022 lines", rowOf(t, r, "2022").Amounts, 1_412_000_000, 1_300_000_000, "92.07")
	checkAmounts(t, "2023 lines", rowOf(t, r, "2023").Amounts, 4_478_000_000, 2_800_000_000, "62.53")

	// Plan-year basis of 2023 by project.
	byProject := Query{GroupBy: []Dimension{GroupProject}, Year: 2023, Unit: unitLangGiang, AsOf: demo.C2AsOf}
	r = mustQuery(t, p, byProject)
	for code, plan := range map[string]int64{"DA2": 1_200_000_000, "DA3": 1_850_000_000, "DA4": 620_000_000,
		"DA6": 308_000_000, "DA7": 500_000_000} {
		if got := rowOf(t, r, code).Plan; got != plan {
			t.Errorf("2023 plan of %s = %d, want %d", code, got, plan)
		}
	}

	// Bitemporal: the Dương Đức payment, reversal and re-payment, found by scanning.
	var payment, reversal, repayment int64
	for _, e := range events {
		if l := e.Data.Line; l != nil && l.Unit == unitDuongDuc {
			switch {
			case e.Type == ledger.TypeDisbursed && payment == 0:
				payment = e.Position
			case e.Type == ledger.TypeReversed:
				reversal = e.Position
			case e.Type == ledger.TypeDisbursed:
				repayment = e.Position
			}
		}
	}
	if payment == 0 || reversal <= payment || repayment <= reversal {
		t.Fatalf("positions payment %d, reversal %d, re-payment %d", payment, reversal, repayment)
	}
	dd := Query{Unit: unitDuongDuc, AsOf: demo.C2AsOf}
	for _, c := range []struct {
		at   int64
		want int64
	}{{payment - 1, 0}, {payment, 120_000_000}, {reversal - 1, 120_000_000}, {reversal, 108_000_000},
		{repayment - 1, 108_000_000}, {repayment, 120_000_000}, {0, 120_000_000}} {
		dd.At = c.at
		r := mustQuery(t, p, dd)
		if r.Total.Disbursed != c.want || r.Total.Plan != 120_000_000 {
			t.Errorf("Dương Đức at %d: plan %d disbursed %d, want 120000000 / %d", c.at, r.Total.Plan, r.Total.Disbursed, c.want)
		}
		if c.at != 0 && (r.Position != c.at || r.HeadHash != events[c.at-1].Hash) {
			t.Errorf("report at %d stamped %d %x", c.at, r.Position, r.HeadHash)
		}
	}
	// As of the reversal's eve, at the head: the reversal is dated 18/12, so 120,000,000.
	dd.At, dd.AsOf = 0, ledger.MakeDate(2023, time.December, 17)
	if got := mustQuery(t, p, dd).Total.Disbursed; got != 120_000_000 {
		t.Errorf("Dương Đức as of 17/12/2023: %d", got)
	}
}

// TestReportJSON pins the wire shape of a report, and that a report at a position stays
// byte-identical after later events.
func TestReportJSON(t *testing.T) {
	events := runSteps(t, demo.StepsBeforeC4())
	p := &Progress{}
	p.Apply(events[:len(events)-1])
	q := Query{GroupBy: []Dimension{GroupCommune}, Basis: BasisExecutionYear, Year: 2023, Unit: unitLangGiang,
		AsOf: demo.C2AsOf, At: int64(len(events) - 1)}
	before, err := json.Marshal(mustQuery(t, p, q))
	if err != nil {
		t.Fatal(err)
	}
	p.Apply(events[len(events)-2:]) // one already applied, one new
	after, _ := json.Marshal(mustQuery(t, p, q))
	if string(before) != string(after) {
		t.Fatalf("report at %d changed after a later event:\n%s\n%s", q.At, before, after)
	}
	r := mustQuery(t, p, Query{Unit: unitDuongDuc, AsOf: demo.C2AsOf, At: int64(len(events))})
	r.HeadHash = [32]byte{0xab}
	got, _ := json.Marshal(r)
	want := `{"as_of":"2023-12-31","position":` + itoa(len(events)) + `,"head_hash":"ab` + zeros(62) +
		`","basis":"plan_year","year":null,"group_by":[],"rows":[],"total":{"key":[],"name":[],` +
		`"plan":120000000,"disbursed":120000000,"available":0,"rate_percent":100.00}}`
	if string(got) != want {
		t.Errorf("JSON\n got %s\nwant %s", got, want)
	}
	r = mustQuery(t, p, Query{Basis: BasisExecutionYear, Year: 2023, Unit: unitDuongDuc, GroupBy: []Dimension{GroupSource}})
	got, _ = json.Marshal(r.Rows[0])
	want = `{"key":["NSTW-SN"],"name":["Ngân sách trung ương - vốn sự nghiệp"],"plan":120000000,"disbursed":120000000,` +
		`"available":0,"rate_percent":100.00,"own":{"plan":120000000,"disbursed":120000000,"available":0,"rate_percent":100.00},` +
		`"carried_in":{"plan":0,"disbursed":0,"available":0,"rate_percent":null}}`
	if string(got) != want {
		t.Errorf("execution-year row JSON\n got %s\nwant %s", got, want)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

// TestRateOf checks the integer rounding at its edges.
func TestRateOf(t *testing.T) {
	for _, c := range []struct {
		disbursed, plan int64
		want            string
	}{
		{478_930_000_000, 760_800_000_000, "62.95"},
		{1, 3, "33.33"}, {2, 3, "66.67"}, {1, 8, "12.50"}, {1, 80000, "0.00"}, {1, 20000, "0.01"},
		{-1, 20000, "-0.01"}, {0, 5, "0.00"}, {5, 5, "100.00"}, {3, 2, "150.00"},
		{22_150_000_000, 738_640_000_000, "3.00"},
		{1 << 62, 1 << 62, "100.00"}, {math_MaxInt64, math_MaxInt64 - 1, "100.00"},
		{5, 0, ""}, {5, -1, ""}, {math_MaxInt64, 1, ""},
	} {
		if got := rateString(c.disbursed, c.plan); got != c.want {
			t.Errorf("RateOf(%d, %d) = %q, want %q", c.disbursed, c.plan, got, c.want)
		}
	}
}

const math_MaxInt64 = 1<<63 - 1

// TestQueryErrors checks the refusals and their codes.
func TestQueryErrors(t *testing.T) {
	p, _ := demoProgress(t, demo.StepsBeforeC4())
	head, _ := p.Head()
	for _, c := range []struct {
		q     Query
		code  string
		field string
	}{
		{Query{GroupBy: []Dimension{"district", "project", "year"}}, ledger.CodeInvalidArgument, "group_by"},
		{Query{GroupBy: []Dimension{"county"}}, ledger.CodeInvalidArgument, "group_by"},
		{Query{GroupBy: []Dimension{"year", "year"}}, ledger.CodeInvalidArgument, "group_by"},
		{Query{Basis: "cash"}, ledger.CodeInvalidArgument, "basis"},
		{Query{Basis: BasisExecutionYear}, ledger.CodeInvalidArgument, "year"},
		{Query{Year: 12}, ledger.CodeInvalidArgument, "year"},
		{Query{At: -1}, ledger.CodeInvalidArgument, "at"},
		{Query{At: head + 1}, ledger.CodeInvalidArgument, "at"},
		{Query{Unit: "99"}, ledger.CodeUnknownReference, "unit"},
		{Query{Unit: unitDuongDuc, At: 3}, ledger.CodeUnknownReference, "unit"}, // registered later
		{Query{Project: "DA9"}, ledger.CodeUnknownReference, "project"},
		{Query{Source: "X"}, ledger.CodeUnknownReference, "source"},
		{Query{Program: "NTM"}, ledger.CodeUnknownReference, "program"},
	} {
		_, err := p.Query(c.q)
		if ledger.Code(err) != c.code || ledger.Field(err) != c.field {
			t.Errorf("%+v: %v, want %s on %s", c.q, err, c.code, c.field)
		}
	}
	if _, err := p.Counterpart(CounterpartQuery{Ratio: Ratio{Num: 3, Den: 0}}); ledger.Code(err) != ledger.CodeInvalidArgument {
		t.Errorf("ratio 3/0: %v", err)
	}
}

// TestC3 checks the figures of case C3 (the 2025 reorganisation) in both views of units,
// and that the restated view follows the reorganisation only from its position on.
func TestC3(t *testing.T) {
	p, events := demoProgress(t, demo.StepsBeforeC4())
	yearEnd := Query{GroupBy: []Dimension{GroupProvince}, Year: 2025, AsOf: demo.C3YearEnd}
	r := mustQuery(t, p, yearEnd)
	checkAmounts(t, "Bắc Kạn as recorded", rowOf(t, r, demo.UnitBacKan).Amounts, 4_500_000_000, 4_500_000_000, "100.00")
	checkAmounts(t, "Thái Nguyên as recorded", rowOf(t, r, demo.UnitThaiNguyen).Amounts, 6_700_000_000, 5_600_000_000, "83.58")
	checkAmounts(t, "total as recorded", r.Total.Amounts, 11_200_000_000, 10_100_000_000, "90.18")

	restated := yearEnd
	restated.Units = UnitsCurrent
	r = mustQuery(t, p, restated)
	if len(r.Rows) != 1 || r.Units != UnitsCurrent {
		t.Errorf("restated by province: %d rows, view %q", len(r.Rows), r.Units)
	}
	checkAmounts(t, "Thái Nguyên restated", rowOf(t, r, demo.UnitThaiNguyen).Amounts, 11_200_000_000, 10_100_000_000, "90.18")
	byCommune := restated
	byCommune.GroupBy, byCommune.Unit = []Dimension{GroupCommune}, demo.UnitThaiNguyen
	r = mustQuery(t, p, byCommune)
	checkAmounts(t, "Thái Nguyên's own lines", rowOf(t, r, demo.UnitThaiNguyen).Amounts, 10_000_000_000, 9_000_000_000, "90.00")
	checkAmounts(t, "new Nghiên Loan", rowOf(t, r, demo.UnitNghienLoanNew).Amounts, 1_200_000_000, 1_100_000_000, "91.67")

	// Before the reorganisation's date, or at a position before it was recorded, the
	// restated view is the recorded one.
	before := Query{GroupBy: []Dimension{GroupDistrict}, Unit: demo.UnitBacKan, Year: 2025, AsOf: demo.C3Before}
	recorded := mustQuery(t, p, before)
	before.Units = UnitsCurrent
	if got := mustQuery(t, p, before); !reflect.DeepEqual(got.Rows, recorded.Rows) {
		t.Errorf("restated on 30/06/2025 differs from as recorded:\n%+v\n%+v", got.Rows, recorded.Rows)
	}
	var reorganised int64
	for _, e := range events {
		if e.Type == ledger.TypeUnitReorganized && reorganised == 0 {
			reorganised = e.Position
		}
	}
	restated.At = reorganised - 1
	if r := mustQuery(t, p, restated); len(r.Rows) != 1 || r.Rows[0].Key[0] != demo.UnitBacKan {
		t.Errorf("restated before the reorganisation was recorded: %+v", r.Rows)
	}
	for _, q := range []Query{{Year: 2025, AsOf: demo.C3Later}, {Year: 2025, AsOf: demo.C3Later, Units: UnitsCurrent}} {
		checkAmounts(t, "total on 30/06/2026 "+string(q.Units), mustQuery(t, p, q).Total.Amounts, 11_200_000_000, 10_900_000_000, "97.32")
	}
}
