package dashboard

import (
	"math"
	"strings"
	"testing"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/projections"
	"github.com/vnntp/ledger/report"
)

// TestTrendAtTheEdgeOfInt64: figures up to ledger.TurnoverMax (the bound that keeps every
// sum within int64) draw an axis whose ticks are all non-negative amounts.
func TestTrendAtTheEdgeOfInt64(t *testing.T) {
	target := projections.Rate(10000)
	for _, top := range []int64{ledger.TurnoverMax, ledger.TurnoverMax - 1, ledger.TurnoverMax - 3, math.MaxInt64 / 4 * 3} {
		points := []trendPoint{{Date: 20240131, Plan: top, Disbursed: top / 2}, {Date: 20240229, Plan: top, Disbursed: top}}
		svg := string(trendSVG(points, []targetMark{{Date: 20240229, Rate: target, Amount: targetAmount(top, target)}}, report.LangEN))
		if strings.Contains(svg, ">-") || strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
			t.Errorf("top %d: a negative or broken figure on the axis:\n%s", top, svg)
		}
	}
}
