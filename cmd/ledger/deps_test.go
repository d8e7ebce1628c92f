package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestDependencyDirection keeps the layout of docs/design.md §9: the domain imports nothing of
// ours but its snapshot encoding (ledger/snapcodec, which imports nothing of ours) and no driver; projections, report, the dashboard and api import only the domain
// and what lies between it and them, never the adapters (pgstore, natsbus) nor a driver;
// report and the dashboard never import api, and api never the dashboard (it mounts it
// through api.Pages).
func TestDependencyDirection(t *testing.T) {
	const mod = "github.com/vnntp/ledger/"
	drivers := []string{"github.com/jackc/", "github.com/nats-io/", "github.com/pressly/"}
	rules := []struct {
		pkg     string
		ownDeps []string // packages of this module it may import
	}{
		{"ledger", []string{"ledger/snapcodec"}},
		{"ledger/snapcodec", nil},
		{"projections", []string{"ledger", "ledger/snapcodec"}},
		{"report", []string{"ledger", "ledger/snapcodec", "projections"}},
		{"dashboard", []string{"ledger", "ledger/snapcodec", "projections", "report"}},
		{"api", []string{"ledger", "ledger/snapcodec", "projections", "report"}},
	}
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-deps", "../../"+r.pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", r.pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if own, ok := strings.CutPrefix(dep, mod); ok {
				if own != r.pkg && !slices.Contains(r.ownDeps, own) {
					t.Errorf("%s imports %s", r.pkg, dep)
				}
				continue
			}
			for _, d := range drivers {
				if strings.HasPrefix(dep, d) {
					t.Errorf("%s imports the driver %s", r.pkg, dep)
				}
			}
		}
	}
}

// TestStoreDoubleOnlyInTests keeps internal/storetest (the store conformance suite and
// MemStore, the in-memory test double) out of every program: only tests may import it.
func TestStoreDoubleOnlyInTests(t *testing.T) {
	const storetest = "github.com/vnntp/ledger/internal/storetest"
	// Imports lists a package's non-test imports.
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) > 0 && slices.Contains(fields[1:], storetest) {
			t.Errorf("%s imports %s outside its tests", fields[0], storetest)
		}
	}
}
