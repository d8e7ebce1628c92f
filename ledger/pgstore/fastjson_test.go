package pgstore_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// sampleData is the data of every event type, with strings that need escapes.
func sampleData() []ledger.EventData {
	l := &ledger.Line{Program: "GNBV", Year: 2024, Source: "NSTW-DTPT", Project: "DA1.TDA1", Unit: "062"}
	l2 := &ledger.Line{Program: "GNBV", Year: 2024, Source: "NSTW-DTPT", Project: "DA1.TDA1", Unit: "01873"}
	v := &ledger.Voucher{Office: "KBNN-NS", Type: "C2-02a", Number: "2024/17", Date: 20240301}
	return []ledger.EventData{
		{Line: l, Amount: 70_000_000_000, Decision: "1234/QĐ-UBND", Note: "giao vốn \"đợt 1\" \\ \n\t\u2028 🐄"},
		{From: l, To: l2, Amount: 1, Kind: string(ledger.KindSuballocation), Decision: "45/QĐ"},
		{Line: l, Amount: 5, IntoYear: 2025, Decision: "9/QĐ"},
		{Line: l, Amount: 9_007_199_254_740_992, Kind: string(ledger.KindAdvance), Payee: "HTX <Bộc Bố> & co", Voucher: v},
		{Line: l, EventID: "01900000-0000-7000-8000-000000000013", Amount: 12_000_000, Reason: "hộ không đủ điều kiện"},
		{Unit: &ledger.Unit{ID: "062", Code: "062", Name: "Huyện Ngân Sơn", Level: ledger.LevelDistrict, Parent: "06",
			Validity: ledger.Validity{ValidFrom: 20210101, ValidTo: 20250630}}},
		{Source: &ledger.Source{Code: "NSDP-DU", Name: "Vốn đối ứng", Budget: "local", Nature: "recurrent", Counterpart: true}},
		{},
	}
}

// TestFastDecodeMatchesEncodingJSON decodes every sample in the canonical form, in
// encoding/json's form and in PostgreSQL's jsonb text form, and compares with
// encoding/json.
func TestFastDecodeMatchesEncodingJSON(t *testing.T) {
	st, err := pgstore.Open(context.Background(), testenv.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pool := st.Pool()
	for i, d := range sampleData() {
		canonical := ledger.AppendCanonicalData(nil, &d)
		marshalled, _ := json.Marshal(d)
		var jsonbText string
		if err := pool.QueryRow(context.Background(), `SELECT $1::jsonb::text`, string(canonical)).Scan(&jsonbText); err != nil {
			t.Fatal(err)
		}
		for _, form := range [][]byte{canonical, marshalled, []byte(jsonbText)} {
			var want, got ledger.EventData
			if err := json.Unmarshal(form, &want); err != nil {
				t.Fatal(err)
			}
			if err := pgstore.DecodeData(form, &got); err != nil {
				t.Fatalf("sample %d: %v", i, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("sample %d, %s:\n fast %+v\n json %+v", i, form, got, want)
			}
		}
	}
	meta := ledger.Metadata{Actor: "Kế toán (officer)", Client: "curl/8", IdempotencyKey: "k-1", RequestID: "r"}
	b := ledger.AppendCanonicalMeta(nil, &meta)
	var got ledger.Metadata
	if err := pgstore.DecodeMeta(b, &got); err != nil || got != meta {
		t.Errorf("metadata: %+v %v", got, err)
	}
}

// FuzzDecodeData: whatever the input, the fast decoder decides like encoding/json.
func FuzzDecodeData(f *testing.F) {
	for _, d := range sampleData() {
		f.Add(ledger.AppendCanonicalData(nil, &d))
		b, _ := json.MarshalIndent(d, "", " ")
		f.Add(b)
	}
	for _, s := range []string{`{"amount":01}`, `{"amount":1.0}`, `{"line":{"unit":"a"},"line":{"year":1}}`,
		`{"note":"\ud83d\udc04"}`, `{"note":"\ud83d"}`, `{"note":"\u00e9\/"}`, `{"amount":-0}`, `{"amount":-}`,
		`{"kind":null}`, `{} x`, `{"voucher":{"date":"2024-02-30"}}`, `{"into_year":99999999999999999999}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want, got ledger.EventData
		wantErr := json.Unmarshal(b, &want)
		gotErr := pgstore.DecodeData(b, &got)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("%q: encoding/json %v, fast %v", b, wantErr, gotErr)
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n fast %+v\n json %+v", b, got, want)
		}
	})
}
