package api

import (
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

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
	Title   string
	Meta    [][2]string // label, value
	Columns []string
	Rows    [][]Cell
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
	dims                                                        map[string][2]string // code column, name column
}

var reportLabels = map[string]*labels{
	LangVI: {
		title: "Báo cáo tiến độ giải ngân", counterpartTitle: "Kiểm tra vốn đối ứng",
		asOf: "Tính đến hết ngày", noLimit: "không giới hạn", position: "Vị trí sổ cái", headHash: "Mã băm tại vị trí",
		basis: "Cơ sở", year: "Năm", filters: "Bộ lọc", amountsIn: "Đơn vị tiền: đồng", total: "Tổng cộng",
		plan: "Kế hoạch vốn", disbursed: "Đã giải ngân", available: "Còn lại", rate: "Tỷ lệ giải ngân (%)",
		ownPlan: "Kế hoạch vốn năm", ownDisbursed: "Giải ngân vốn năm", ownRate: "Tỷ lệ vốn năm (%)",
		carriedPlan: "Vốn chuyển sang", carriedDisbursed: "Giải ngân vốn chuyển sang", carriedRate: "Tỷ lệ vốn chuyển sang (%)",
		years: "Năm kế hoạch", counterpart: "Vốn đối ứng", central: "Vốn ngân sách trung ương",
		required: "Đối ứng tối thiểu", ratio: "Tỷ lệ đối ứng", pass: "Đạt", yes: "đạt", no: "không đạt",
		dims: map[string][2]string{
			projections.GroupProvince:   {"Mã tỉnh", "Đơn vị (tỉnh)"},
			projections.GroupDistrict:   {"Mã huyện", "Đơn vị (huyện)"},
			projections.GroupCommune:    {"Mã xã", "Đơn vị (xã)"},
			projections.GroupProject:    {"Mã dự án", "Dự án"},
			projections.GroupSubproject: {"Mã tiểu dự án", "Tiểu dự án"},
			projections.GroupSource:     {"Mã nguồn vốn", "Nguồn vốn"},
			projections.GroupYear:       {"Năm kế hoạch", ""},
		},
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
		dims: map[string][2]string{
			projections.GroupProvince:   {"Province code", "Unit (province)"},
			projections.GroupDistrict:   {"District code", "Unit (district)"},
			projections.GroupCommune:    {"Commune code", "Unit (commune)"},
			projections.GroupProject:    {"Project code", "Project"},
			projections.GroupSubproject: {"Sub-project code", "Sub-project"},
			projections.GroupSource:     {"Source code", "Source"},
			projections.GroupYear:       {"Plan year", ""},
		},
	},
}

func labelsOf(lang string) *labels {
	if l, ok := reportLabels[lang]; ok {
		return l
	}
	return reportLabels[LangVI]
}

// ReportFilters are the filters of a report as the header block names them; Report does
// not carry them, so the caller passes what it asked.
type ReportFilters struct {
	Program, Unit, Project, Source string
}

func (f ReportFilters) String() string {
	var parts []string
	for _, kv := range [][2]string{{"program", f.Program}, {"unit", f.Unit}, {"project", f.Project}, {"source", f.Source}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	return strings.Join(parts, " ")
}

// LayoutReport lays r out in language lang (LangVI or LangEN; another means LangVI).
// On the execution-year basis the own and carried-in parts follow the combined figures.
func LayoutReport(r projections.Report, f ReportFilters, lang string) Sheet {
	l := labelsOf(lang)
	asOf := l.noLimit
	if !r.AsOf.IsZero() {
		asOf = r.AsOf.String()
	}
	sh := Sheet{Title: l.title, Meta: [][2]string{
		{l.asOf, asOf},
		{l.position, strconv.FormatInt(r.Position, 10)},
		{l.headHash, hex.EncodeToString(r.HeadHash[:])},
		{l.basis, r.Basis},
	}}
	if r.Year != 0 {
		sh.Meta = append(sh.Meta, [2]string{l.year, strconv.Itoa(r.Year)})
	}
	if s := f.String(); s != "" {
		sh.Meta = append(sh.Meta, [2]string{l.filters, s})
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
		return cells
	}
	textCols := len(sh.Columns) - 4
	if exec {
		textCols -= 6
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
func LayoutCounterpart(r projections.CounterpartReport, f ReportFilters, lang string) Sheet {
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
	if s := f.String(); s != "" {
		sh.Meta = append(sh.Meta, [2]string{l.filters, s})
	}
	sh.Meta = append(sh.Meta, [2]string{l.amountsIn, ""})
	d := l.dims[projections.GroupProvince]
	sh.Columns = []string{d[0], d[1], l.counterpart, l.central, l.required, l.rate, l.pass}
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

// FormatRate writes a rate with two decimals and the language's decimal mark (62,95 in
// Vietnamese, 62.95 in English); "" for no rate.
func FormatRate(r *projections.Rate, lang string) string {
	if r == nil {
		return ""
	}
	s := r.String()
	if lang != LangEN {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// FormatDong writes whole đồng with the language's thousands separator: 478.930.000.000
// in Vietnamese, 478,930,000,000 in English.
func FormatDong(n int64, lang string) string {
	sep := byte('.')
	if lang == LangEN {
		sep = ','
	}
	digits := strconv.FormatInt(n, 10)
	neg := digits[0] == '-'
	if neg {
		digits = digits[1:]
	}
	b := make([]byte, 0, len(digits)+len(digits)/3+1)
	if neg {
		b = append(b, '-')
	}
	for i := range len(digits) {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b = append(b, sep)
		}
		b = append(b, digits[i])
	}
	return string(b)
}

// WriteCSV writes sh as CSV (RFC 4180, UTF-8): the title and header block as
// label,value lines, an empty line, the column names, the rows. Money is whole đồng
// without separators, so that a spreadsheet reads it as a number; rates use the
// language's decimal mark.
func WriteCSV(w io.Writer, sh Sheet, lang string) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{sh.Title})
	for _, m := range sh.Meta {
		_ = cw.Write([]string{m[0], m[1]})
	}
	_ = cw.Write([]string{""})
	_ = cw.Write(sh.Columns)
	rec := make([]string, len(sh.Columns))
	for i, row := range sh.Rows {
		for j, c := range row {
			switch c.Kind {
			case CellMoney:
				rec[j] = strconv.FormatInt(c.Money, 10)
			case CellRate:
				rec[j] = FormatRate(c.Rate, lang)
			default:
				rec[j] = c.Text
			}
		}
		if err := cw.Write(rec[:len(row)]); err != nil {
			return err
		}
		if i%csvFlushRows == csvFlushRows-1 {
			if cw.Flush(); cw.Error() != nil {
				return cw.Error()
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteReportCSV lays r out and writes it as CSV.
func WriteReportCSV(w io.Writer, r projections.Report, f ReportFilters, lang string) error {
	return WriteCSV(w, LayoutReport(r, f, lang), lang)
}

// xlsxSheetName is the worksheet of an XLSX report, by language.
var xlsxSheetName = map[string]string{LangVI: "Tiến độ giải ngân", LangEN: "Progress"}

// WriteXLSX writes sh as an XLSX workbook of one sheet, row by row through excelize's
// stream writer (rows past its memory threshold go to a temporary file). Money cells
// hold whole đồng as integers shown with thousands separators; rates hold the
// percentage shown with two decimals.
func WriteXLSX(w io.Writer, sh Sheet, lang string) (err error) {
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	name := xlsxSheetName[LangVI]
	if lang == LangEN {
		name = xlsxSheetName[LangEN]
	}
	if err := f.SetSheetName("Sheet1", name); err != nil {
		return err
	}
	money, err := f.NewStyle(&excelize.Style{NumFmt: 3}) // #,##0
	if err != nil {
		return err
	}
	rate, err := f.NewStyle(&excelize.Style{NumFmt: 2}) // 0.00
	if err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	if err := sw.SetColWidth(1, len(sh.Columns), 18); err != nil {
		return err
	}
	n := 1
	put := func(vals []any) error {
		cell, _ := excelize.CoordinatesToCellName(1, n)
		n++
		return sw.SetRow(cell, vals)
	}
	if err := put([]any{excelize.Cell{StyleID: bold, Value: sh.Title}}); err != nil {
		return err
	}
	for _, m := range sh.Meta {
		if err := put([]any{m[0], m[1]}); err != nil {
			return err
		}
	}
	if err := put(nil); err != nil {
		return err
	}
	head := make([]any, len(sh.Columns))
	for i, c := range sh.Columns {
		head[i] = excelize.Cell{StyleID: bold, Value: c}
	}
	if err := put(head); err != nil {
		return err
	}
	vals := make([]any, len(sh.Columns))
	for _, row := range sh.Rows {
		for j, c := range row {
			switch c.Kind {
			case CellMoney:
				vals[j] = excelize.Cell{StyleID: money, Value: c.Money}
			case CellRate:
				if c.Rate == nil {
					vals[j] = nil
				} else {
					// The value is the percentage as a spreadsheet number: exact to the
					// hundredth that the integer rate holds, and it is not money.
					v, _ := strconv.ParseFloat(c.Rate.String(), 64)
					vals[j] = excelize.Cell{StyleID: rate, Value: v}
				}
			default:
				vals[j] = c.Text
			}
		}
		if err := put(vals[:len(row)]); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.Write(w)
}

// WriteReportXLSX lays r out and writes it as an XLSX workbook.
func WriteReportXLSX(w io.Writer, r projections.Report, f ReportFilters, lang string) error {
	return WriteXLSX(w, LayoutReport(r, f, lang), lang)
}
