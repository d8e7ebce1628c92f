package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/vnntp/ledger/demo"
	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// TestVerifyRules: `ledger verify --rules` finds nothing in the demo, and in a ledger
// recorded under the head-only availability check (as ledgers were before rule 2 covered
// every business date) it names the positions of the back-dated events that leave a line
// negative, exits non-zero, and stores nothing.
func TestVerifyRules(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), auditTestTimeout)
	defer cancel()
	var out, errOut bytes.Buffer
	src := demoLedger(t, ctx)
	if err := run(ctx, []string{"verify", "--rules", "--database-url", src}, &out, &errOut); err != nil {
		t.Fatalf("verify --rules on the demo: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "rules ok: ") {
		t.Fatalf("verify --rules on the demo printed %q", out.String())
	}

	url := testenv.DB(t)
	store, err := pgstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	w, err := store.AcquireWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seq := ledger.NewSequencer(ledger.SequencerConfig{Store: w, AvailabilityAtHeadOnly: true})
	if err := seq.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- seq.Run(runCtx) }()
	// C1 and C2: the whole demo has, in C3, a back-dated payment that only the check at
	// every business date refuses, and this writer checks the head only.
	err = demo.LoadSteps(ctx, seq.Submit, demo.StepsBeforeC3())
	line := ledger.Line{Program: "GNBV", Year: 2025, Source: "NSTW-DTPT", Project: "DA1", Unit: "062"}
	date := func(s string) ledger.Date { d, _ := ledger.ParseDate(s, "d"); return d }
	var last *ledger.Result
	for i, c := range []ledger.Command{
		&ledger.Allocate{Line: line, Amount: 1_000_000, EffectiveDate: date("2025-05-01"), Decision: "QĐ 1"},
		&ledger.Disburse{Line: line, Amount: 300_000, Kind: ledger.KindPayment, EffectiveDate: date("2025-01-15"), Payee: "HTX",
			Voucher: ledger.Voucher{Office: "KB", Type: "C2-02", Number: "R-1", Date: date("2025-01-15")}},
	} {
		if err != nil {
			break
		}
		last, err = seq.Submit(ctx, &ledger.Request{Commands: []ledger.Command{c}, Meta: ledger.Metadata{Actor: "test"}})
		if err == nil && last.Err != nil {
			t.Fatalf("command %d refused under the head-only check: %v", i, last.Err)
		}
	}
	stop()
	<-done
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	bad := last.Events[0].Position
	head, _, _ := store.Head(ctx)

	out.Reset()
	err = run(ctx, []string{"verify", "--rules", "--database-url", url}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "1 events break") {
		t.Fatalf("verify --rules on a bad history: err %v\n%s", err, out.String())
	}
	want := "rule 2: position " + strconv.FormatInt(bad, 10) + " line GNBV:2025:NSTW-DTPT:DA1:062 negative as of 2025-01-15"
	if !strings.Contains(out.String(), want) {
		t.Fatalf("verify --rules printed %q, want a line with %q", out.String(), want)
	}
	if h, _, _ := store.Head(ctx); h != head {
		t.Fatalf("verify --rules moved the head from %d to %d", head, h)
	}
}
