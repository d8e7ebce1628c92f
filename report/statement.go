package report

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/vnntp/ledger/ledger"
)

// A Treasury statement (bảng kê chứng từ của Kho bạc) is a CSV (UTF-8) or XLSX file: a
// header row naming the columns, then one voucher per row (docs/reconciliation.md).
//
//	office       Treasury office code (Mã KBNN); every row must be the office reconciled
//	type         voucher type (Loại chứng từ), e.g. C2-02
//	number       voucher number (Số chứng từ), e.g. 000245
//	date         voucher date: 2026-04-10 or 10/04/2026 (an XLSX date cell too)
//	amount       whole đồng, digits only: 2000500000
//	description  optional free text (Nội dung)
//
// Columns may come in any order, under their English names or the Vietnamese ones
// above (case and surrounding spaces do not matter). Anything else is refused, naming
// the row and the column, and nothing is recorded: an unknown or missing column, an
// amount with separators or a fraction, a date outside the period, a row of another
// office, a voucher listed twice, a formula, a file that is not UTF-8.

// Limits of a statement file.
const (
	// StatementBytesMax bounds a statement file: 200,000 rows of CSV take about 12 MB.
	StatementBytesMax = 32 << 20
	// statementUnzipMax bounds what an XLSX statement may unzip to (a zip bomb is refused).
	statementUnzipMax = 512 << 20
	// statementCellMax bounds one cell's text.
	statementCellMax = 500
	// voucherPartMax is the ledger's limit on an office, type or number.
	voucherPartMax = 32
	// excelSerialMin and excelSerialMax bound an XLSX date serial (1982 to 2119).
	excelSerialMin = 30_000
	excelSerialMax = 80_000
)

// Statement columns.
const (
	colOffice = iota
	colType
	colNumber
	colDate
	colAmount
	colDescription
	colCount
)

var colNames = [colCount]string{"office", "type", "number", "date", "amount", "description"}

// colAliases maps a header (lower case, trimmed) to its column.
var colAliases = map[string]int{
	"office": colOffice, "mã kbnn": colOffice, "ma kbnn": colOffice,
	"type": colType, "loại chứng từ": colType, "loai chung tu": colType,
	"number": colNumber, "số chứng từ": colNumber, "so chung tu": colNumber,
	"date": colDate, "ngày chứng từ": colDate, "ngày": colDate, "ngay chung tu": colDate,
	"amount": colAmount, "số tiền": colAmount, "so tien": colAmount,
	"description": colDescription, "nội dung": colDescription, "noi dung": colDescription,
}

// StatementError is a malformed statement: the row (1-based, the header is row 1; 0
// for the file as a whole) and the column it names.
type StatementError struct {
	Row     int
	Column  string
	Message string
}

func (e *StatementError) Error() string {
	switch {
	case e.Row == 0:
		return "statement: " + e.Message
	case e.Column == "":
		return fmt.Sprintf("statement row %d: %s", e.Row, e.Message)
	}
	return fmt.Sprintf("statement row %d, column %s: %s", e.Row, e.Column, e.Message)
}

// AsLedgerError returns the error as an invalid_argument on the field "statement",
// its message naming the row and the column.
func (e *StatementError) AsLedgerError() *ledger.Error {
	return &ledger.Error{Code: ledger.CodeInvalidArgument, Field: "statement", Message: e.Error()}
}

// StatementPeriod is what a statement must agree with.
type StatementPeriod struct {
	Office   string
	From, To ledger.Date
}

// ParseStatement reads a statement (XLSX when data is a zip archive, else CSV) and
// returns its vouchers in row order. Every error is a *StatementError.
func ParseStatement(data []byte, p StatementPeriod) ([]ledger.StatementEntry, error) {
	if len(data) > StatementBytesMax {
		return nil, &StatementError{Message: fmt.Sprintf("the file is larger than %d bytes", StatementBytesMax)}
	}
	if len(data) == 0 {
		return nil, &StatementError{Message: "the file is empty"}
	}
	var rows func(yield func(row int, cells []string) error) error
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		rows = func(yield func(int, []string) error) error { return xlsxRows(data, yield) }
	} else {
		if err := checkUTF8(data); err != nil {
			return nil, err
		}
		rows = func(yield func(int, []string) error) error { return csvRows(data, yield) }
	}
	var cols []int // file column → statement column
	var entries []ledger.StatementEntry
	err := rows(func(row int, cells []string) error {
		if cols == nil {
			c, err := header(cells)
			cols = c
			return err
		}
		if allEmpty(cells) {
			return nil
		}
		if len(entries) == ledger.ReconcileRowsMax {
			return &StatementError{Row: row, Message: fmt.Sprintf("the statement has more than %d vouchers", ledger.ReconcileRowsMax)}
		}
		e, err := entry(row, cells, cols, p)
		if err != nil {
			return err
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if cols == nil {
		return nil, &StatementError{Message: "the file has no header row (" + strings.Join(colNames[:], ", ") + ")"}
	}
	if first, second := ledger.DuplicateEntry(entries); second != 0 {
		return nil, &StatementError{Row: second, Column: "number", Message: fmt.Sprintf("the voucher of row %d is listed again", first)}
	}
	return entries, nil
}

// header maps the header row's cells to statement columns.
func header(cells []string) ([]int, error) {
	cols := make([]int, len(cells))
	var seen [colCount]bool
	for i, c := range cells {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(c, "\ufeff")))
		col, ok := colAliases[name]
		if !ok {
			if name == "" && allEmpty(cells[i:]) {
				cols = cols[:i]
				break
			}
			return nil, &StatementError{Row: 1, Column: excelColumn(i), Message: fmt.Sprintf(
				"%q is not a statement column (%s)", c, strings.Join(colNames[:], ", "))}
		}
		if seen[col] {
			return nil, &StatementError{Row: 1, Column: excelColumn(i), Message: fmt.Sprintf("column %s appears twice", colNames[col])}
		}
		seen[col] = true
		cols[i] = col
	}
	for col, ok := range seen[:colDescription] {
		if !ok {
			return nil, &StatementError{Row: 1, Column: colNames[col], Message: "the column is missing (" + strings.Join(colNames[:], ", ") + ")"}
		}
	}
	return cols, nil
}

func entry(row int, cells []string, cols []int, p StatementPeriod) (ledger.StatementEntry, error) {
	e := ledger.StatementEntry{Row: row}
	var vals [colCount]string
	for i, c := range cells {
		if i >= len(cols) {
			if strings.TrimSpace(c) != "" {
				return e, &StatementError{Row: row, Column: excelColumn(i), Message: "a value beyond the header's columns"}
			}
			continue
		}
		vals[cols[i]] = strings.TrimSpace(c)
	}
	fail := func(col int, format string, args ...any) error {
		return &StatementError{Row: row, Column: colNames[col], Message: fmt.Sprintf(format, args...)}
	}
	for col, v := range vals {
		if len(v) > statementCellMax {
			return e, fail(col, "is longer than %d bytes", statementCellMax)
		}
		if v != "" && strings.ContainsAny(v[:1], "=+@") {
			return e, fail(col, "%q looks like a formula; formulas are not accepted", v)
		}
	}
	for _, col := range []int{colOffice, colType, colNumber} {
		if err := voucherPart(vals[col]); err != "" {
			return e, fail(col, "%s", err)
		}
	}
	if vals[colOffice] != p.Office {
		return e, fail(colOffice, "is %q: the statement is reconciled for office %q", vals[colOffice], p.Office)
	}
	e.Type, e.Number, e.Description = vals[colType], vals[colNumber], vals[colDescription]
	d, err := parseStatementDate(vals[colDate])
	if err != nil {
		return e, fail(colDate, "%v", err)
	}
	if d < p.From || d > p.To {
		return e, fail(colDate, "%s is outside the period %s to %s", d, p.From, p.To)
	}
	e.Date = d
	if e.Amount, err = parseStatementAmount(vals[colAmount]); err != nil {
		return e, fail(colAmount, "%v", err)
	}
	return e, nil
}

func voucherPart(s string) string {
	switch {
	case s == "":
		return "is empty"
	case len(s) > voucherPartMax:
		return fmt.Sprintf("is longer than %d characters", voucherPartMax)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return fmt.Sprintf("%q may hold only printable ASCII without spaces", s)
		}
	}
	return ""
}

// parseStatementAmount reads whole đồng written with digits only. Separators are
// refused, "1.500.000.000" included: a dot groups thousands in Vietnamese and marks
// decimals in English, and a money figure must not depend on which one the file meant.
func parseStatementAmount(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("is empty")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			if strings.Trim(s, "0123456789., ") == "" {
				return 0, fmt.Errorf("%q: write whole đồng with digits only, without separators (1500000000, not 1.500.000.000 nor 1,500,000,000)", s)
			}
			return 0, fmt.Errorf("%q is not a whole number of đồng", s)
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v > ledger.MaxAmount {
		return 0, fmt.Errorf("%q is beyond %d đồng", s, ledger.MaxAmount)
	}
	if v == 0 {
		return 0, errors.New("must be more than 0")
	}
	return v, nil
}

// parseStatementDate reads 2026-04-10, 10/04/2026 (day first, as Vietnamese write it) or
// an XLSX date serial.
func parseStatementDate(s string) (ledger.Date, error) {
	if s == "" {
		return 0, errors.New("is empty")
	}
	if d, err := ledger.ParseDate(s, "date"); err == nil {
		return d, nil
	}
	if t, err := time.Parse("2/1/2006", s); err == nil {
		return ledger.DateOf(t), nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= excelSerialMin && n <= excelSerialMax {
		t, err := excelize.ExcelDateToTime(float64(n), false)
		if err == nil {
			return ledger.DateOf(t), nil
		}
	}
	return 0, fmt.Errorf("%q is not a date (YYYY-MM-DD or DD/MM/YYYY)", s)
}

func allEmpty(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// excelColumn names file column i (0-based) as a spreadsheet does: A, B, …, AA.
func excelColumn(i int) string {
	name, err := excelize.ColumnNumberToName(i + 1)
	if err != nil {
		return strconv.Itoa(i + 1)
	}
	return name
}

// checkUTF8 refuses a CSV that is not UTF-8 (a Windows-1258 export, for one), naming
// the row of the first bad byte.
func checkUTF8(data []byte) error {
	if utf8.Valid(data) {
		return nil
	}
	bad := 0
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			bad = i
			break
		}
		i += n
	}
	return &StatementError{Row: 1 + bytes.Count(data[:bad], []byte{'\n'}), Message: fmt.Sprintf(
		"byte %d is not UTF-8: save the statement as \"CSV UTF-8\" (or XLSX)", bad)}
}

func csvRows(data []byte, yield func(int, []string) error) error {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return &StatementError{Row: pe.Line, Message: "malformed CSV: " + pe.Err.Error()}
			}
			return &StatementError{Message: "malformed CSV: " + err.Error()}
		}
		if err := yield(line, rec); err != nil {
			return err
		}
	}
}

func xlsxRows(data []byte, yield func(int, []string) error) error {
	if err := xlsxFormulas(data); err != nil {
		return err
	}
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: statementUnzipMax})
	if err != nil {
		return &StatementError{Message: "not a readable XLSX file: " + err.Error()}
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return &StatementError{Message: "the workbook has no sheet"}
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return &StatementError{Message: "not a readable XLSX file: " + err.Error()}
	}
	defer rows.Close()
	for n := 1; rows.Next(); n++ {
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return &StatementError{Row: n, Message: "unreadable row: " + err.Error()}
		}
		if err := yield(n, cells); err != nil {
			return err
		}
	}
	if err := rows.Error(); err != nil {
		return &StatementError{Message: "not a readable XLSX file: " + err.Error()}
	}
	return nil
}

// xlsxFormulas refuses a workbook with a formula in any worksheet, naming the first
// cell: a statement holds the Treasury's figures, not computations over them. It scans
// the worksheets' bytes for a formula element (<f> or <x:f>) rather than decoding their
// XML, which costs ten times as much on a large statement.
func xlsxFormulas(data []byte) error {
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return &StatementError{Message: "not a readable XLSX file: " + err.Error()}
	}
	for _, zf := range z.File {
		if !strings.HasPrefix(zf.Name, "xl/worksheets/") || !strings.HasSuffix(zf.Name, ".xml") {
			continue
		}
		if zf.UncompressedSize64 > statementUnzipMax {
			return &StatementError{Message: "a worksheet unzips beyond the size limit"}
		}
		rc, err := zf.Open()
		if err != nil {
			return &StatementError{Message: "not a readable XLSX file: " + err.Error()}
		}
		xmlb, err := io.ReadAll(io.LimitReader(rc, statementUnzipMax+1))
		rc.Close()
		if err != nil || len(xmlb) > statementUnzipMax {
			return &StatementError{Message: "not a readable XLSX file: a worksheet cannot be unzipped within the size limit"}
		}
		if at := formulaAt(xmlb); at >= 0 {
			col, row, _ := excelize.SplitCellName(cellBefore(xmlb, at))
			return &StatementError{Row: row, Column: col, Message: "the cell holds a formula; formulas are not accepted (paste the values)"}
		}
	}
	return nil
}

// formulaAt returns the offset of the first formula element (<f …>, <x:f …>), or -1.
func formulaAt(b []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			return -1
		}
		i += j + 1
		k := i
		for k < len(b) && (b[k] >= 'a' && b[k] <= 'z' || b[k] >= 'A' && b[k] <= 'Z' || b[k] >= '0' && b[k] <= '9') {
			k++
		}
		name := b[i:k]
		if k < len(b) && b[k] == ':' { // a namespace prefix
			k++
			name = nil
			if k < len(b) && b[k] == 'f' {
				name = b[k : k+1]
				k++
			}
		}
		if len(name) == 1 && name[0] == 'f' && k < len(b) && (b[k] == '>' || b[k] == ' ' || b[k] == '/') {
			return i - 1
		}
	}
}

// cellBefore returns the reference (r="B3") of the last cell element that starts before
// offset at, or "A1" when there is none.
func cellBefore(b []byte, at int) string {
	head := b[:at]
	for {
		j := bytes.LastIndex(head, []byte(" r=\""))
		if j < 0 {
			return "A1"
		}
		if end := bytes.IndexByte(head[j+4:], '"'); end >= 0 {
			return string(head[j+4 : j+4+end])
		}
		head = head[:j]
	}
}
