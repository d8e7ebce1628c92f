package main

import "testing"

// TestLongLineFigure runs the long-line measurement of `ledger bench` once each way, so
// the bench cannot rot; the times are only logged.
func TestLongLineFigure(t *testing.T) {
	for _, days := range []int{benchLongLineDays, benchLongLineDaysWorst} {
		for _, headOnly := range []bool{false, true} {
			d, err := longLineFigure(headOnly, days)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d days, head only %v: %v per back-dated disbursement on a line of %d events", days, headOnly, d, benchLongLineEvents)
		}
	}
}
