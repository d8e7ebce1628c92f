package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vnntp/ledger/ledger"
	"github.com/xuri/excelize/v2"
)

// csvFlushRows is how many CSV rows are buffered between flushes to the writer.
const csvFlushRows = 1024

// WriteCSV writes sh as CSV (RFC 4180, UTF-8): the UTF-8 byte order mark when bom is
// true (what Excel needs to read Vietnamese), the title and header block as label,value
// lines, an empty line, the column names, the rows. Money is whole đồng without
// separators, so that a spreadsheet reads it as a number; rates use the language's
// decimal mark. Every text cell (title, labels, column names, names from the catalog) is
// neutralised against formulas by ledger.NeutraliseCSVText; money and rates never are.
func WriteCSV(w io.Writer, sh Sheet, lang Lang, bom bool) error {
	if bom {
		if _, err := io.WriteString(w, ledger.UTF8BOM); err != nil {
			return err
		}
	}
	cw := csv.NewWriter(w)
	safe := ledger.NeutraliseCSVText
	_ = cw.Write([]string{safe(sh.Title)})
	for _, m := range sh.Meta {
		_ = cw.Write([]string{safe(m[0]), safe(m[1])})
	}
	_ = cw.Write([]string{""})
	cols := make([]string, len(sh.Columns))
	for i, c := range sh.Columns {
		cols[i] = safe(c)
	}
	_ = cw.Write(cols)
	rec := make([]string, len(sh.Columns))
	for i, row := range sh.Rows {
		for j, c := range row {
			switch c.Kind {
			case CellMoney:
				rec[j] = strconv.FormatInt(c.Money, 10)
			case CellRate:
				rec[j] = FormatRate(c.Rate, lang)
			default:
				rec[j] = safe(c.Text)
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

// xlsxSheetName is the worksheet of an XLSX report, by language.
var xlsxSheetName = map[Lang]string{LangVI: "Tiến độ giải ngân", LangEN: "Progress"}

// WriteXLSX writes sh as an XLSX workbook of one sheet, row by row through excelize's
// stream writer (rows past its memory threshold go to a temporary file). Money cells
// hold whole đồng as integers shown with thousands separators; rates hold the
// percentage shown with two decimals.
func WriteXLSX(w io.Writer, sh Sheet, lang Lang) (err error) {
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
	if sh.Name != "" {
		name = sh.Name
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

// tableGap separates the columns of a printed table.
const tableGap = "  "

// WriteTable prints sh as an aligned text table, as `ledger report` shows it: the header
// block as people read it in lang (Sheet.MetaText: 31/05/2024 in Vietnamese, the basis
// in words), text columns left-aligned, money with the language's thousands separator and rates
// right-aligned.
func WriteTable(w io.Writer, sh Sheet, lang Lang) error {
	var b strings.Builder
	b.WriteString(sh.Title + "\n")
	for i, m := range sh.Meta {
		if i < len(sh.MetaText) && sh.MetaText[i] != "" {
			m[1] = sh.MetaText[i]
		}
		if m[1] == "" {
			b.WriteString(m[0] + "\n")
		} else {
			b.WriteString(m[0] + ": " + m[1] + "\n")
		}
	}
	b.WriteByte('\n')
	cells := make([][]string, 0, len(sh.Rows)+1)
	cells = append(cells, sh.Columns)
	right := make([]bool, len(sh.Columns))
	for _, row := range sh.Rows {
		out := make([]string, len(row))
		for j, c := range row {
			switch c.Kind {
			case CellMoney:
				out[j], right[j] = FormatDong(c.Money, lang), true
			case CellRate:
				out[j], right[j] = FormatRate(c.Rate, lang), true
			default:
				out[j] = c.Text
			}
		}
		cells = append(cells, out)
	}
	width := make([]int, len(sh.Columns))
	for _, row := range cells {
		for j, s := range row {
			width[j] = max(width[j], utf8.RuneCountInString(s))
		}
	}
	for _, row := range cells {
		var line strings.Builder
		for j, s := range row {
			if j > 0 {
				line.WriteString(tableGap)
			}
			pad := strings.Repeat(" ", width[j]-utf8.RuneCountInString(s))
			if right[j] {
				line.WriteString(pad + s)
			} else {
				line.WriteString(s + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
