package main

import (
	"os/exec"
	"strings"
	"testing"
)

// eventConsumers names every consumer of event types, each checked by a test named
// TestEveryConsumerHandlesEveryEventType in its package. Adding an event type means
// teaching each of them (most only through ledger.Event.Postings).
var eventConsumers = map[string][]string{
	"./ledger/":           {"ledger.Event.Postings", "ledger.State.Apply", "ledger.State.Revert", "ledger.LineBalance.Add"},
	"./projections/":      {"projections.Progress.Apply", "projections.Balances.Apply"},
	"./ledger/pgstore/":   {"pgstore read-model writer"},
	"./internal/checker/": {"internal/checker.Check"},
	"./dashboard/":        {"dashboard event names (vi)", "dashboard event names (en)", "dashboard line events"},
}

// TestConsumersNameAMissingEventType builds the consumers with the ledger_testtype tag,
// which adds an event type none of them knows, and expects each consumer's
// exhaustiveness test to fail naming it: a new event type cannot be forgotten silently.
func TestConsumersNameAMissingEventType(t *testing.T) {
	args := []string{"test", "-count=1", "-tags", "ledger_testtype", "-run", "^TestEveryConsumerHandlesEveryEventType$"}
	for pkg := range eventConsumers {
		args = append(args, pkg)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("with a test-only event type the exhaustiveness tests passed:\n%s", out)
	}
	for pkg, names := range eventConsumers {
		for _, name := range names {
			if !strings.Contains(string(out), name+" does not handle event type test.only") {
				t.Errorf("%s: the exhaustiveness test does not name %s for the test-only type", pkg, name)
			}
		}
	}
	if t.Failed() {
		t.Logf("go %s:\n%s", strings.Join(args, " "), out)
	}
}
