// Package report lays the progress projection's reports out as tables and writes them in
// the budget office's conventions: CSV, XLSX and aligned text, with Vietnamese or English
// headers, đồng with the language's thousands separator, rates with its decimal mark and
// dates as 31/05/2024 or 2024-05-31. `ledger report` (the CLI), the API's CSV and XLSX
// routes and the dashboard share it, so that a figure reads the same everywhere. It
// imports the domain and the projections only.
package report

// Lang is the language of a report or a page.
type Lang string

// The languages.
const (
	LangVI Lang = "vi"
	LangEN Lang = "en"
)

// ParseLang returns the language named s; ok is false for anything but "vi" and "en".
func ParseLang(s string) (l Lang, ok bool) {
	switch Lang(s) {
	case LangVI:
		return LangVI, true
	case LangEN:
		return LangEN, true
	}
	return "", false
}
