package api

import (
	"net/http"
	"testing"

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

// TestProgressWithoutProjection: a server built without a projection answers the progress
// routes 503, after validating nothing it cannot serve.
func TestProgressWithoutProjection(t *testing.T) {
	hs := newHarness(t)
	for _, path := range []string{"/v1/progress", "/v1/progress.csv", "/v1/progress.xlsx", "/v1/progress/counterpart"} {
		checkProblem(t, hs.do(http.MethodGet, path, ""), http.StatusServiceUnavailable, "unavailable", "")
	}
}
