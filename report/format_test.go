package report

import (
	"testing"
	"time"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/projections"
)

func TestFormatDongAndRate(t *testing.T) {
	for _, c := range []struct {
		n      int64
		vi, en string
	}{
		{0, "0", "0"}, {999, "999", "999"}, {1000, "1.000", "1,000"},
		{478_930_000_000, "478.930.000.000", "478,930,000,000"}, {-1_234_567, "-1.234.567", "-1,234,567"},
	} {
		if got := FormatDong(c.n, LangVI); got != c.vi {
			t.Errorf("FormatDong(%d, vi) = %q, want %q", c.n, got, c.vi)
		}
		if got := FormatDong(c.n, LangEN); got != c.en {
			t.Errorf("FormatDong(%d, en) = %q, want %q", c.n, got, c.en)
		}
	}
	r := projections.RateOf(478_930_000_000, 760_800_000_000)
	if FormatRate(r, LangVI) != "62,95" || FormatRate(r, LangEN) != "62.95" || FormatRate(nil, LangEN) != "" {
		t.Errorf("FormatRate: %q %q", FormatRate(r, LangVI), FormatRate(r, LangEN))
	}
}

func TestFormatAmountDatePercent(t *testing.T) {
	for _, c := range []struct {
		n      int64
		vi, en string
	}{
		{478_930_000_000, "478,93 tỷ đồng", "478.93 billion VND"},
		{760_800_000_000, "760,80 tỷ đồng", "760.80 billion VND"},
		{1_234_565_000_000, "1.234,57 tỷ đồng", "1,234.57 billion VND"}, // half-up
		{1_234_564_999_999, "1.234,56 tỷ đồng", "1,234.56 billion VND"},
		{120_000_000, "120,00 triệu đồng", "120.00 million VND"},
		{999_999_999, "1.000,00 triệu đồng", "1,000.00 million VND"},
		{0, "0 đồng", "0 VND"},
		{-2_500_000_000, "-2,50 tỷ đồng", "-2.50 billion VND"},
		{-4_000, "0,00 triệu đồng", "0.00 million VND"}, // no "-0,00"
	} {
		if got := FormatAmount(c.n, LangVI); got != c.vi {
			t.Errorf("FormatAmount(%d, vi) = %q, want %q", c.n, got, c.vi)
		}
		if got := FormatAmount(c.n, LangEN); got != c.en {
			t.Errorf("FormatAmount(%d, en) = %q, want %q", c.n, got, c.en)
		}
	}
	if got := FormatScaled(9_223_372_036_854_775_807, DongPerBillion, LangEN); got != "9,223,372,036.85" {
		t.Errorf("FormatScaled(MaxInt64) = %q", got)
	}
	r := projections.RateOf(478_930_000_000, 760_800_000_000)
	if FormatPercent(r, LangVI) != "62,95%" || FormatPercent(r, LangEN) != "62.95%" || FormatPercent(nil, LangVI) != "–" {
		t.Errorf("FormatPercent: %q %q", FormatPercent(r, LangVI), FormatPercent(r, LangEN))
	}
	d := ledger.MakeDate(2024, time.May, 31)
	if FormatDate(d, LangVI) != "31/05/2024" || FormatDate(d, LangEN) != "2024-05-31" || FormatDate(0, LangVI) != "" {
		t.Errorf("FormatDate: %q %q", FormatDate(d, LangVI), FormatDate(d, LangEN))
	}
}
