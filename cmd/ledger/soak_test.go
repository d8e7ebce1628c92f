//go:build soak

package main

import "testing"

// TestSoakKillDuringLoad is fault (a), long form: ≥ 50 kill -9 cycles. It is built only
// with the tag soak (make soak), so that `make test` runs the short form
// (TestKillDuringLoadLosesNothing) and nothing is skipped.
func TestSoakKillDuringLoad(t *testing.T) {
	killDuringLoad(t, soakKillCycles)
}
