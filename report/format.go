package report

import (
	"strconv"
	"strings"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/projections"
)

// Money scales of amounts written for reading: a billion đồng or more is written in
// billions (tỷ), less in millions (triệu), both with two decimals.
const (
	DongPerBillion = 1_000_000_000
	DongPerMillion = 1_000_000
)

// FormatRate writes a rate with two decimals and the language's decimal mark (62,95 in
// Vietnamese, 62.95 in English); "" for no rate.
func FormatRate(r *projections.Rate, lang Lang) string {
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
func FormatDong(n int64, lang Lang) string {
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

// FormatAmount writes an amount of đồng for reading, rounded half away from zero to two
// decimals of its scale: 478,93 tỷ đồng or 120,00 triệu đồng in Vietnamese,
// 478.93 billion VND or 120.00 million VND in English; nothing at all is 0 đồng. Integers only: the hundredths are
// computed by integer division, so no amount is ever misprinted by a float.
func FormatAmount(n int64, lang Lang) string {
	if n == 0 {
		if lang == LangEN {
			return "0 VND"
		}
		return "0 đồng"
	}
	unit, scale := "tỷ đồng", int64(DongPerBillion)
	if lang == LangEN {
		unit = "billion VND"
	}
	if n > -DongPerBillion && n < DongPerBillion {
		unit, scale = "triệu đồng", DongPerMillion
		if lang == LangEN {
			unit = "million VND"
		}
	}
	return FormatScaled(n, scale, lang) + " " + unit
}

// FormatScaled writes n / scale with two decimals, rounded half away from zero, with the
// language's separators (1.234,56 in Vietnamese, 1,234.56 in English). scale is a
// multiple of 100.
func FormatScaled(n, scale int64, lang Lang) string {
	neg := n < 0
	u := uint64(n)
	if neg {
		u = -u
	}
	step := uint64(scale / 100)
	hundredths := u / step
	if u%step >= step-u%step { // the remainder is at least half a step
		hundredths++
	}
	whole := FormatDong(int64(hundredths/100), lang)
	frac := hundredths % 100
	mark := ","
	if lang == LangEN {
		mark = "."
	}
	s := whole + mark + string([]byte{byte('0' + frac/10), byte('0' + frac%10)})
	if neg && hundredths != 0 {
		s = "-" + s
	}
	return s
}

// FormatPercent writes a rate as 62,95% (vi) or 62.95% (en); "–" when there is no rate.
func FormatPercent(r *projections.Rate, lang Lang) string {
	if r == nil {
		return "–"
	}
	return FormatRate(r, lang) + "%"
}

// FormatDate writes a business date as 31/05/2024 (vi) or 2024-05-31 (en); "" for none.
func FormatDate(d ledger.Date, lang Lang) string {
	if d.IsZero() {
		return ""
	}
	if lang == LangEN {
		return d.String()
	}
	s := d.String()
	return s[8:10] + "/" + s[5:7] + "/" + s[0:4]
}

// FormatMonth writes the month of d as 05/2024 (vi) or 2024-05 (en).
func FormatMonth(d ledger.Date, lang Lang) string {
	s := d.String()
	if lang == LangEN {
		return s[:7]
	}
	return s[5:7] + "/" + s[:4]
}
