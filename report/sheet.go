package report

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/vnntp/ledger/projections"
)

// CellKind says how a report cell is written: text as it is, money as whole đồng, a rate
// as a percentage with two decimals.
type CellKind uint8

// Cell kinds.
const (
	CellText CellKind = iota
	CellMoney
	CellRate
)

// Cell is one cell of a laid-out report.
type Cell struct {
	Kind  CellKind
	Text  string
	Money int64             // đồng, for CellMoney
	Rate  *projections.Rate // for CellRate; nil: no rate (plan 0)
}

// Sheet is a report laid out as a table, the one layout that the CSV, the XLSX and the
// CLI's table print: a title, a header block that names what the figures were computed
// from (as_of, position, head hash, filters), the column names and the rows, the total
// last.
type Sheet struct {
	// Name is the XLSX worksheet's name; "" names it after the progress report.
	Name  string
	Title string
	Meta  [][2]string // label, value as machines read it: ISO dates, basis codes (CSV, XLSX)
	// MetaText holds, by index of Meta, the value as people read it in the sheet's
	// language (31/05/2024, "năm kế hoạch"); the printed table uses it, "" or a missing
	// entry means Meta's value.
	MetaText []string
	Columns  []string
	Rows     [][]Cell
}

// setText gives Meta entry i the human text t.
func (sh *Sheet) setText(i int, t string) {
	for len(sh.MetaText) <= i {
		sh.MetaText = append(sh.MetaText, "")
	}
	sh.MetaText[i] = t
}

// labels are the words of a report in one language.
type labels struct {
	title, counterpartTitle                                     string
	asOf, noLimit, position, headHash, basis, year, filters     string
	amountsIn, total                                            string
	plan, disbursed, available, rate                            string
	ownPlan, ownDisbursed, ownRate                              string
	carriedPlan, carriedDisbursed, carriedRate                  string
	years, counterpart, central, required, ratio, pass, yes, no string
	counterpartRate                                             string
	bases                                                       map[projections.Basis]string // in words; none: the code
	committed, commitmentRate, advances, oldestDays             string
	age0to30, age31to90, age91to180, ageOver180                 string
	dims                                                        map[projections.Dimension][2]string // code column, name column
	// units and restated name the view of units of a restated report (units=current).
	units, restated string
}

var reportLabels = map[Lang]*labels{
	LangVI: {
		title: "Báo cáo tiến độ giải ngân", counterpartTitle: "Kiểm tra vốn đối ứng",
		asOf: "Tính đến hết ngày", noLimit: "không giới hạn", position: "Vị trí sổ cái", headHash: "Mã băm tại vị trí",
		basis: "Cơ sở", year: "Năm", filters: "Bộ lọc", amountsIn: "Đơn vị tiền: đồng", total: "Tổng cộng",
		plan: "Kế hoạch vốn", disbursed: "Đã giải ngân", available: "Còn lại", rate: "Tỷ lệ giải ngân (%)",
		ownPlan: "Kế hoạch vốn năm", ownDisbursed: "Giải ngân vốn năm", ownRate: "Tỷ lệ vốn năm (%)",
		carriedPlan: "Vốn chuyển sang", carriedDisbursed: "Giải ngân vốn chuyển sang", carriedRate: "Tỷ lệ vốn chuyển sang (%)",
		years: "Năm kế hoạch", counterpart: "Vốn đối ứng", central: "Vốn ngân sách trung ương",
		required: "Đối ứng tối thiểu", ratio: "Tỷ lệ đối ứng", pass: "Đạt", yes: "đạt", no: "không đạt",
		counterpartRate: "Tỷ lệ đối ứng (%)",
		bases:           map[projections.Basis]string{projections.BasisPlanYear: "năm kế hoạch", projections.BasisExecutionYear: "năm thực hiện"},
		committed:       "Đã cam kết (hợp đồng)", commitmentRate: "Tỷ lệ cam kết (%)", advances: "Dư ứng",
		oldestDays: "Tạm ứng lâu nhất (ngày)", age0to30: "Dư ứng 0–30 ngày", age31to90: "Dư ứng 31–90 ngày",
		age91to180: "Dư ứng 91–180 ngày", ageOver180: "Dư ứng trên 180 ngày",
		dims: map[projections.Dimension][2]string{
			projections.GroupProvince:   {"Mã tỉnh", "Đơn vị (tỉnh)"},
			projections.GroupDistrict:   {"Mã huyện", "Đơn vị (huyện)"},
			projections.GroupCommune:    {"Mã xã", "Đơn vị (xã)"},
			projections.GroupProject:    {"Mã dự án", "Dự án"},
			projections.GroupSubproject: {"Mã tiểu dự án", "Tiểu dự án"},
			projections.GroupSource:     {"Mã nguồn vốn", "Nguồn vốn"},
			projections.GroupYear:       {"Năm kế hoạch", ""},
		},
		units: "Đơn vị hành chính", restated: "theo đơn vị hiện hành (số liệu quá khứ quy về đơn vị kế thừa)",
	},
	LangEN: {
		title: "Disbursement progress report", counterpartTitle: "Counterpart funds check",
		asOf: "As of", noLimit: "no limit", position: "Ledger position", headHash: "Hash at position",
		basis: "Basis", year: "Year", filters: "Filters", amountsIn: "Amounts in đồng", total: "Total",
		plan: "Plan", disbursed: "Disbursed", available: "Available", rate: "Rate (%)",
		ownPlan: "Own plan", ownDisbursed: "Own disbursed", ownRate: "Own rate (%)",
		carriedPlan: "Carried-in plan", carriedDisbursed: "Carried-in disbursed", carriedRate: "Carried-in rate (%)",
		years: "Plan years", counterpart: "Counterpart", central: "Central budget", required: "Required",
		ratio: "Ratio", pass: "Pass", yes: "yes", no: "NO",
		counterpartRate: "Counterpart rate (%)",
		committed:       "Committed (contracts)", commitmentRate: "Commitment rate (%)", advances: "Advances outstanding",
		oldestDays: "Oldest advance (days)", age0to30: "Advances 0–30 days", age31to90: "Advances 31–90 days",
		age91to180: "Advances 91–180 days", ageOver180: "Advances over 180 days",
		dims: map[projections.Dimension][2]string{
			projections.GroupProvince:   {"Province code", "Unit (province)"},
			projections.GroupDistrict:   {"District code", "Unit (district)"},
			projections.GroupCommune:    {"Commune code", "Unit (commune)"},
			projections.GroupProject:    {"Project code", "Project"},
			projections.GroupSubproject: {"Sub-project code", "Sub-project"},
			projections.GroupSource:     {"Source code", "Source"},
			projections.GroupYear:       {"Plan year", ""},
		},
		units: "Units", restated: "current units (history restated onto the successors)",
	},
}

func labelsOf(lang Lang) *labels {
	if l, ok := reportLabels[lang]; ok {
		return l
	}
	return reportLabels[LangVI]
}

// Filters are the filters of a report as the header block names them; a
// projections.Report does not carry them, so the caller passes what it asked.
type Filters struct {
	Program, Unit, Project, Source string
}

func (f Filters) String() string {
	var parts []string
	for _, kv := range [][2]string{{"program", f.Program}, {"unit", f.Unit}, {"project", f.Project}, {"source", f.Source}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	return strings.Join(parts, " ")
}

// Layout lays the progress report r out in language lang (LangVI or LangEN; another
// means LangVI). On the execution-year basis the own and carried-in parts follow the
// combined figures.
func Layout(r projections.Report, f Filters, lang Lang) Sheet {
	l := labelsOf(lang)
	asOf := l.noLimit
	if !r.AsOf.IsZero() {
		asOf = r.AsOf.String()
	}
	sh := Sheet{Title: l.title, Meta: [][2]string{
		{l.asOf, asOf},
		{l.position, strconv.FormatInt(r.Position, 10)},
		{l.headHash, hex.EncodeToString(r.HeadHash[:])},
		{l.basis, string(r.Basis)},
	}}
	if !r.AsOf.IsZero() {
		sh.setText(0, FormatDate(r.AsOf, lang))
	}
	sh.setText(3, l.bases[r.Basis])
	if r.Year != 0 {
		sh.Meta = append(sh.Meta, [2]string{l.year, strconv.Itoa(r.Year)})
	}
	if s := f.String(); s != "" {
		sh.Meta = append(sh.Meta, [2]string{l.filters, s})
	}
	// The view of units is named when it is not the default, so that reports as
	// recorded keep their bytes.
	if r.Units == projections.UnitsCurrent {
		sh.Meta = append(sh.Meta, [2]string{l.units, l.restated})
	}
	sh.Meta = append(sh.Meta, [2]string{l.amountsIn, ""})
	exec := r.Basis == projections.BasisExecutionYear
	for _, g := range r.GroupBy {
		d := l.dims[g]
		sh.Columns = append(sh.Columns, d[0])
		if d[1] != "" {
			sh.Columns = append(sh.Columns, d[1])
		}
	}
	if len(r.GroupBy) == 0 {
		sh.Columns = append(sh.Columns, "")
	}
	sh.Columns = append(sh.Columns, l.plan, l.disbursed, l.available, l.rate)
	if exec {
		sh.Columns = append(sh.Columns, l.ownPlan, l.ownDisbursed, l.ownRate, l.carriedPlan, l.carriedDisbursed, l.carriedRate)
	}
	textCols := len(sh.Columns) - 4
	if exec {
		textCols -= 6
	}
	// Contract and advance columns only when the ledger holds a contract at the report's
	// position, so reports of ledgers without contracts keep their layout.
	if r.Commitments {
		sh.Columns = append(sh.Columns, l.committed, l.commitmentRate, l.advances, l.oldestDays,
			l.age0to30, l.age31to90, l.age91to180, l.ageOver180)
	}
	figures := func(cells []Cell, row projections.Row) []Cell {
		cells = append(cells, Cell{Kind: CellMoney, Money: row.Plan}, Cell{Kind: CellMoney, Money: row.Disbursed},
			Cell{Kind: CellMoney, Money: row.Available}, Cell{Kind: CellRate, Rate: row.Rate})
		if exec {
			for _, a := range []*projections.Amounts{row.Own, row.CarriedIn} {
				var v projections.Amounts
				if a != nil {
					v = *a
				}
				cells = append(cells, Cell{Kind: CellMoney, Money: v.Plan}, Cell{Kind: CellMoney, Money: v.Disbursed},
					Cell{Kind: CellRate, Rate: v.Rate})
			}
		}
		if c := row.Commitments; c != nil {
			oldest := ""
			if c.OldestDays != nil {
				oldest = strconv.FormatInt(*c.OldestDays, 10)
			}
			var ages projections.AdvanceAges
			if c.ByAge != nil {
				ages = *c.ByAge
			}
			cells = append(cells, Cell{Kind: CellMoney, Money: c.Committed}, Cell{Kind: CellRate, Rate: c.CommitmentRate},
				Cell{Kind: CellMoney, Money: c.Outstanding}, Cell{Text: oldest},
				Cell{Kind: CellMoney, Money: ages.Days0To30}, Cell{Kind: CellMoney, Money: ages.Days31To90},
				Cell{Kind: CellMoney, Money: ages.Days91To180}, Cell{Kind: CellMoney, Money: ages.Over180})
		}
		return cells
	}
	for _, row := range r.Rows {
		cells := make([]Cell, 0, len(sh.Columns))
		for i, g := range r.GroupBy {
			cells = append(cells, Cell{Text: row.Key[i]})
			if g != projections.GroupYear {
				cells = append(cells, Cell{Text: row.Name[i]})
			}
		}
		sh.Rows = append(sh.Rows, figures(cells, row))
	}
	total := make([]Cell, textCols, len(sh.Columns))
	total[0] = Cell{Text: l.total}
	sh.Rows = append(sh.Rows, figures(total, r.Total))
	return sh
}

// LayoutCounterpart lays a counterpart check out in language lang.
func LayoutCounterpart(r projections.CounterpartReport, f Filters, lang Lang) Sheet {
	l := labelsOf(lang)
	asOf := l.noLimit
	if !r.AsOf.IsZero() {
		asOf = r.AsOf.String()
	}
	years := ""
	if r.FromYear != 0 || r.ToYear != 0 {
		years = fmt.Sprintf("%d–%d", r.FromYear, r.ToYear)
	}
	sh := Sheet{Title: l.counterpartTitle, Meta: [][2]string{
		{l.asOf, asOf},
		{l.position, strconv.FormatInt(r.Position, 10)},
		{l.headHash, hex.EncodeToString(r.HeadHash[:])},
		{l.years, years},
		{l.ratio, fmt.Sprintf("%d/%d", r.Ratio.Num, r.Ratio.Den)},
	}}
	if !r.AsOf.IsZero() {
		sh.setText(0, FormatDate(r.AsOf, lang))
	}
	if s := f.String(); s != "" {
		sh.Meta = append(sh.Meta, [2]string{l.filters, s})
	}
	if r.Units == projections.UnitsCurrent {
		sh.Meta = append(sh.Meta, [2]string{l.units, l.restated})
	}
	sh.Meta = append(sh.Meta, [2]string{l.amountsIn, ""})
	d := l.dims[projections.GroupProvince]
	sh.Columns = []string{d[0], d[1], l.counterpart, l.central, l.required, l.counterpartRate, l.pass}
	for _, row := range r.Rows {
		pass := l.no
		if row.Pass {
			pass = l.yes
		}
		sh.Rows = append(sh.Rows, []Cell{{Text: row.Province}, {Text: row.Name},
			{Kind: CellMoney, Money: row.Counterpart}, {Kind: CellMoney, Money: row.Central},
			{Kind: CellMoney, Money: row.Required}, {Kind: CellRate, Rate: row.Rate}, {Text: pass}})
	}
	return sh
}
