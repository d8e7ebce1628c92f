package ledger

// Exports meant for spreadsheets follow two rules (docs/operations.md, "Exports"):
//
//   - A text cell that starts with one of CSVFormulaChars is written with CSVNeutraliser
//     (an apostrophe) in front, so that Excel, LibreOffice and Google Sheets show it as
//     text instead of evaluating it as a formula (a payee "=HYPERLINK(…)" or a catalog
//     name "@SUM(…)" would otherwise run when the file is opened). Number cells (money,
//     positions, rates) are never touched: "-537652453074" stays a number.
//   - A CSV file starts with the UTF-8 byte order mark (UTF8BOM) unless the caller asks
//     for none, so that Excel reads Vietnamese as UTF-8 rather than the ANSI code page.

// CSVFormulaChars are the first characters that make a spreadsheet read a cell as a
// formula (=, +, -, @) or shift it into another cell (tab, carriage return).
const CSVFormulaChars = "=+-@\t\r"

// CSVNeutraliser is put in front of a text cell that starts with one of CSVFormulaChars.
const CSVNeutraliser = "'"

// UTF8BOM is the byte order mark at the start of a CSV meant for Excel.
const UTF8BOM = "\ufeff"

// NeutraliseCSVText returns s as a CSV text cell that no spreadsheet evaluates: s itself,
// or CSVNeutraliser + s when s starts with one of CSVFormulaChars.
func NeutraliseCSVText(s string) string {
	if NeedsCSVNeutralising(s) {
		return CSVNeutraliser + s
	}
	return s
}

// NeedsCSVNeutralising reports whether s, as a text cell, would be read as a formula.
func NeedsCSVNeutralising(s string) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}
