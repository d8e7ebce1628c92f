package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/xuri/excelize/v2"

	"github.com/vnntp/ledger/ledger"
)

// Officers enter disbursements in Excel: GET /v1/templates/disbursements.xlsx gives the
// workbook with its columns (Vietnamese headers, the field name in brackets) and data
// validation, and `ledger import --xlsx` reads it back into disbursement commands for the
// batch API. A malformed row is refused naming its row and column, before anything is sent.

// TemplateRowsMax bounds the rows of a disbursement workbook: one atomic batch.
const TemplateRowsMax = 10_000

// templateSheet is the worksheet of the disbursement template.
const templateSheet = "Giai ngan"

// templateCol is one column of the disbursement template.
type templateCol struct {
	key, vi string
	width   float64
}

var templateCols = []templateCol{
	{"program", "Chương trình", 12}, {"year", "Năm kế hoạch", 10}, {"source", "Nguồn vốn", 14},
	{"project", "Dự án", 12}, {"unit", "Đơn vị", 10}, {"amount", "Số tiền (đồng)", 18},
	{"kind", "Loại (advance: tạm ứng, payment: thanh toán)", 14}, {"effective_date", "Ngày giải ngân", 14},
	{"payee", "Đơn vị nhận", 28}, {"voucher_office", "Mã KBNN", 12}, {"voucher_type", "Loại chứng từ", 12},
	{"voucher_number", "Số chứng từ", 14}, {"voucher_date", "Ngày chứng từ", 14}, {"note", "Ghi chú", 28},
	{"contract", "Mã hợp đồng (nếu có)", 38},
}

// templateHeader is the header cell of column c: "Số tiền (đồng) [amount]".
func templateHeader(c templateCol) string { return c.vi + " [" + c.key + "]" }

// WriteDisbursementTemplate writes the disbursement workbook: the header row, frozen,
// and data validation on the kind (a list), the year, the amount (a whole number of
// đồng) and the dates, for rows 2 to TemplateRowsMax+1.
func WriteDisbursementTemplate(w io.Writer) (err error) {
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if err := f.SetSheetName("Sheet1", templateSheet); err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Alignment: &excelize.Alignment{WrapText: true}})
	if err != nil {
		return err
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49}) // "@": codes like 000245 keep their zeros
	if err != nil {
		return err
	}
	last := strconv.Itoa(TemplateRowsMax + 1)
	for i, c := range templateCols {
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetCellStr(templateSheet, col+"1", templateHeader(c)); err != nil {
			return err
		}
		if err := f.SetColWidth(templateSheet, col, col, c.width); err != nil {
			return err
		}
		switch c.key {
		case "year", "amount", "kind", "effective_date", "voucher_date":
		default:
			if err := f.SetColStyle(templateSheet, col, text); err != nil {
				return err
			}
		}
		dv := excelize.NewDataValidation(true)
		dv.Sqref = col + "2:" + col + last
		switch c.key {
		case "kind":
			err = dv.SetDropList([]string{string(ledger.KindAdvance), string(ledger.KindPayment)})
		case "year":
			err = dv.SetRange(1990, 2999, excelize.DataValidationTypeWhole, excelize.DataValidationOperatorBetween)
		case "amount":
			err = dv.SetRange(1, float64(ledger.MaxAmount), excelize.DataValidationTypeWhole, excelize.DataValidationOperatorBetween)
		case "effective_date", "voucher_date":
			err = dv.SetRange("DATE(1990,1,1)", "DATE(2999,12,31)", excelize.DataValidationTypeDate, excelize.DataValidationOperatorBetween)
		default:
			continue
		}
		if err != nil {
			return err
		}
		dv.SetError(excelize.DataValidationErrorStyleStop, c.vi, "Giá trị không hợp lệ / invalid value")
		if err := f.AddDataValidation(templateSheet, dv); err != nil {
			return err
		}
	}
	if err := f.SetRowStyle(templateSheet, 1, 1, bold); err != nil {
		return err
	}
	if err := f.SetPanes(templateSheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	return f.Write(w)
}

// ParseDisbursements reads a filled disbursement workbook into commands, one per
// non-empty row, with the row of each. Every error is a *StatementError naming the row
// and the column (its field name).
func ParseDisbursements(data []byte) (cmds []*ledger.Disburse, rows []int, err error) {
	if len(data) > StatementBytesMax {
		return nil, nil, &StatementError{Message: fmt.Sprintf("the file is larger than %d bytes", StatementBytesMax)}
	}
	if !bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return nil, nil, &StatementError{Message: "not an XLSX workbook (start from GET /v1/templates/disbursements.xlsx)"}
	}
	var cols []string // file column → field name
	err = xlsxRows(data, func(row int, cells []string) error {
		if cols == nil {
			for i, h := range cells {
				key := strings.TrimSpace(h)
				if open, close := strings.LastIndexByte(key, '['), strings.LastIndexByte(key, ']'); open >= 0 && close > open {
					key = key[open+1 : close]
				}
				known := false
				for _, c := range templateCols {
					known = known || c.key == key
				}
				if !known {
					if key == "" && allEmpty(cells[i:]) {
						break
					}
					return &StatementError{Row: 1, Column: excelColumn(i), Message: fmt.Sprintf("%q is not a column of the disbursement template", h)}
				}
				cols = append(cols, key)
			}
			for _, c := range templateCols {
				if c.key != "note" && c.key != "contract" && !containsStr(cols, c.key) {
					return &StatementError{Row: 1, Column: c.key, Message: "the column is missing"}
				}
			}
			return nil
		}
		if allEmpty(cells) {
			return nil
		}
		if len(cmds) == TemplateRowsMax {
			return &StatementError{Row: row, Message: fmt.Sprintf("more than %d disbursements: split the workbook", TemplateRowsMax)}
		}
		c, err := disbursementRow(row, cells, cols)
		if err != nil {
			return err
		}
		cmds, rows = append(cmds, c), append(rows, row)
		return nil
	})
	if err == nil && cols == nil {
		err = &StatementError{Message: "the workbook has no header row"}
	}
	if err != nil {
		return nil, nil, err
	}
	return cmds, rows, nil
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func disbursementRow(row int, cells []string, cols []string) (*ledger.Disburse, error) {
	v := map[string]string{}
	for i, c := range cells {
		if i < len(cols) {
			v[cols[i]] = strings.TrimSpace(c)
		} else if strings.TrimSpace(c) != "" {
			return nil, &StatementError{Row: row, Column: excelColumn(i), Message: "a value beyond the header's columns"}
		}
	}
	fail := func(col, format string, args ...any) error {
		return &StatementError{Row: row, Column: col, Message: fmt.Sprintf(format, args...)}
	}
	for k, s := range v {
		if s != "" && strings.ContainsAny(s[:1], "=+@") {
			return nil, fail(k, "%q looks like a formula; formulas are not accepted", s)
		}
	}
	c := &ledger.Disburse{Line: ledger.Line{Program: v["program"], Source: v["source"], Project: v["project"], Unit: v["unit"]},
		Kind: ledger.DisbursementKind(v["kind"]), Payee: v["payee"], Note: v["note"],
		Voucher: ledger.Voucher{Office: v["voucher_office"], Type: v["voucher_type"], Number: v["voucher_number"]}}
	y, err := strconv.Atoi(v["year"])
	if err != nil {
		return nil, fail("year", "%q is not a plan year", v["year"])
	}
	c.Line.Year = y
	if c.Amount, err = parseStatementAmount(v["amount"]); err != nil {
		return nil, fail("amount", "%v", err)
	}
	if c.EffectiveDate, err = parseStatementDate(v["effective_date"]); err != nil {
		return nil, fail("effective_date", "%v", err)
	}
	if c.Voucher.Date, err = parseStatementDate(v["voucher_date"]); err != nil {
		return nil, fail("voucher_date", "%v", err)
	}
	if k := v["contract"]; k != "" {
		if c.Contract, err = uuid.Parse(k); err != nil {
			return nil, fail("contract", "%q is not a contract id", k)
		}
	}
	if err := c.Validate(); err != nil {
		field := strings.ReplaceAll(ledger.Field(err), "voucher.", "voucher_")
		field = strings.TrimPrefix(field, "line.")
		var le *ledger.Error
		msg := err.Error()
		if errors.As(err, &le) {
			msg = le.Message
		}
		return nil, fail(field, "%s", msg)
	}
	return c, nil
}
