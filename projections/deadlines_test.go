package projections

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vnntp/ledger/demo"
	"github.com/vnntp/ledger/ledger"
)

// deadlineSteps is scenario C3's deadline part on units of its own (the reorganisation
// is not needed for it): plan-year-2025 capital of a province's line and a commune's
// line, the program's deadline 31/01/2026, an extension of the province's line to
// 31/12/2026, a late payment on the commune refused (deadline_passed), a back-dated one
// on the province refused (rule 2), and the province paying on after the extension.
func deadlineSteps() []demo.Step {
	d := func(s string) ledger.Date { v, _ := ledger.ParseDate(s, "d"); return v }
	valid := ledger.Validity{ValidFrom: d("2021-01-01")}
	prov := ledger.Line{Program: "GNBV", Year: 2025, Source: "NSTW-DTPT", Project: "DA1", Unit: "19"}
	comm := ledger.Line{Program: "GNBV", Year: 2025, Source: "NSTW-SN", Project: "DA2", Unit: "01882"}
	n := 0
	pay := func(l ledger.Line, amount int64, date string) *ledger.Disburse {
		n++
		return &ledger.Disburse{Line: l, Amount: amount, Kind: ledger.KindPayment, EffectiveDate: d(date), Payee: "Nhà thầu",
			Voucher: ledger.Voucher{Office: "KBNN-TN", Type: "C2-02a", Number: "V" + itoa(n), Date: d(date)}}
	}
	return []demo.Step{
		{Name: "program", Command: &ledger.RegisterProgram{Program: ledger.Program{Code: "GNBV", Name: "Giảm nghèo", Validity: valid}}},
		{Name: "DA1", Command: &ledger.RegisterProject{Project: ledger.Project{Program: "GNBV", Code: "DA1", Name: "Dự án 1", Validity: valid}}},
		{Name: "DA2", Command: &ledger.RegisterProject{Project: ledger.Project{Program: "GNBV", Code: "DA2", Name: "Dự án 2", Validity: valid}}},
		{Name: "inv", Command: &ledger.RegisterSource{Source: ledger.Source{Code: "NSTW-DTPT", Name: "NSTW ĐTPT", Budget: ledger.BudgetCentral,
			Nature: ledger.NatureInvestment, Validity: valid}}},
		{Name: "rec", Command: &ledger.RegisterSource{Source: ledger.Source{Code: "NSTW-SN", Name: "NSTW SN", Budget: ledger.BudgetCentral,
			Nature: ledger.NatureRecurrent, Validity: valid}}},
		{Name: "19", Command: &ledger.RegisterUnit{Unit: ledger.Unit{ID: "19", Code: "19", Name: "Tỉnh Thái Nguyên", Level: ledger.LevelProvince, Validity: valid}}},
		{Name: "060", Command: &ledger.RegisterUnit{Unit: ledger.Unit{ID: "060", Code: "060", Name: "Pác Nặm", Level: ledger.LevelDistrict, Parent: "19", Validity: valid}}},
		{Name: "01882", Command: &ledger.RegisterUnit{Unit: ledger.Unit{ID: "01882", Code: "01882", Name: "Xã Nghiên Loan", Level: ledger.LevelCommune, Parent: "060", Validity: valid}}},
		{Name: "deadline", Command: &ledger.SetDeadline{Program: "GNBV", Year: 2025, Until: d("2026-01-31"),
			LegalBasis: "Luật 58/2024/QH15, Điều 72", EffectiveDate: d("2025-01-02")}},
		{Name: "alloc prov", Command: &ledger.Allocate{Line: prov, Amount: 10_000_000_000, EffectiveDate: d("2025-02-10"), Decision: "QĐ 1"}},
		{Name: "alloc comm", Command: &ledger.Allocate{Line: comm, Amount: 1_200_000_000, EffectiveDate: d("2025-02-10"), Decision: "QĐ 2"}},
		{Name: "pay 1", Command: pay(prov, 4_000_000_000, "2025-05-20")},
		{Name: "back-dated", Command: pay(prov, 1_000_000_000, "2025-02-05"), WantCode: ledger.CodeInsufficientFunds},
		{Name: "pay 2", Command: pay(comm, 500_000_000, "2025-06-10")},
		{Name: "pay 3", Command: pay(prov, 3_000_000_000, "2025-09-15")},
		{Name: "pay 4", Command: pay(comm, 600_000_000, "2025-11-20")},
		{Name: "pay 5", Command: pay(prov, 2_000_000_000, "2025-12-20")},
		{Name: "extension", Command: &ledger.ExtendDeadline{Line: prov, Until: d("2026-12-31"), LegalBasis: "QĐ gia hạn", EffectiveDate: d("2026-01-20")}},
		{Name: "late", Command: pay(comm, 100_000_000, "2026-03-15"), WantCode: ledger.CodeDeadlinePassed},
		{Name: "extended", Command: pay(prov, 800_000_000, "2026-06-30")},
	}
}

// TestLapsingAndNearDeadlines: capital past its line's deadline is reported as lapsing
// (rows and total), only with an as-of date and only when non-zero; the lines whose
// deadline is near are listed biggest first with the days left.
func TestLapsingAndNearDeadlines(t *testing.T) {
	p, _ := demoProgress(t, deadlineSteps())
	d := func(s string) ledger.Date { v, _ := ledger.ParseDate(s, "d"); return v }

	r := mustQuery(t, p, Query{GroupBy: []Dimension{GroupCommune}, AsOf: d("2026-06-30")})
	checkAmounts(t, "total 30/06/2026", r.Total.Amounts, 11_200_000_000, 10_900_000_000, "97.32")
	if r.Total.Lapsing != 100_000_000 {
		t.Errorf("lapsing 30/06/2026: %d, want 100,000,000", r.Total.Lapsing)
	}
	if row := rowOf(t, r, "01882"); row.Lapsing != 100_000_000 {
		t.Errorf("Nghiên Loan lapsing %d", row.Lapsing)
	}
	if row := rowOf(t, r, "19"); row.Lapsing != 0 {
		t.Errorf("the extended province line lapses %d", row.Lapsing)
	}
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"lapsing":100000000`) {
		t.Errorf("report JSON lacks lapsing: %s", b)
	}
	// Before the deadline nothing lapses, and the member is left out.
	r = mustQuery(t, p, Query{AsOf: d("2025-12-31")})
	checkAmounts(t, "total 31/12/2025", r.Total.Amounts, 11_200_000_000, 10_100_000_000, "90.18")
	if b, _ := json.Marshal(r); strings.Contains(string(b), "lapsing") {
		t.Errorf("a report without lapsing capital names it: %s", b)
	}
	// As known before the extension was recorded, the province's line lapsed too.
	ext := int64(0)
	for i, s := range deadlineSteps() {
		if s.Name == "extension" {
			ext = int64(i) // its position: the back-dated step before it took none
		}
	}
	if r := mustQuery(t, p, Query{AsOf: d("2026-02-15"), At: ext - 1}); r.Total.Lapsing != 1_100_000_000 {
		t.Errorf("lapsing at the position before the extension: %d, want 1,100,000,000", r.Total.Lapsing)
	}

	nd, err := p.NearDeadlines(DeadlineQuery{AsOf: d("2026-01-10"), Within: 30})
	if err != nil {
		t.Fatal(err)
	}
	if len(nd.Lines) != 2 || nd.Lines[0].Unit != "19" || nd.Lines[0].Available != 1_000_000_000 || nd.Lines[0].DaysLeft != 21 ||
		nd.Lines[1].Unit != "01882" || nd.Lines[1].Available != 100_000_000 || nd.Lines[1].LegalBasis != "Luật 58/2024/QH15, Điều 72" {
		t.Errorf("near deadlines on 10/01/2026: %+v", nd.Lines)
	}
	if nd, _ := p.NearDeadlines(DeadlineQuery{AsOf: d("2025-06-01"), Within: 30}); len(nd.Lines) != 0 {
		t.Errorf("deadlines 8 months away listed as near: %+v", nd.Lines)
	}
	if _, err := p.NearDeadlines(DeadlineQuery{}); ledger.Field(err) != "as_of" {
		t.Errorf("a deadline query without as_of: %v", err)
	}
}
