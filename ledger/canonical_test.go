package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

var update = flag.Bool("update", false, "rewrite ledger/testdata/*.golden from the current code")

// tricky holds strings that an encoder gets wrong first: Vietnamese diacritics (NFC),
// an emoji outside the BMP (a surrogate pair in \u form), quotes, backslashes, control
// characters, the HTML-sensitive "<>&" that encoding/json escapes and Python does not
// care about, U+2028/U+2029 (JavaScript line terminators), DEL and a BOM.
var tricky = []string{
	"Ngân Sơn",
	"Xuân Hương 🐄 bò giống \U0001F600",
	`he said "giải ngân" \ and \\ twice /`,
	"tab\tnewline\nreturn\rbell\x07nul\x00esc\x1b\x08\x0c",
	"<script>&amp;</script>",
	"line\u2028sep\u2029para",
	"del\x7f bom\ufeff nbsp\u00a0 max\U0010ffff",
	"Thừa Thiên Huế – Quảng Trị — “quoted” ‘single’",
}

// sampleEvents returns one event of every type, with tricky strings in every free-text
// member and fixed ids and recording times, hash-chained from the genesis hash. The
// last one has no metadata at all.
func sampleEvents() []*Event {
	at := time.Date(2024, 5, 31, 23, 59, 59, 123456000, time.UTC)
	meta := Metadata{Actor: "officer:" + tricky[0], Client: tricky[4], IdempotencyKey: `key"\` + tricky[1], RequestID: tricky[5]}
	line := lnY(2023, srcInv, "DA3.TDA1", "07429")
	from := lnY(2023, srcInv, "DA3", "217")
	adv := uuid.MustParse("01900000-0000-7000-8000-000000000009")
	v := Voucher{Office: `KB"<&>\`, Type: "C2-02/NS", Number: "0012/KB-TT", Date: day(2023, 12, 10)}
	data := []struct {
		typ  EventType
		date Date
		d    EventData
	}{
		{TypeProgramRegistered, day(2021, 1, 1), EventData{Program: &Program{Code: "GNBV", Name: tricky[7], Validity: Validity{ValidFrom: day(2021, 1, 1)}}}},
		{TypeProjectRegistered, day(2021, 1, 1), EventData{Project: &Project{Program: "GNBV", Code: "DA3.TDA1", Name: tricky[2], Parent: "DA3",
			Validity: Validity{ValidFrom: day(2021, 1, 1), ValidTo: day(2025, 12, 31)}}}},
		{TypeUnitRegistered, day(2000, 1, 1), EventData{Unit: &Unit{ID: "07429", Code: "07429", Name: tricky[1], Level: LevelCommune, Parent: "217",
			Validity: Validity{ValidFrom: day(2000, 1, 1), ValidTo: day(2025, 6, 30)}}}},
		{TypeSourceRegistered, day(2021, 1, 1), EventData{Source: &Source{Code: srcLocal, Name: tricky[3], Budget: BudgetLocal, Nature: NatureInvestment,
			Counterpart: true, Validity: Validity{ValidFrom: day(2021, 1, 1)}}}},
		{TypeSourceRegistered, day(2021, 1, 1), EventData{Source: &Source{Code: srcInv, Name: "NSTW", Budget: BudgetCentral, Nature: NatureInvestment}}},
		{TypeAllocated, day(2023, 3, 15), EventData{Line: &from, Amount: 4_478_000_000, Decision: tricky[6], Note: tricky[4]}},
		{TypeTransferred, day(2023, 5, 10), EventData{From: &from, To: &line, Amount: 120_000_000, Kind: string(KindSuballocation), Decision: tricky[0], Note: tricky[5]}},
		{TypeCarriedOver, day(2023, 1, 2), EventData{Line: &from, Amount: 1_412_000_000, IntoYear: 2024, Decision: "QĐ 1/QĐ-UBND", Note: tricky[7]}},
		{TypeCancelled, day(2023, 11, 1), EventData{Line: &from, Amount: 1, Decision: tricky[2]}},
		{TypeDisbursed, day(2023, 9, 15), EventData{Line: &line, Amount: MaxAmount, Kind: string(KindAdvance), Payee: tricky[1], Voucher: &v, Note: tricky[3]}},
		{TypeAdvanceSettled, day(2023, 12, 10), EventData{Line: &line, EventID: adv.String(), Amount: 60_000_000, Voucher: &v, Note: tricky[6]}},
		{TypeReversed, day(2023, 12, 18), EventData{Line: &line, EventID: adv.String(), Amount: 12_000_000, Reason: tricky[3]}},
		{TypeAllocated, day(2024, 1, 2), EventData{Line: &line, Amount: 7, Decision: "QĐ"}},
	}
	var prev [32]byte
	out := make([]*Event, len(data))
	for i, d := range data {
		e := &Event{Position: int64(i + 1), ID: uuid.MustParse(fmt.Sprintf("01900000-0000-7000-8000-%012d", i+1)), Type: d.typ,
			EffectiveDate: d.date, RecordedAt: at.Add(time.Duration(i) * time.Microsecond), Data: d.d, Meta: meta, PrevHash: prev}
		if i == len(data)-1 {
			e.Meta = Metadata{}
		}
		e.Hash, _ = ChainHash(nil, prev, e)
		prev = e.Hash
		out[i] = e
	}
	return out
}

// laterEvents returns an event of each type (and kind) added after the golden vectors
// were pinned — a reorganisation with every array member and a handover — chained after
// sampleEvents, for the generic and Python cross-checks.
func laterEvents() []*Event {
	base := sampleEvents()
	prev := base[len(base)-1]
	line := lnY(2025, srcInv, "DA1.TDA1", "060")
	succ := line
	succ.Unit = "19-2025"
	data := []EventData{
		{Reorganization: &Reorganization{LegalBasis: tricky[7], Levels: []Level{LevelProvince, LevelCommune},
			Changes: []UnitChange{
				{Kind: ChangeMerge, Predecessors: []string{"01873", "01882"}, Successors: []string{"01882-2025"}},
				{Kind: ChangeSplit, Predecessors: []string{"217"}, Successors: []string{"24-2025", tricky[1]}, History: "24-2025"},
				{Kind: ChangeAbolish, Predecessors: []string{"060"}},
			}}},
		{From: &line, To: &succ, Amount: 6_000_000_000, Kind: string(KindHandover), Decision: tricky[0]},
	}
	types := []EventType{TypeUnitReorganized, TypeTransferred}
	var out []*Event
	for i, d := range data {
		e := &Event{Position: prev.Position + 1, ID: uuid.MustParse(fmt.Sprintf("01900000-0000-7000-8000-%012d", prev.Position+1)),
			Type: types[i], EffectiveDate: day(2025, 7, 1), RecordedAt: prev.RecordedAt.Add(time.Microsecond), Data: d,
			Meta: Metadata{Actor: tricky[0]}, PrevHash: prev.Hash}
		e.Hash, _ = ChainHash(nil, e.PrevHash, e)
		out = append(out, e)
		prev = e
	}
	return out
}

// genericEvent is the event as an auditor rebuilds it from the stored columns, to
// canonicalise it with a generic JSON tool.
func genericEvent(t *testing.T, e *Event) []byte {
	t.Helper()
	doc := map[string]any{
		"data":           json.RawMessage(AppendCanonicalData(nil, &e.Data)),
		"effective_date": e.EffectiveDate.String(),
		"id":             e.ID.String(),
		"metadata":       json.RawMessage(AppendCanonicalMeta(nil, &e.Meta)),
		"position":       e.Position,
		"recorded_at":    FormatRecordedAt(e.RecordedAt),
		"type":           e.Type,
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pythonScript canonicalises one JSON document per input line the way the hash-chain
// spec tells an auditor to: drop zero-valued object members (null, false, "", 0) at
// every depth, then json.dumps with sorted keys and no white space (ensure_ascii is on
// by default).
const pythonScript = `
import json, sys
def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items()
                if not (x is None or x is False or x == "" or (type(x) is int and x == 0))}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v
for line in sys.stdin:
    sys.stdout.write(json.dumps(strip(json.loads(line)), sort_keys=True, separators=(",", ":")) + "\n")
`

// pythonCanonical runs docs (one JSON document each, no raw newlines) through Python.
// python3 is a test dependency, installed on the development machine and in CI.
func pythonCanonical(t *testing.T, docs [][]byte) []string {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatalf("python3 is needed to cross-check the canonical encoding: %v", err)
	}
	cmd := exec.Command("python3", "-c", pythonScript)
	cmd.Stdin = bytes.NewReader(append(bytes.Join(docs, []byte("\n")), '\n'))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(docs) {
		t.Fatalf("python3 printed %d lines for %d documents", len(lines), len(docs))
	}
	return lines
}

func TestCanonicalDataMatchesGenericAndPython(t *testing.T) {
	events := sampleEvents()
	// Invalid UTF-8 cannot pass Validate, but the encoder must still agree with the
	// generic path on it: both write U+FFFD for each bad byte.
	bad := *events[5]
	bad.Data.Note = "bad \xff\xfe utf-8 \xed\xa0\x80 surrogate"
	events = append(events, &bad)
	events = append(events, laterEvents()...)

	var marshalled [][]byte
	for _, e := range events {
		m, err := json.Marshal(e.Data)
		if err != nil {
			t.Fatal(err)
		}
		marshalled = append(marshalled, m)
	}
	py := pythonCanonical(t, marshalled)
	for i, e := range events {
		fast := AppendCanonicalData(nil, &e.Data)
		generic, err := Canonicalize(marshalled[i])
		if err != nil {
			t.Fatalf("%s: Canonicalize(json.Marshal(data)): %v", e.Type, err)
		}
		if !bytes.Equal(fast, generic) {
			t.Errorf("%s #%d: AppendCanonicalData differs from Canonicalize(json.Marshal(data))\n fast    %s\n generic %s", e.Type, i, fast, generic)
		}
		if string(fast) != py[i] {
			t.Errorf("%s #%d: AppendCanonicalData differs from Python's json.dumps\n go     %s\n python %s", e.Type, i, fast, py[i])
		}
		for _, c := range fast {
			if c < 0x20 || c >= 0x7f {
				t.Errorf("%s: canonical bytes hold a non-printable or non-ASCII byte %#x", e.Type, c)
				break
			}
		}
	}
}

// TestCanonicalEventMatchesGenericAndPython checks the whole hashed object, rebuilt from
// the stored data and metadata columns as an auditor's script would, against
// AppendCanonical.
func TestCanonicalEventMatchesGenericAndPython(t *testing.T) {
	events := append(sampleEvents(), laterEvents()...)
	var docs [][]byte
	for _, e := range events {
		docs = append(docs, genericEvent(t, e))
	}
	py := pythonCanonical(t, docs)
	for i, e := range events {
		fast := AppendCanonical(nil, e)
		generic, err := Canonicalize(docs[i])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fast, generic) {
			t.Errorf("%s #%d (metadata %+v): AppendCanonical differs from Canonicalize of the stored columns\n fast    %s\n generic %s",
				e.Type, i, e.Meta, fast, generic)
		}
		if string(fast) != py[i] {
			t.Errorf("%s #%d: AppendCanonical differs from Python\n go     %s\n python %s", e.Type, i, fast, py[i])
		}
		h := sha256.Sum256(append(e.PrevHash[:], py[i]...))
		if h != e.Hash {
			t.Errorf("%s #%d: SHA-256(prev || python canonical) = %x, chain says %x", e.Type, i, h, e.Hash)
		}
	}
}

// TestCanonicalGolden pins the canonical bytes and the chained hashes of the sample
// events: a change here changes every hash ever recorded. Regenerate deliberately with
// go test ./ledger -run TestCanonicalGolden -update.
func TestCanonicalGolden(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Canonical bytes and chained hashes of ledger/canonical_test.go sampleEvents.\n")
	b.WriteString("# Regenerate: go test ./ledger -run TestCanonicalGolden -update\n")
	var prev [32]byte
	for _, e := range sampleEvents() {
		canon := AppendCanonical(nil, e)
		want := sha256.Sum256(append(prev[:], canon...))
		got, _ := ChainHash(nil, prev, e)
		if got != want || got != e.Hash {
			t.Fatalf("position %d: ChainHash %x, SHA-256(prev || canonical) %x", e.Position, got, want)
		}
		fmt.Fprintf(&b, "%d %s\ncanonical %s\nhash %s\n", e.Position, e.Type, canon, hex.EncodeToString(got[:]))
		prev = got
	}
	path := filepath.Join("testdata", "canonical.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	golden, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	want, got := strings.Split(string(golden), "\n"), strings.Split(b.String(), "\n")
	for i := range max(len(want), len(got)) {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			t.Fatalf("%s line %d differs:\n want %s\n got  %s", path, i+1, w, g)
		}
	}
}

func TestEventJSONRoundTrip(t *testing.T) {
	for _, e := range append(sampleEvents(), laterEvents()...) {
		b, err := e.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(b) {
			t.Fatalf("%s: MarshalJSON is not valid JSON: %s", e.Type, b)
		}
		var got Event
		if err := got.UnmarshalJSON(b); err != nil {
			t.Fatalf("%s: UnmarshalJSON(%s): %v", e.Type, b, err)
		}
		if !reflect.DeepEqual(&got, e) {
			t.Errorf("%s: round trip changed the event\n want %+v\n got  %+v", e.Type, *e, got)
		}
		// Through encoding/json as well, the way the API and NATS messages use it.
		var viaStd Event
		b2, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b2, &viaStd); err != nil || !reflect.DeepEqual(&viaStd, e) {
			t.Errorf("%s: encoding/json round trip: err %v, equal %v", e.Type, err, reflect.DeepEqual(&viaStd, e))
		}
		// The hash must still verify on the decoded copy.
		if h, _ := ChainHash(nil, got.PrevHash, &got); h != e.Hash {
			t.Errorf("%s: the decoded event hashes to %x, want %x", e.Type, h, e.Hash)
		}
	}
}

func TestEventUnmarshalJSONRejectsBadHashes(t *testing.T) {
	e := sampleEvents()[0]
	b, _ := e.MarshalJSON()
	for _, bad := range []string{"", "00", strings.Repeat("zz", 32), strings.Repeat("0", 66)} {
		doc := strings.Replace(string(b), hex.EncodeToString(e.Hash[:]), bad, 1)
		var got Event
		if err := got.UnmarshalJSON([]byte(doc)); err == nil {
			t.Errorf("hash %q accepted", bad)
		}
	}
}

// TestEventJSONIsReadable: the API's and the exports' JSON form writes Vietnamese as
// UTF-8, while the hashed canonical bytes keep their \u escapes (docs/hash-chain.md).
func TestEventJSONIsReadable(t *testing.T) {
	e := sampleEvents()[0]
	e.Data.Decision = "QĐ 102/Thủ tướng \"x\" \\ \u2028 \U0001F600 \x01"
	b := e.AppendJSON(nil)
	if !json.Valid(b) {
		t.Fatalf("not valid JSON: %s", b)
	}
	for _, want := range []string{`QĐ 102/Thủ tướng \"x\" \\ \u2028 ` + "\U0001F600" + ` \u0001`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON form %s\nlacks %s", b, want)
		}
	}
	if !strings.Contains(string(AppendCanonical(nil, e)), `Q\u0110 102`) {
		t.Errorf("canonical bytes changed: %s", AppendCanonical(nil, e))
	}
	var got Event
	if err := got.UnmarshalJSON(b); err != nil || got.Data.Decision != e.Data.Decision {
		t.Fatalf("round trip: %v, %q", err, got.Data.Decision)
	}
	if u := unescapeNonASCII([]byte(`"\ud800x\u00zz\u`)); string(u) != `"\ud800x\u00zz\u` {
		t.Errorf("malformed escapes changed: %s", u)
	}
}
