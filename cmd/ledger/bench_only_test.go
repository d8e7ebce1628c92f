package main

import (
	"strings"
	"testing"
)

// TestBenchOnly: --only names sections of `ledger bench`; an unknown one is refused
// naming the flag, and empty selects every section.
func TestBenchOnly(t *testing.T) {
	if only, err := parseBenchOnly(""); err != nil || only != nil {
		t.Errorf("empty: %v, %v; want every section", only, err)
	}
	only, err := parseBenchOnly("lines-at, server")
	if err != nil || len(only) != 2 || !only[benchLinesAt] || !only[benchServer] {
		t.Errorf("lines-at, server: %v, %v", only, err)
	}
	m := benchMode{only: only}
	if !m.generated() || m.runs(benchWrite) || !m.runs(benchLinesAt) {
		t.Errorf("mode %+v: generated %v, runs write %v", m, m.generated(), m.runs(benchWrite))
	}
	if _, err := parseBenchOnly("lines"); err == nil || !strings.HasPrefix(err.Error(), "only: ") {
		t.Errorf("unknown section: %v, want an error on only", err)
	}
}
