package api

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/vnntp/ledger/ledger"
)

func TestDecodeStrictFlattensEmbeddedStructs(t *testing.T) {
	var u ledger.RegisterUnit
	err := decodeStrict([]byte(`{"id":"062","code":"062","name":"Ngân Sơn","level":"district","parent":"06",
		"valid_from":"2008-01-01","valid_to":null}`), &u)
	if err != nil {
		t.Fatal(err)
	}
	want := ledger.RegisterUnit{Unit: ledger.Unit{ID: "062", Code: "062", Name: "Ngân Sơn", Level: "district", Parent: "06",
		Validity: ledger.Validity{ValidFrom: ledger.MakeDate(2008, 1, 1)}}}
	if u != want {
		t.Errorf("got %+v, want %+v", u, want)
	}
	err = decodeStrict([]byte(`{"valid_from":"2008-02-30"}`), &u)
	if ledger.Field(err) != "valid_from" {
		t.Errorf("error %v names %q, want valid_from", err, ledger.Field(err))
	}
}

func TestDecodeStrictStrings(t *testing.T) {
	for in, want := range map[string]string{
		`{"note":"a\"b\\c\/d\n\u00e9\ud83d\ude00"}`: "a\"b\\c/d\né😀",
		`{"note":"\ud800x"}`:                        "\ufffdx", // lone surrogate, as encoding/json
		`{"note":"Giảm nghèo"}`:                     "Giảm nghèo",
	} {
		var a ledger.Allocate
		if err := decodeStrict([]byte(in), &a); err != nil || a.Note != want {
			t.Errorf("%s: got %q, %v; want %q", in, a.Note, err, want)
		}
	}
	for _, in := range []string{"{\"note\":\"a\x01\"}", "{\"note\":\"\xff\"}", `{"note":"\x"}`, `{"note":"\u12"}`, `{"note":"abc`} {
		var a ledger.Allocate
		if err := decodeStrict([]byte(in), &a); err == nil || ledger.Field(err) != "note" {
			t.Errorf("%q: error %v, want one naming note", in, err)
		}
	}
}

func TestDecodeStrictRejectsDeepNesting(t *testing.T) {
	body := `{"effective_date":` + string(repeat('[', 10_000)) + `}`
	var a ledger.Allocate
	if err := decodeStrict([]byte(body), &a); err == nil {
		t.Fatal("deep nesting accepted")
	}
}

func repeat(c byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return b
}

// FuzzDecodeStrict checks that the strict decoder never panics and that whatever it
// accepts, encoding/json decodes to the same command; it may only refuse more.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{
		disbursement(line062, 100, "f1"),
		`{"line":{"program":"GNBV","year":2024,"source":"S","project":"P","unit":"U"},"amount":1,"note":"\u00e9"}`,
		`{"amount":-0}`, `{"amount":1e3}`, `{"voucher":{"date":null}}`, ` { } `, `{"payee":"\ud83d\ude00"}`,
		`{"kind":"a","kind":"b"}`, `{"amount":12345678901234567890}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got ledger.Disburse
		if err := decodeStrict(data, &got); err != nil {
			if ledger.Code(err) != ledger.CodeInvalidArgument {
				t.Fatalf("error without invalid_argument code: %v", err)
			}
			return
		}
		var want ledger.Disburse
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("strict decoder accepted what encoding/json refuses (%v): %q", err, data)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded %+v, encoding/json %+v: %q", got, want, data)
		}
	})
}

// FuzzDecodeBatch checks that batch decoding never panics and errors are coded.
func FuzzDecodeBatch(f *testing.F) {
	f.Add([]byte(batchOf("false", typed("disbursement", disbursement(line062, 1, "x")), `{"type":"reversal","amount":2}`)))
	f.Add([]byte(`{"commands":[{"amount":1,"type":"allocation"}],"atomic":true}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		br, err := decodeBatch(data)
		if err != nil {
			if c := ledger.Code(err); c != ledger.CodeInvalidArgument && c != ledger.CodePayloadTooLarge {
				t.Fatalf("error with code %s: %v", c, err)
			}
			return
		}
		if len(br.commands) == 0 || len(br.commands) != len(br.kinds) {
			t.Fatalf("accepted a batch of %d commands, %d kinds", len(br.commands), len(br.kinds))
		}
	})
}

func BenchmarkDecodeDisbursement(b *testing.B) {
	body := []byte(disbursement(line062, 1_000_000, "0012/KB-TT"))
	b.ReportAllocs()
	for b.Loop() {
		var d ledger.Disburse
		if err := decodeStrict(body, &d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeDisbursementEncodingJSON(b *testing.B) {
	body := []byte(disbursement(line062, 1_000_000, "0012/KB-TT"))
	b.ReportAllocs()
	for b.Loop() {
		var d ledger.Disburse
		if err := json.Unmarshal(body, &d); err != nil {
			b.Fatal(err)
		}
	}
}
