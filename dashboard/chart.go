package dashboard

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/projections"
	"github.com/vnntp/ledger/report"
)

// Trend chart geometry, in SVG user units; the SVG scales to the page width.
const (
	chartWidth   = 760
	chartHeight  = 320
	chartLeft    = 72 // room for the amount labels
	chartRight   = 16
	chartTop     = 28
	chartBottom  = 48 // room for the month labels and the legend
	chartYTicks  = 4
	chartXLabels = 12 // at most this many month labels, evenly spaced
	// trendMonthsMax bounds the months of a trend: ten years of month ends, one projection
	// query each.
	trendMonthsMax = 120
)

// trendPoint is one month end of the trend.
type trendPoint struct {
	Date      ledger.Date
	Plan      int64
	Disbursed int64
}

type trendRow struct {
	Month, Plan, Disbursed, Rate string
}

type trendView struct {
	SVG      template.HTML
	Rows     []trendRow
	AsOf     string
	Position string
	HeadHash string
	Target   string // the targets as shown ("95,00% (31/01/2025)"), "" when there is none
	// PickYear says that targets are recorded but the page shows every plan year: a
	// target is a rate of one plan year's capital, so it is drawn only for that year.
	PickYear bool
}

// targetMark is a target drawn on the trend: a point at its date, at the rate of the
// plan on that date — never a line over the months before it.
type targetMark struct {
	Date   ledger.Date
	Rate   projections.Rate
	Amount int64 // rate × plan on Date, whole đồng
}

// targetAmount is rate × plan in whole đồng: hundredths of a percent over 10⁴, with the
// plan cut first so that the product cannot overflow for any plan below 9·10¹⁴ tỷ.
func targetAmount(plan int64, rate projections.Rate) int64 { return plan / 10000 * int64(rate) }

func (s *Server) handleTrend(c echo.Context) error {
	pr, st, err := s.progressRequest(c)
	if err != nil {
		return s.dashError(c, err, st.Lang)
	}
	w := wordsOf(st.Lang)
	p := s.newPage(pr, st, dashTrendPath, w.Trend)
	q := st.baseQuery(pr.Scope())
	q.GroupBy = []projections.Dimension{projections.GroupYear}
	years, err := s.cfg.Progress.Query(q)
	if err != nil {
		return s.dashError(c, err, st.Lang)
	}
	end := st.AsOf
	if end.IsZero() {
		end = ledger.DateOf(s.now().In(vietnamTime))
	}
	first := end.Year()
	for _, r := range years.Rows {
		if y, err := strconv.Atoi(r.Key[0]); err == nil && y < first {
			first = y
		}
	}
	if st.Year != 0 {
		first = st.Year
	}
	months := monthEnds(ledger.MakeDate(first, time.January, 1), end)
	points := make([]trendPoint, 0, len(months))
	q.GroupBy, q.At = nil, years.Position
	for _, m := range months {
		q.AsOf = m
		r, err := s.cfg.Progress.Query(q)
		if err != nil {
			return s.dashError(c, err, st.Lang)
		}
		if len(points) == 1 && points[0].Plan == 0 && points[0].Disbursed == 0 {
			points = points[:0] // months before the first capital say nothing
		}
		points = append(points, trendPoint{Date: m, Plan: r.Total.Plan, Disbursed: r.Total.Disbursed})
	}
	tv := &trendView{AsOf: w.NoLimit, Position: formatCount(years.Position, st.Lang),
		HeadHash: fmt.Sprintf("%x", years.HeadHash[:])[:hashShortLen]}
	if !st.AsOf.IsZero() {
		tv.AsOf = report.FormatDate(st.AsOf, st.Lang)
	}
	var marks []targetMark
	var shown []string
	if t, ok := parsePercent(st.Target); ok && st.Target != "" && len(points) > 0 {
		// A rate typed into the page is a target for the last date shown.
		last := points[len(points)-1]
		marks = append(marks, targetMark{Date: last.Date, Rate: t, Amount: targetAmount(last.Plan, t)})
		shown = append(shown, report.FormatPercent(&t, st.Lang))
	}
	// The targets the ledger records for the page's scope, each at its date.
	q.AsOf = 0
	for _, tp := range s.cfg.Progress.Targets(pr.Scope(), st.Program, st.Year, st.Source, years.Position) {
		if st.Year == 0 {
			tv.PickYear = true
			break
		}
		q.AsOf = tp.By
		r, err := s.cfg.Progress.Query(q)
		if err != nil {
			return s.dashError(c, err, st.Lang)
		}
		marks = append(marks, targetMark{Date: tp.By, Rate: tp.Rate, Amount: targetAmount(r.Total.Plan, tp.Rate)})
		shown = append(shown, report.FormatPercent(&tp.Rate, st.Lang)+" ("+report.FormatDate(tp.By, st.Lang)+")")
	}
	tv.Target = strings.Join(shown, "; ")
	tv.SVG = trendSVG(points, marks, st.Lang)
	for _, pt := range points {
		tv.Rows = append(tv.Rows, trendRow{Month: report.FormatMonth(pt.Date, st.Lang), Plan: report.FormatAmount(pt.Plan, st.Lang),
			Disbursed: report.FormatAmount(pt.Disbursed, st.Lang), Rate: report.FormatPercent(projections.RateOf(pt.Disbursed, pt.Plan), st.Lang)})
	}
	p.Trend, p.Position = tv, years.Position
	return s.renderPage(c, http.StatusOK, "trend", p)
}

// monthEnds returns the last day of every month from the month of from to the month of
// to, the last one cut to to itself (a report as of 15/05 ends on 15/05, not 31/05); at
// most trendMonthsMax, the latest kept.
func monthEnds(from, to ledger.Date) []ledger.Date {
	var out []ledger.Date
	y, m := from.Year(), time.Month(int(from)/100%100)
	for {
		end := ledger.DateOf(time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC))
		if end >= to {
			out = append(out, to)
			break
		}
		out = append(out, end)
		if m++; m > time.December {
			y, m = y+1, time.January
		}
	}
	if len(out) > trendMonthsMax {
		out = out[len(out)-trendMonthsMax:]
	}
	return out
}

// niceStep returns the smallest 1, 2, 2.5 or 5 × 10^k that is at least v (v > 0), so that
// the axis ticks fall on round amounts.
func niceStep(v int64) int64 {
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{10, 20, 25, 50} {
			if step := p * m / 10; step >= v {
				return max(step, 1)
			}
		}
		if p > (1<<62)/100 {
			return v
		}
	}
}

// trendSVG draws cumulative disbursement (line and points) against the plan (stepped
// grey line) at each month end, and each target as a point at its date (targets dated
// outside the months shown are left out of the drawing). Coordinates are pixels of the
// drawing: they are computed in float64, which is fine for geometry and never touches an
// amount shown as a figure (the labels are formatted from the integers).
func trendSVG(points []trendPoint, targets []targetMark, lang report.Lang) template.HTML {
	w := wordsOf(lang)
	var top int64 = 1
	for _, p := range points {
		top = max(top, p.Plan, p.Disbursed)
	}
	for _, t := range targets {
		top = max(top, t.Amount)
	}
	v := top / chartYTicks
	if top%chartYTicks != 0 {
		v++ // ⌈top / chartYTicks⌉ without overflowing at the top of int64
	}
	step := niceStep(v)
	if step > math.MaxInt64/chartYTicks {
		// Only at the edge of ledger.TurnoverMax: the top tick stays within int64, just
		// below the largest figure.
		step = math.MaxInt64 / chartYTicks
	}
	axisMax := step * chartYTicks
	scale, unit := int64(report.DongPerBillion), "tỷ đồng"
	if lang == report.LangEN {
		unit = "billion VND"
	}
	if axisMax < 10*report.DongPerBillion {
		scale, unit = report.DongPerMillion, "triệu đồng"
		if lang == report.LangEN {
			unit = "million VND"
		}
	}
	plotW := float64(chartWidth - chartLeft - chartRight)
	plotH := float64(chartHeight - chartTop - chartBottom)
	x := func(i int) float64 {
		if len(points) <= 1 {
			return chartLeft + plotW/2
		}
		return chartLeft + plotW*float64(i)/float64(len(points)-1)
	}
	y := func(v int64) float64 { return chartTop + plotH - plotH*float64(v)/float64(axisMax) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="trend" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		chartWidth, chartHeight, html.EscapeString(w.TrendTitle))
	for i := 0; i <= chartYTicks; i++ {
		v := step * int64(i)
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, chartLeft, chartWidth-chartRight, y(v), y(v))
		fmt.Fprintf(&b, `<text class="ylabel" x="%d" y="%.1f">%s</text>`, chartLeft-6, y(v)+4,
			html.EscapeString(strings.TrimSuffix(strings.TrimSuffix(report.FormatScaled(v, scale, lang), ",00"), ".00")))
	}
	fmt.Fprintf(&b, `<text class="yunit" x="%d" y="%d">%s</text>`, 4, chartTop-14, html.EscapeString(unit))
	every := max(1, (len(points)+chartXLabels-1)/chartXLabels)
	for i, p := range points {
		last := i == len(points)-1
		// Every every-th month is labelled, and the last; a regular label too close to
		// the last one is left out rather than drawn over it.
		if last || i%every == 0 && len(points)-1-i >= every {
			anchor := ""
			if last && len(points) > 1 {
				anchor = ` text-anchor="end"`
			}
			fmt.Fprintf(&b, `<text class="xlabel" x="%.1f" y="%d"%s>%s</text>`, x(i), chartHeight-chartBottom+16,
				anchor, html.EscapeString(report.FormatMonth(p.Date, lang)))
		}
	}
	if len(points) > 0 {
		var plan, disb strings.Builder
		for i, p := range points {
			if i > 0 { // the plan changes by decision: a step, not a slope
				fmt.Fprintf(&plan, "%.1f,%.1f ", x(i), y(points[i-1].Plan))
			}
			fmt.Fprintf(&plan, "%.1f,%.1f ", x(i), y(p.Plan))
			fmt.Fprintf(&disb, "%.1f,%.1f ", x(i), y(p.Disbursed))
		}
		fmt.Fprintf(&b, `<polyline class="plan" points="%s"/>`, strings.TrimSpace(plan.String()))
		fmt.Fprintf(&b, `<polyline class="disbursed" points="%s"/>`, strings.TrimSpace(disb.String()))
		for i, p := range points {
			fmt.Fprintf(&b, `<circle class="pt" cx="%.1f" cy="%.1f" r="2.5"><title>%s: %s / %s</title></circle>`,
				x(i), y(p.Disbursed), html.EscapeString(report.FormatMonth(p.Date, lang)),
				html.EscapeString(report.FormatAmount(p.Disbursed, lang)), html.EscapeString(report.FormatAmount(p.Plan, lang)))
		}
	}
	// xAt places date d between the month ends around it; false outside the months shown.
	xAt := func(d ledger.Date) (float64, bool) {
		if len(points) == 0 || d > points[len(points)-1].Date || d < points[0].Date && len(points) > 1 {
			return 0, false
		}
		i := 0
		for i < len(points)-1 && points[i].Date < d {
			i++
		}
		if i == 0 || points[i].Date == d {
			return x(i), true
		}
		from, to := points[i-1].Date.Time(), points[i].Date.Time()
		f := d.Time().Sub(from).Hours() / to.Sub(from).Hours()
		return x(i-1) + (x(i)-x(i-1))*f, true
	}
	drawn := 0
	for _, t := range targets {
		tx, ok := xAt(t.Date)
		if !ok {
			continue
		}
		drawn++
		label := w.TargetPct + " " + report.FormatPercent(&t.Rate, lang)
		fmt.Fprintf(&b, `<circle class="target" cx="%.1f" cy="%.1f" r="5"><title>%s · %s: %s</title></circle>`, tx, y(t.Amount),
			html.EscapeString(label), html.EscapeString(report.FormatDate(t.Date, lang)), html.EscapeString(report.FormatAmount(t.Amount, lang)))
		fmt.Fprintf(&b, `<text class="tlabel" x="%.1f" y="%.1f">%s</text>`, tx-8, y(t.Amount)-8, html.EscapeString(label))
	}
	ly := chartHeight - 12
	fmt.Fprintf(&b, `<rect class="key-disbursed" x="%d" y="%d" width="14" height="4"/><text class="legend" x="%d" y="%d">%s</text>`,
		chartLeft, ly-4, chartLeft+20, ly, html.EscapeString(w.Disbursed))
	fmt.Fprintf(&b, `<rect class="key-plan" x="%d" y="%d" width="14" height="4"/><text class="legend" x="%d" y="%d">%s</text>`,
		chartLeft+200, ly-4, chartLeft+220, ly, html.EscapeString(w.Plan))
	if drawn > 0 {
		fmt.Fprintf(&b, `<circle class="key-target" cx="%d" cy="%d" r="5"/><text class="legend" x="%d" y="%d">%s</text>`,
			chartLeft+407, ly-2, chartLeft+420, ly, html.EscapeString(w.TrendTargetLine))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text above is escaped; the rest is numbers
}
