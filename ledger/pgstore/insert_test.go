package pgstore_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/vnntp/ledger/ledger"
)

// TestInsertEncoding appends, through the INSERT of arrays that the writer encodes
// itself, events of every type (so every column holds a value in some row and NULL in
// another), dates and a time before PostgreSQL's epoch, and idempotency keys with and
// without rejections, alone and with events; and checks what PostgreSQL stored: the
// columns against the data (Verify), the events read back, and the dates as PostgreSQL
// prints them.
func TestInsertEncoding(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	w := acquire(t, s)
	ctx := testContext(t)
	old := allocation(lineA, 7)
	old.EffectiveDate = ledger.MakeDate(1999, time.December, 31)
	old.RecordedAt = time.Date(1999, time.December, 31, 23, 59, 59, 999999000, time.UTC)
	events := chain(0, ledger.GenesisHash, append(everyType(), old)...)
	keys := []ledger.KeyRecord{
		{Key: "k-1", RequestHash: [32]byte{1}, First: 1, Last: 1,
			Rejections: []byte(`[{"index":1,"code":"invalid_argument","field":"amount","message":"phải là số dương"}]`)},
		{Key: "k-2", RequestHash: [32]byte{2}, First: 2, Last: int64(len(events))},
	}
	if err := w.Append(ctx, events, keys); err != nil {
		t.Fatal(err)
	}
	// A commit of keys alone: a batch whose every command was refused.
	if err := w.Append(ctx, nil, []ledger.KeyRecord{{Key: "k-3", RequestHash: [32]byte{3}, First: 1, Last: 1}}); err != nil {
		t.Fatal(err)
	}

	if rep, err := s.Verify(ctx, ledger.VerifyOptions{}); err != nil || rep.Finding != nil {
		t.Fatalf("Verify = %+v, %v", rep.Finding, err)
	}
	got := readAll(t, s, 0)
	if len(got) != len(events) {
		t.Fatalf("read back %d events, want %d", len(got), len(events))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], events[i]) {
			t.Errorf("event %d (%s) read back differs:\n got %+v\nwant %+v", i+1, events[i].Type, got[i], events[i])
		}
	}
	var date, recorded string
	if err := s.Pool().QueryRow(ctx, `SELECT effective_date::text, to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')
		FROM events WHERE position = $1`, old.Position).Scan(&date, &recorded); err != nil {
		t.Fatal(err)
	}
	if date != "1999-12-31" || recorded != "1999-12-31 23:59:59.999999" {
		t.Errorf("stored effective date %s, recorded at %s; want 1999-12-31, 1999-12-31 23:59:59.999999", date, recorded)
	}
	var stored []string
	if err := w.ReadKeys(ctx, 0, func(k ledger.KeyRecord) error {
		if k.RequestHash[0] == 0 || (k.Key == "k-1") != (k.Rejections != nil) {
			t.Errorf("key %s read back as %+v", k.Key, k)
		}
		stored = append(stored, k.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(stored) != 3 {
		t.Errorf("keys read back: %v, want k-1, k-2, k-3", stored)
	}
}
