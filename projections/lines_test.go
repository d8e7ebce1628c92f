package projections

import (
	"testing"

	"github.com/vnntp/ledger/demo"
	"github.com/vnntp/ledger/ledger"
)

// TestLinesAddUpToQuery: for every control the dashboard has (as-of, basis, year,
// program, source, unit, project), the rows of Lines add up to Query's total, which
// Lines' total equals, and each district's lines add up to the district's row of the
// by-district report.
func TestLinesAddUpToQuery(t *testing.T) {
	p, _ := demoProgress(t, demo.StepsBeforeC4())
	for _, q := range []Query{
		{Program: "GNBV", Unit: "06", AsOf: ledger.MakeDate(2024, 5, 31)},
		{Program: "GNBV", Unit: "062", AsOf: ledger.MakeDate(2024, 5, 31)},
		{Program: "GNBV", Unit: "06", Year: 2024, Source: "NSTW-SN"},
		{Program: "GNBV", Unit: "06", Project: "DA2", AsOf: ledger.MakeDate(2023, 12, 31)},
		{Unit: "217", Basis: BasisExecutionYear, Year: 2023, AsOf: ledger.MakeDate(2023, 12, 31)},
		{},
	} {
		want := mustQuery(t, p, q)
		got, err := p.Lines(q)
		if err != nil {
			t.Fatalf("Lines(%+v): %v", q, err)
		}
		var plan, disb int64
		for _, r := range got.Rows {
			plan += r.Plan
			disb += r.Disbursed
			if _, err := ledger.ParseLineID(r.Key[0]); err != nil || r.Name[0] == "" {
				t.Errorf("row %v %v: %v", r.Key, r.Name, err)
			}
		}
		if got.Total.Plan != want.Total.Plan || got.Total.Disbursed != want.Total.Disbursed || plan != want.Total.Plan || disb != want.Total.Disbursed ||
			got.Position != want.Position {
			t.Errorf("%+v: Lines total %+v (rows %d / %d), Query total %+v", q, got.Total.Amounts, disb, plan, want.Total.Amounts)
		}
	}
	if _, err := p.Lines(Query{GroupBy: []Dimension{GroupDistrict}}); ledger.Code(err) != ledger.CodeInvalidArgument {
		t.Errorf("Lines with group_by: %v", err)
	}
	byDistrict := mustQuery(t, p, Query{Program: "GNBV", Unit: "06", AsOf: ledger.MakeDate(2024, 5, 31), GroupBy: []Dimension{GroupDistrict}})
	for _, row := range byDistrict.Rows {
		l, err := p.Lines(Query{Program: "GNBV", Unit: row.Key[0], AsOf: ledger.MakeDate(2024, 5, 31)})
		if err != nil || l.Total.Rate == nil || row.Rate == nil || *l.Total.Rate != *row.Rate {
			t.Errorf("district %s: rate %v on the overview, %v over its lines (%v)", row.Key[0], row.Rate, l.Total.Rate, err)
		}
	}
	progs := p.Programs("06", 0)
	if len(progs) != 1 || progs[0].Code != "GNBV" || progs[0].Plan <= 0 {
		t.Errorf("Programs(06) = %+v", progs)
	}
}
