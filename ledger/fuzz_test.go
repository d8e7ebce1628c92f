package ledger

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"unicode/utf8"
)

// The fuzz targets' seeds run in every plain `go test`; explore further with e.g.
// go test ./ledger -run '^$' -fuzz FuzzCanonicalize -fuzztime 30s.

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2024-05-31", "2024-02-29", "2023-02-29", "1900-01-01", "2999-12-31", "1899-12-31",
		"3000-01-01", "2024-13-01", "2024-00-10", "2024-01-00", "2024-1-01", "2024/01/01", "２０２４-01-01", "+024-01-01",
		"-024-01-01", "2024-01-0\x00", "", "0000-00-00", "2024-04-31"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s, "effective_date")
		if err != nil {
			if Code(err) != CodeInvalidArgument || Field(err) != "effective_date" {
				t.Fatalf("ParseDate(%q): error %v has code %q field %q", s, err, Code(err), Field(err))
			}
			return
		}
		if got := d.String(); got != s {
			t.Fatalf("ParseDate(%q) = %s: not a round trip", s, got)
		}
		if y := d.Year(); y < 1900 || y > 2999 {
			t.Fatalf("ParseDate(%q) accepted year %d", s, y)
		}
		if DateOf(d.Time()) != d {
			t.Fatalf("ParseDate(%q) = %d is not a calendar date (Time %v)", s, d, d.Time())
		}
		var back Date
		b, _ := d.MarshalJSON()
		if err := back.UnmarshalJSON(b); err != nil || back != d {
			t.Fatalf("JSON round trip of %s: %s → %d, %v", s, b, back, err)
		}
	})
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"1", "120000000", "9007199254740992", "9007199254740993", "9223372036854775807",
		"9223372036854775808", "0", "-0", "-1", "1.0", "1e3", "1E3", "", " 1", "0x10", "1_000", "+5", "007", "١٢٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseAmount(json.Number(s), "amount")
		if err != nil {
			if Code(err) != CodeInvalidArgument || Field(err) != "amount" {
				t.Fatalf("ParseAmount(%q): error %v has code %q field %q", s, err, Code(err), Field(err))
			}
			return
		}
		if v < 1 || v > MaxAmount {
			t.Fatalf("ParseAmount(%q) = %d, outside 1..MaxAmount", s, v)
		}
		if n, perr := strconv.ParseInt(s, 10, 64); perr != nil || n != v {
			t.Fatalf("ParseAmount(%q) = %d, but the text says %d (%v)", s, v, n, perr)
		}
		// Every amount in range, written the canonical way, is accepted as itself.
		if back, err := ParseAmount(json.Number(strconv.FormatInt(v, 10)), "amount"); err != nil || back != v {
			t.Fatalf("ParseAmount(%d) = %d, %v", v, back, err)
		}
	})
}

func FuzzParseLineID(f *testing.F) {
	for _, s := range []string{"GNBV:2024:NSTW-DTPT:DA1:062", "GNBV:2023:NSTW-SN:DA3.TDA1:07429", "a:1990:b:c:d",
		"GNBV:2024:NSTW-DTPT:DA1", "GNBV:2024:NSTW-DTPT:DA1:062:x", "GNBV:20x4:S:P:U", "GNBV:1989:S:P:U", ":2024:S:P:U",
		"GNBV:2024:S:P:Ngân", "GNBV: 2024:S:P:U",
		// Non-canonical spellings of the year name the same line under a second id.
		"GNBV:02024:NSTW-DTPT:DA1:062", "GNBV:+2024:NSTW-DTPT:DA1:062"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		l, err := ParseLineID(id)
		if err != nil {
			if Code(err) != CodeInvalidArgument {
				t.Fatalf("ParseLineID(%q): code %q", id, Code(err))
			}
			return
		}
		if got := l.ID(); got != id {
			t.Fatalf("ParseLineID(%q) accepted a line whose canonical id is %q: one line, two ids", id, got)
		}
		again, err := ParseLineID(l.ID())
		if err != nil || again != l {
			t.Fatalf("ParseLineID(%q) = %+v, %v; want %+v", l.ID(), again, err, l)
		}
	})
}

func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `null`, `true`, `0`, `"x"`, `{"b":1,"a":{"d":"","c":[0,false,null,""]}}`,
		`{"a":"Ngân Sơn 🐄 \u2028 <>& \"\\ \u0000"}`, `{"a":1.5}`, `{"a":1e2}`, `{"a":9223372036854775808}`,
		`{"a":-9223372036854775808}`, `{"a":1,"a":2}`, `{"\u00e9":1,"e\u0301":2,"z":3,"":4}`, `{"a":"\ud800"}`,
		`{"a":{}}`, `[{"a":0}]`, `{} trailing`, `{"a":`,
		// -0 is an integer zero, so it is a zero value and must go the first time.
		`{"a":-0}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		out, err := Canonicalize(doc)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Canonicalize(%q) = %q: not JSON", doc, out)
		}
		for _, c := range out {
			if c < 0x20 || c >= 0x7f {
				t.Fatalf("Canonicalize(%q) = %q holds byte %#x", doc, out, c)
			}
		}
		again, err := Canonicalize(out)
		if err != nil {
			t.Fatalf("Canonicalize(Canonicalize(%q)) = %v", doc, err)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("Canonicalize is not idempotent on %q:\n once  %s\n twice %s", doc, out, again)
		}
	})
}

func FuzzAppendString(f *testing.F) {
	for _, s := range tricky {
		f.Add(s)
	}
	for _, s := range []string{"", "\xff", "\xed\xa0\x80", "a\x00b", "\U0001F600", "\u007f\u0080\u009f", "\ufffd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		for _, c := range b {
			if c < 0x20 || c >= 0x7f {
				t.Fatalf("appendString(%q) = %q holds byte %#x", s, b, c)
			}
		}
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("appendString(%q) = %s does not parse: %v", s, b, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("appendString(%q) = %s parses back to %q", s, b, back)
		}
		// The generic path writes the same bytes for the same string.
		std, _ := json.Marshal(s)
		if canon, err := Canonicalize(std); err != nil || !bytes.Equal(canon, b) {
			t.Fatalf("appendString(%q) = %s, Canonicalize(json.Marshal) = %s, %v", s, b, canon, err)
		}
	})
}
