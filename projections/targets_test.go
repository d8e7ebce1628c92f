package projections

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vnntp/ledger/demo"
	"github.com/vnntp/ledger/ledger"
)

// TestTargetInForce: rows carry the next milestone of their scope's schedule, the rate
// expected on the report's date and whether they reach it; a report of another year, or
// grouped by something else than units, carries none; the schedule lists each target
// at its date.
func TestTargetInForce(t *testing.T) {
	d := func(s string) ledger.Date { v, _ := ledger.ParseDate(s, "d"); return v }
	steps := append(deadlineSteps(),
		demo.Step{Name: "target 1", Command: &ledger.SetTarget{Program: "GNBV", Year: 2025, RateBP: 3000, By: d("2025-06-30"),
			Document: "KH 1/KH-UBND", EffectiveDate: d("2025-01-05")}},
		demo.Step{Name: "target 2", Command: &ledger.SetTarget{Program: "GNBV", Year: 2025, RateBP: 9500, By: d("2026-01-31"),
			Document: "NQ 2/NQ-HĐND", EffectiveDate: d("2025-01-05")}},
		demo.Step{Name: "target 19", Command: &ledger.SetTarget{Unit: "19", Program: "GNBV", Year: 2025, RateBP: 9500, By: d("2025-12-31"),
			Document: "CT 3/CT-UBND", EffectiveDate: d("2025-03-01")}},
	)
	p, _ := demoProgress(t, steps)

	r := mustQuery(t, p, Query{Year: 2025, AsOf: d("2025-06-30")})
	if tg := r.Total.Target; tg == nil || tg.Rate != 3000 || tg.By != d("2025-06-30") || tg.Expected != 3000 || !tg.OnTrack {
		t.Errorf("total on 30/06/2025 (rate %v): target %+v", r.Total.Rate, tg)
	}
	r = mustQuery(t, p, Query{Year: 2025, AsOf: d("2025-09-30")})
	// 30 % on 30/06/2025 to 95 % on 31/01/2026: 92 of 215 days → 30 + 65 × 92 / 215 = 57.81 %.
	if tg := r.Total.Target; tg == nil || tg.Rate != 9500 || tg.Expected != 5781 || !tg.OnTrack || tg.Document != "NQ 2/NQ-HĐND" {
		t.Errorf("total on 30/09/2025 (rate %v): target %+v", r.Total.Rate, tg)
	}
	r = mustQuery(t, p, Query{Year: 2025, AsOf: d("2025-12-31"), GroupBy: []Dimension{GroupProvince}})
	if tg := rowOf(t, r, "19").Target; tg == nil || tg.Rate != 9500 || tg.Expected != 9500 || tg.OnTrack {
		t.Errorf("province 19 on 31/12/2025 at %v: target %+v, want 95 %% and behind", rowOf(t, r, "19").Rate, tg)
	}
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"target":{"rate_percent":95.00,"by":"2025-12-31","document":"CT 3/CT-UBND","expected_percent":95.00,"on_track":false}`) {
		t.Errorf("report JSON: %s", b)
	}
	for _, q := range []Query{{Year: 2024, AsOf: d("2025-06-30")}, {Year: 2025, GroupBy: []Dimension{GroupProject}, AsOf: d("2025-06-30")}} {
		r := mustQuery(t, p, q)
		for _, row := range r.Rows {
			if row.Target != nil {
				t.Errorf("%+v: row %v has a target", q, row.Key)
			}
		}
		if q.Year == 2024 && r.Total.Target != nil {
			t.Errorf("2024 has no target: %+v", r.Total.Target)
		}
	}
	if pts := p.Targets("", "GNBV", 2025, "", 0); len(pts) != 2 || pts[0].By != d("2025-06-30") || pts[1].Rate != 9500 {
		t.Errorf("schedule %+v", pts)
	}
}
