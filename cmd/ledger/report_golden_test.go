package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/xuri/excelize/v2"

	"github.com/vnntp/ledger/demo"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/projections"
	"github.com/vnntp/ledger/report"
)

// updateGolden (-update) rewrites the golden files of this package instead of comparing
// with them.
var updateGolden = flag.Bool("update", false, "rewrite cmd/ledger/testdata/reports.golden from the current code")

// goldenReportsPath is the recorded report set of TestReportsGolden.
var goldenReportsPath = filepath.Join("testdata", "reports.golden")

// Sizes of the golden report set: five random histories of 120 to 239 events each, big
// enough for late entries, carry-overs, reversals and a unit registered mid-history,
// small enough that the whole file stays under two megabytes.
const (
	goldenHistories    = 5
	goldenEventsMin    = 120
	goldenEventsSpread = 120
	// goldenContextLines is how many lines around the first difference a failure shows.
	goldenContextLines = 3
	// goldenSnippet is how many bytes either side of the first differing byte of a long
	// line (a JSON report is one line) a failure shows.
	goldenSnippet = 80
)

// goldenLangs are the report languages, in the order the golden file holds them.
var goldenLangs = []report.Lang{report.LangVI, report.LangEN}

// TestReportsGolden computes a fixed set of progress reports and counterpart checks on
// the demo scenario (C1 and C2) and on fixed random histories, renders each in every
// format that needs no database (the JSON of the API and of `ledger report --format
// json`, the CSV in Vietnamese and English, the `ledger report` table, and for a few the
// cell values of the XLSX workbook), and compares the whole with testdata/reports.golden
// byte for byte. Nothing in it depends on a clock, a random source or a map order. A change to the report code that must not change
// its output proves it with this test; one that means to change it rewrites the file
// with -update and shows the change in the diff.
func TestReportsGolden(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Progress reports of cmd/ledger/report_golden_test.go: the demo and fixed random histories.\n")
	b.WriteString("# Regenerate: go test ./cmd/ledger -run TestReportsGolden -update\n")

	events := goldenDemoEvents(t)
	writeGoldenSet(t, &b, "demo", events, goldenDemoCases(int64(len(events))))
	for seed := range uint64(goldenHistories) {
		events := goldenHistory(seed)
		writeGoldenSet(t, &b, fmt.Sprintf("random-%d", seed), events, goldenRandomCases(int64(len(events))))
	}

	got := b.String()
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(goldenReportsPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenReportsPath, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s: %d bytes", goldenReportsPath, len(got))
		return
	}
	want, err := os.ReadFile(goldenReportsPath)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if msg := goldenDiff(string(want), got); msg != "" {
		t.Fatalf("%s differs from the reports of the current code (rewrite it with -update only if the change is meant):\n%s",
			goldenReportsPath, msg)
	}
}

// goldenCase is one entry of a report set: a progress query or, when counterpart is set,
// a counterpart check. xlsx adds the cell values of the report's XLSX workbook.
type goldenCase struct {
	q           projections.Query
	counterpart *projections.CounterpartQuery
	xlsx        bool
}

// Groupings of the report set: none, each dimension alone, and three pairs.
var goldenGroupings = [][]projections.Dimension{
	nil,
	{projections.GroupProvince}, {projections.GroupDistrict}, {projections.GroupCommune},
	{projections.GroupProject}, {projections.GroupSubproject}, {projections.GroupSource}, {projections.GroupYear},
	{projections.GroupDistrict, projections.GroupProject},
	{projections.GroupProvince, projections.GroupYear},
	{projections.GroupSource, projections.GroupSubproject},
}

// goldenView is the time and basis part of a query: basis, year, as_of and at.
type goldenView struct {
	basis projections.Basis
	year  int
	asOf  ledger.Date
	at    int64
}

// crossCases returns every grouping under every view, with program set for the groupings
// by project (a ledger of several programs needs it).
func crossCases(views []goldenView, program string) []goldenCase {
	var cases []goldenCase
	for _, v := range views {
		for _, g := range goldenGroupings {
			q := projections.Query{GroupBy: g, Basis: v.basis, Year: v.year, AsOf: v.asOf, At: v.at}
			for _, d := range g {
				if d == projections.GroupProject || d == projections.GroupSubproject {
					q.Program = program
				}
			}
			cases = append(cases, goldenCase{q: q})
		}
	}
	return cases
}

// goldenDemoCases is the report set of the demo scenario, whose head is head: the cross
// of groupings and views, the published C1 and C2 reports with their filters, a few
// refused queries and the counterpart check.
func goldenDemoCases(head int64) []goldenCase {
	views := []goldenView{
		{basis: projections.BasisPlanYear},
		{basis: projections.BasisPlanYear, asOf: demo.C1AsOf},
		{basis: projections.BasisPlanYear, year: 2023, asOf: ledger.MakeDate(2023, time.June, 30), at: head / 2},
		{basis: projections.BasisExecutionYear, year: 2023, asOf: demo.C2AsOf},
		{basis: projections.BasisExecutionYear, year: 2024, asOf: demo.C1AsOf, at: head * 2 / 3},
		{basis: projections.BasisExecutionYear, year: 2022, at: head / 3},
	}
	cases := crossCases(views, "")
	c1 := projections.Query{Program: "GNBV", Unit: "06", AsOf: demo.C1AsOf}
	for _, g := range [][]projections.Dimension{nil, {projections.GroupDistrict}, {projections.GroupDistrict, projections.GroupYear},
		{projections.GroupYear}, {projections.GroupSource}, {projections.GroupProject, projections.GroupSource}} {
		q := c1
		q.GroupBy = g
		cases = append(cases, goldenCase{q: q, xlsx: len(g) == 1 && g[0] == projections.GroupDistrict})
	}
	c2 := projections.Query{Basis: projections.BasisExecutionYear, Year: 2023, Unit: "217", AsOf: demo.C2AsOf}
	for _, g := range [][]projections.Dimension{nil, {projections.GroupYear}, {projections.GroupCommune}, {projections.GroupSource},
		{projections.GroupProject}} {
		q := c2
		q.GroupBy = g
		cases = append(cases, goldenCase{q: q, xlsx: len(g) == 1 && g[0] == projections.GroupCommune})
	}
	cases = append(cases,
		goldenCase{q: projections.Query{GroupBy: []projections.Dimension{projections.GroupSubproject}, Project: "DA1", Unit: "062", AsOf: demo.C1AsOf}},
		goldenCase{q: projections.Query{GroupBy: []projections.Dimension{projections.GroupCommune}, Unit: "060", AsOf: demo.C1AsOf}},
		goldenCase{q: projections.Query{GroupBy: []projections.Dimension{projections.GroupProvince}, Source: "NSDP-DU"}},
		goldenCase{q: projections.Query{GroupBy: []projections.Dimension{projections.GroupYear}, Unit: "07408", AsOf: demo.C2AsOf, At: head - 1}},
		goldenCase{q: projections.Query{Unit: "07408", AsOf: ledger.MakeDate(2023, time.December, 17)}},
		// Refused: the error is part of the answer.
		goldenCase{q: projections.Query{Unit: "99"}},
		goldenCase{q: projections.Query{At: head + 1}},
		goldenCase{q: projections.Query{Basis: projections.BasisExecutionYear}},
		goldenCase{q: projections.Query{GroupBy: []projections.Dimension{projections.GroupYear, projections.GroupSource, projections.GroupProvince}}},
		goldenCase{q: projections.Query{GroupBy: []projections.Dimension{"ward"}}},
	)
	return append(cases,
		goldenCase{counterpart: &projections.CounterpartQuery{Program: "GNBV", Unit: "06", FromYear: 2022, ToYear: 2024, AsOf: demo.C1AsOf}},
		goldenCase{counterpart: &projections.CounterpartQuery{}},
		goldenCase{counterpart: &projections.CounterpartQuery{FromYear: 2023, ToYear: 2023, At: head / 2}},
		goldenCase{counterpart: &projections.CounterpartQuery{Ratio: projections.Ratio{Num: 5, Den: 100}, AsOf: demo.C2AsOf}},
		goldenCase{counterpart: &projections.CounterpartQuery{Ratio: projections.Ratio{Num: 2, Den: 1}}},
	)
}

// goldenRandomCases is the report set of a random history whose head is head.
func goldenRandomCases(head int64) []goldenCase {
	views := []goldenView{
		{basis: projections.BasisPlanYear},
		{basis: projections.BasisPlanYear, year: 2023, asOf: ledger.MakeDate(2023, time.June, 30)},
		{basis: projections.BasisPlanYear, asOf: ledger.MakeDate(2022, time.December, 31), at: head / 2},
		{basis: projections.BasisExecutionYear, year: 2023},
		{basis: projections.BasisExecutionYear, year: 2024, asOf: ledger.MakeDate(2024, time.June, 15), at: head * 2 / 3},
		{basis: projections.BasisExecutionYear, year: 2022, asOf: ledger.MakeDate(2022, time.December, 31), at: head / 3},
	}
	cases := crossCases(views, "G1")
	return append(cases,
		goldenCase{q: projections.Query{GroupBy: []projections.Dimension{projections.GroupCommune}, Unit: "D12"}},
		goldenCase{q: projections.Query{GroupBy: []projections.Dimension{projections.GroupCommune}, Unit: "C122", At: head / 3}},
		goldenCase{q: projections.Query{GroupBy: []projections.Dimension{projections.GroupSubproject}, Program: "G1", Project: "DA1", Source: "C-INV"}},
		goldenCase{q: projections.Query{GroupBy: []projections.Dimension{projections.GroupProject}}}, // refused when G2 exists
		goldenCase{q: projections.Query{GroupBy: []projections.Dimension{projections.GroupDistrict}, Program: "G2", Year: 2022}},
		goldenCase{counterpart: &projections.CounterpartQuery{}},
		goldenCase{counterpart: &projections.CounterpartQuery{Program: "G1", Unit: "P1", FromYear: 2022, AsOf: ledger.MakeDate(2023, time.June, 30)}},
		goldenCase{counterpart: &projections.CounterpartQuery{Unit: "D12", ToYear: 2023, At: head / 2}},
		goldenCase{counterpart: &projections.CounterpartQuery{Ratio: projections.Ratio{Num: 1, Den: 3}}},
	)
}

// writeGoldenSet folds events into a fresh projection and writes every case of the set
// named name, each under a header line that names it.
func writeGoldenSet(t *testing.T, b *strings.Builder, name string, events []*ledger.Event, cases []goldenCase) {
	t.Helper()
	p := &projections.Progress{}
	p.Apply(events)
	fmt.Fprintf(b, "\n##### %s: %d events\n", name, len(events))
	for i, c := range cases {
		// The table, the largest rendering, alternates languages from case to case: both
		// are covered, on every grouping, at half the size.
		tableLang := goldenLangs[i%len(goldenLangs)]
		if c.counterpart != nil {
			fmt.Fprintf(b, "\n=== %s #%d counterpart%s\n", name, i, describeCounterpart(*c.counterpart))
			r, err := p.Counterpart(*c.counterpart)
			if err != nil {
				writeGoldenError(b, err)
				continue
			}
			f := report.Filters{Program: c.counterpart.Program, Unit: c.counterpart.Unit}
			if err := renderCounterpart(b, r, f, tableLang); err != nil {
				t.Fatalf("%s #%d: %v", name, i, err)
			}
			continue
		}
		fmt.Fprintf(b, "\n=== %s #%d report%s\n", name, i, describeQuery(c.q))
		r, err := p.Query(c.q)
		if err != nil {
			writeGoldenError(b, err)
			continue
		}
		f := report.Filters{Program: c.q.Program, Unit: c.q.Unit, Project: c.q.Project, Source: c.q.Source}
		if err := renderReport(b, r, f, tableLang, c.xlsx); err != nil {
			t.Fatalf("%s #%d: %v", name, i, err)
		}
	}
}

// renderReport writes r in every format without a database: the JSON that GET
// /v1/progress serves and `ledger report --format json` prints, the CSV of GET
// /v1/progress.csv and `--format csv` in both languages, the table of `ledger report` in
// tableLang, and with xlsx the cell values of GET /v1/progress.xlsx in both languages. These calls are what the test pins; a move of the formatting code
// re-points them and nothing else. The CSV is written without the byte order mark
// (bom=false, as `--bom=false` and `?bom=false` ask) so that the recorded CSV stays the
// bytes it always was; the BOM and the formula neutralisation are pinned by
// TestCSVExportsAreSafe.
func renderReport(b *strings.Builder, r projections.Report, f report.Filters, tableLang report.Lang, xlsx bool) error {
	js, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("report JSON: %w", err)
	}
	b.WriteString("--- json\n")
	b.Write(js)
	b.WriteByte('\n')
	for _, lang := range goldenLangs {
		fmt.Fprintf(b, "--- csv %s\n", lang)
		if err := report.WriteCSV(b, report.Layout(r, f, lang), lang, false); err != nil {
			return fmt.Errorf("report CSV: %w", err)
		}
	}
	fmt.Fprintf(b, "--- table %s\n", tableLang)
	if err := report.WriteTable(b, report.Layout(r, f, tableLang), tableLang); err != nil {
		return fmt.Errorf("report table: %w", err)
	}
	if xlsx {
		for _, lang := range goldenLangs {
			var x bytes.Buffer
			if err := report.WriteXLSX(&x, report.Layout(r, f, lang), lang); err != nil {
				return fmt.Errorf("report XLSX: %w", err)
			}
			if err := writeXLSXCells(b, x.Bytes(), lang); err != nil {
				return err
			}
		}
	}
	return nil
}

// renderCounterpart writes a counterpart check the way renderReport writes a report:
// the JSON of GET /v1/progress/counterpart and `ledger report --counterpart --format
// json`, and the CSV (both languages) and the table (in tableLang) of `ledger report
// --counterpart`; no route serves it as XLSX.
func renderCounterpart(b *strings.Builder, r projections.CounterpartReport, f report.Filters, tableLang report.Lang) error {
	js, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("counterpart JSON: %w", err)
	}
	b.WriteString("--- json\n")
	b.Write(js)
	b.WriteByte('\n')
	for _, lang := range goldenLangs {
		fmt.Fprintf(b, "--- csv %s\n", lang)
		if err := report.WriteCSV(b, report.LayoutCounterpart(r, f, lang), lang, false); err != nil {
			return fmt.Errorf("counterpart CSV: %w", err)
		}
	}
	fmt.Fprintf(b, "--- table %s\n", tableLang)
	if err := report.WriteTable(b, report.LayoutCounterpart(r, f, tableLang), tableLang); err != nil {
		return fmt.Errorf("counterpart table: %w", err)
	}
	return nil
}

// writeXLSXCells writes the sheet names and raw cell values of a workbook, a row a line
// with cells separated by tabs: the bytes of a workbook are not deterministic (zip
// timestamps), its cells are.
func writeXLSXCells(b *strings.Builder, workbook []byte, lang report.Lang) error {
	f, err := excelize.OpenReader(bytes.NewReader(workbook))
	if err != nil {
		return fmt.Errorf("open XLSX: %w", err)
	}
	defer f.Close()
	for _, sheet := range f.GetSheetList() {
		fmt.Fprintf(b, "--- xlsx %s sheet %q\n", lang, sheet)
		rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			return fmt.Errorf("read XLSX sheet %q: %w", sheet, err)
		}
		for _, row := range rows {
			b.WriteString(strings.Join(row, "\t") + "\n")
		}
	}
	return nil
}

func writeGoldenError(b *strings.Builder, err error) {
	fmt.Fprintf(b, "--- error %s\n%s\n", ledger.Code(err), err)
}

// describeQuery names the set fields of q, for a case's header line.
func describeQuery(q projections.Query) string {
	var s strings.Builder
	field := func(name, v string) {
		if v != "" {
			s.WriteString(" " + name + "=" + v)
		}
	}
	field("group_by", projections.FormatDimensions(q.GroupBy))
	field("program", q.Program)
	field("unit", q.Unit)
	field("project", q.Project)
	field("source", q.Source)
	field("basis", string(q.Basis))
	if q.Year != 0 {
		field("year", strconv.Itoa(q.Year))
	}
	if !q.AsOf.IsZero() {
		field("as_of", q.AsOf.String())
	}
	if q.At != 0 {
		field("at", strconv.FormatInt(q.At, 10))
	}
	return s.String()
}

// describeCounterpart names the set fields of q, for a case's header line.
func describeCounterpart(q projections.CounterpartQuery) string {
	var s strings.Builder
	field := func(name, v string) {
		if v != "" && v != "0" {
			s.WriteString(" " + name + "=" + v)
		}
	}
	field("program", q.Program)
	field("unit", q.Unit)
	field("from_year", strconv.Itoa(q.FromYear))
	field("to_year", strconv.Itoa(q.ToYear))
	if !q.AsOf.IsZero() {
		field("as_of", q.AsOf.String())
	}
	field("at", strconv.FormatInt(q.At, 10))
	if q.Ratio != (projections.Ratio{}) {
		field("ratio", fmt.Sprintf("%d/%d", q.Ratio.Num, q.Ratio.Den))
	}
	return s.String()
}

// goldenDiff returns "" when got equals want, else where they first differ: the line
// number, the case and the section it belongs to, the lines around it, and for a long
// line the bytes around the first differing one.
func goldenDiff(want, got string) string {
	if want == got {
		return ""
	}
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	var caseLine, section string
	for j := min(i, len(w)-1); j >= 0; j-- {
		if section == "" && strings.HasPrefix(w[j], "--- ") {
			section = w[j]
		}
		if strings.HasPrefix(w[j], "=== ") || strings.HasPrefix(w[j], "##### ") {
			caseLine = w[j]
			break
		}
	}
	at := func(lines []string, k int) string {
		if k < len(lines) {
			return lines[k]
		}
		return "<end of file>"
	}
	var m strings.Builder
	fmt.Fprintf(&m, "first difference at line %d (golden has %d lines, the current code %d)\n", i+1, len(w), len(g))
	fmt.Fprintf(&m, "case:    %s\nsection: %s\n", caseLine, section)
	for k := max(0, i-goldenContextLines); k < i; k++ {
		fmt.Fprintf(&m, "%7d  %s\n", k+1, goldenClip(w[k]))
	}
	wl, gl := at(w, i), at(g, i)
	if len(wl) > 2*goldenSnippet || len(gl) > 2*goldenSnippet {
		c := 0
		for c < len(wl) && c < len(gl) && wl[c] == gl[c] {
			c++
		}
		fmt.Fprintf(&m, "at byte %d of the line:\n", c+1)
		wl, gl = goldenSnippetOf(wl, c), goldenSnippetOf(gl, c)
	}
	fmt.Fprintf(&m, "%7d  want: %s\n%7d  got:  %s\n", i+1, wl, i+1, gl)
	for k := i + 1; k < min(len(w), i+1+goldenContextLines); k++ {
		fmt.Fprintf(&m, "%7d  %s\n", k+1, goldenClip(w[k]))
	}
	return m.String()
}

// goldenSnippetOf returns the bytes of s within goldenSnippet of byte c, widened to whole
// characters.
func goldenSnippetOf(s string, c int) string {
	lo, hi := max(0, c-goldenSnippet), min(len(s), c+goldenSnippet)
	for lo > 0 && !utf8.RuneStart(s[lo]) {
		lo--
	}
	for hi < len(s) && !utf8.RuneStart(s[hi]) {
		hi++
	}
	return s[lo:hi]
}

// goldenClip shortens a context line to 2×goldenSnippet bytes.
func goldenClip(s string) string {
	if len(s) > 2*goldenSnippet {
		return goldenSnippetOf(s, goldenSnippet) + "…"
	}
	return s
}

// goldenRecordedAt is the recording time of the demo events; it enters the chain hashes
// that reports are stamped with, so it is fixed.
var goldenRecordedAt = time.Date(2024, time.June, 30, 8, 0, 0, 0, time.UTC)

// goldenDemoEvents records the demo scenario the way the write path does (Validate,
// Decide, Apply at the next position, chained hash), without a database, with event ids
// made from positions so that the hashes are the same on every run. It fails unless
// every step gets its wanted outcome.
func goldenDemoEvents(t *testing.T) []*ledger.Event {
	t.Helper()
	st := &ledger.State{}
	ids := map[string]uuid.UUID{}
	var events []*ledger.Event
	// The golden file pins the reports of the demo as it was before C3 (the data those
	// reports existed for); C3's figures are checked by TestC3.
	for _, s := range demo.StepsBeforeC3() {
		cmd := s.Command
		if s.RefStep != "" {
			cmd = demo.WithRef(cmd, ids[s.RefStep])
		}
		err := cmd.Validate()
		if err == nil {
			typ, date, data, decideErr := st.Decide(cmd)
			if err = decideErr; err == nil {
				pos := st.Head + 1
				e := &ledger.Event{Position: pos, ID: uuid.MustParse(fmt.Sprintf("01900000-0000-7000-8000-%012d", pos)),
					Type: typ, EffectiveDate: date, RecordedAt: goldenRecordedAt, Data: data, PrevHash: st.HeadHash}
				e.Hash, _ = ledger.ChainHash(nil, e.PrevHash, e)
				st.Apply(e)
				ids[s.Name] = e.ID
				events = append(events, e)
			}
		}
		if got := ledger.Code(err); got != s.WantCode {
			t.Fatalf("demo step %q: code %q, want %q (err: %v)", s.Name, got, s.WantCode, err)
		}
	}
	return events
}

// goldenRand is SplitMix64, fixed here so that the random histories, and with them the
// golden file, do not change when math/rand changes a stream.
type goldenRand struct{ s uint64 }

func (r *goldenRand) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (r *goldenRand) intN(n int) int { return int(r.next() % uint64(n)) }

func (r *goldenRand) int64N(n int64) int64 { return int64(r.next() % uint64(n)) }

// The catalog of the random histories: two provinces with districts and communes (one
// registered mid-history), a project tree, four sources of which one is counterpart.
var (
	goldenSources = []ledger.Source{
		{Code: "C-INV", Name: "Central investment", Budget: ledger.BudgetCentral, Nature: ledger.NatureInvestment},
		{Code: "C-REC", Name: "Central recurrent", Budget: ledger.BudgetCentral, Nature: ledger.NatureRecurrent},
		{Code: "L-CP", Name: "Counterpart", Budget: ledger.BudgetLocal, Nature: ledger.NatureRecurrent, Counterpart: true},
		{Code: "L-INV", Name: "Local investment", Budget: ledger.BudgetLocal, Nature: ledger.NatureInvestment},
	}
	goldenProjects = []ledger.Project{
		{Code: "DA1", Name: "Dự án 1"}, {Code: "DA1.T1", Parent: "DA1", Name: "Tiểu dự án 1.1"},
		{Code: "DA1.T2", Parent: "DA1", Name: "Tiểu dự án 1.2"}, {Code: "DA2", Name: "Dự án 2"},
		{Code: "DA3", Name: "Dự án 3"}, {Code: "DA3.T1", Parent: "DA3", Name: "Tiểu dự án 3.1"},
	}
	goldenUnits = []ledger.Unit{
		{ID: "P1", Name: "Tỉnh 1", Level: ledger.LevelProvince},
		{ID: "D11", Name: "Huyện 11", Level: ledger.LevelDistrict, Parent: "P1"},
		{ID: "C111", Name: "Xã 111", Level: ledger.LevelCommune, Parent: "D11"},
		{ID: "C112", Name: "Xã 112", Level: ledger.LevelCommune, Parent: "D11"},
		{ID: "D12", Name: "Huyện 12", Level: ledger.LevelDistrict, Parent: "P1"},
		{ID: "C121", Name: "Xã 121", Level: ledger.LevelCommune, Parent: "D12"},
		{ID: "P2", Name: "Tỉnh 2", Level: ledger.LevelProvince},
		{ID: "D21", Name: "Huyện 21", Level: ledger.LevelDistrict, Parent: "P2"},
		{ID: "C211", Name: "Xã 211", Level: ledger.LevelCommune, Parent: "D21"},
	}
	goldenLateUnit = ledger.Unit{ID: "C122", Name: "Xã 122", Level: ledger.LevelCommune, Parent: "D12"}
	goldenYears    = []int{2021, 2022, 2023, 2024}
)

// goldenHistoryGen builds a random event log over the golden catalog. It is a frozen
// copy of the generator of projections/property_test.go: events need not pass the write
// rules (negative balances, back-dated entries and rates beyond 100 % all occur), and the
// hashes are made up from the position and the generator, not chained.
type goldenHistoryGen struct {
	rng    goldenRand
	events []*ledger.Event
	units  []ledger.Unit
	lines  []ledger.Line
	progs  []string
}

// add appends e at the next position.
func (h *goldenHistoryGen) add(e *ledger.Event) {
	e.Position = int64(len(h.events) + 1)
	e.Hash[0], e.Hash[1] = byte(e.Position), byte(e.Position>>8)
	for i := 2; i < 8; i++ {
		e.Hash[i] = byte(h.rng.next())
	}
	h.events = append(h.events, e)
}

// date returns a business date near plan year y: first, middle or last days of months
// and the year boundaries, so that same-day events and year edges are common.
func (h *goldenHistoryGen) date(y int) ledger.Date {
	y += h.rng.intN(3) - 1
	switch h.rng.intN(6) {
	case 0:
		return ledger.MakeDate(y, time.December, 31)
	case 1:
		return ledger.MakeDate(y, time.January, 1)
	}
	return ledger.MakeDate(y, time.Month(1+h.rng.intN(12)), []int{1, 15, 28}[h.rng.intN(3)])
}

func (h *goldenHistoryGen) amount() int64 {
	if h.rng.intN(10) == 0 {
		return 1 + h.rng.int64N(1_000_000_000_000)
	}
	return 1 + h.rng.int64N(1000)
}

func (h *goldenHistoryGen) newLine() ledger.Line {
	u := h.units[h.rng.intN(len(h.units))]
	return ledger.Line{Program: h.progs[h.rng.intN(len(h.progs))], Year: goldenYears[h.rng.intN(len(goldenYears))],
		Source: goldenSources[h.rng.intN(len(goldenSources))].Code, Project: goldenProjects[h.rng.intN(len(goldenProjects))].Code,
		Unit: u.ID}
}

// goldenHistory returns the random history of seed; odd seeds have a second program.
func goldenHistory(seed uint64) []*ledger.Event {
	h := &goldenHistoryGen{rng: goldenRand{s: seed}, progs: []string{"G1"}}
	from := ledger.MakeDate(2020, time.January, 1)
	h.add(&ledger.Event{Type: ledger.TypeProgramRegistered, EffectiveDate: from,
		Data: ledger.EventData{Program: &ledger.Program{Code: "G1", Name: "Chương trình 1"}}})
	if seed%2 == 1 {
		h.progs = append(h.progs, "G2")
		h.add(&ledger.Event{Type: ledger.TypeProgramRegistered, EffectiveDate: from,
			Data: ledger.EventData{Program: &ledger.Program{Code: "G2", Name: "Chương trình 2"}}})
	}
	for _, prog := range h.progs {
		for _, pr := range goldenProjects {
			pr.Program = prog
			h.add(&ledger.Event{Type: ledger.TypeProjectRegistered, EffectiveDate: from, Data: ledger.EventData{Project: &pr}})
		}
	}
	for _, s := range goldenSources {
		h.add(&ledger.Event{Type: ledger.TypeSourceRegistered, EffectiveDate: from, Data: ledger.EventData{Source: &s}})
	}
	for _, u := range goldenUnits {
		h.add(&ledger.Event{Type: ledger.TypeUnitRegistered, EffectiveDate: from, Data: ledger.EventData{Unit: &u}})
		h.units = append(h.units, u)
	}
	n := goldenEventsMin + h.rng.intN(goldenEventsSpread)
	lateAt := h.rng.intN(n)
	for i := range n {
		if i == lateAt {
			u := goldenLateUnit
			h.add(&ledger.Event{Type: ledger.TypeUnitRegistered, EffectiveDate: from, Data: ledger.EventData{Unit: &u}})
			h.units = append(h.units, u)
		}
		if len(h.lines) == 0 || h.rng.intN(6) == 0 {
			l := h.newLine()
			h.lines = append(h.lines, l)
			h.add(&ledger.Event{Type: ledger.TypeAllocated, EffectiveDate: h.date(l.Year), Data: ledger.EventData{Line: &l, Amount: h.amount()}})
			continue
		}
		l := h.lines[h.rng.intN(len(h.lines))]
		switch k := h.rng.intN(20); {
		case k < 3:
			h.add(&ledger.Event{Type: ledger.TypeAllocated, EffectiveDate: h.date(l.Year), Data: ledger.EventData{Line: &l, Amount: h.amount()}})
		case k < 6: // a transfer: to a unit below (sub-allocation) or any other line of its year and source
			to := h.newLine()
			to.Program, to.Year, to.Source = l.Program, l.Year, l.Source
			kind := ledger.KindReallocation
			if h.rng.intN(2) == 0 {
				kind = ledger.KindSuballocation
				for _, u := range h.units {
					if u.Parent == l.Unit {
						to.Unit = u.ID
						break
					}
				}
			}
			if to == l {
				continue
			}
			h.lines = append(h.lines, to)
			h.add(&ledger.Event{Type: ledger.TypeTransferred, EffectiveDate: h.date(l.Year),
				Data: ledger.EventData{From: &l, To: &to, Amount: h.amount(), Kind: string(kind)}})
		case k < 8:
			h.add(&ledger.Event{Type: ledger.TypeCarriedOver, EffectiveDate: h.date(l.Year + 1),
				Data: ledger.EventData{Line: &l, Amount: h.amount(), IntoYear: l.Year + 1 + h.rng.intN(2)}})
		case k < 9:
			h.add(&ledger.Event{Type: ledger.TypeCancelled, EffectiveDate: h.date(l.Year), Data: ledger.EventData{Line: &l, Amount: h.amount()}})
		case k < 16:
			h.add(&ledger.Event{Type: ledger.TypeDisbursed, EffectiveDate: h.date(l.Year),
				Data: ledger.EventData{Line: &l, Amount: h.amount(), Kind: string(ledger.KindPayment)}})
		case k < 18:
			h.add(&ledger.Event{Type: ledger.TypeReversed, EffectiveDate: h.date(l.Year), Data: ledger.EventData{Line: &l, Amount: h.amount()}})
		case k < 19:
			h.add(&ledger.Event{Type: ledger.TypeAdvanceSettled, EffectiveDate: h.date(l.Year), Data: ledger.EventData{Line: &l, Amount: h.amount()}})
		default:
			// Recorded before the kernel as an event of a type the projection did not
			// know; now every type is known (an unknown one is refused when decoded), so
			// it is a settlement, which moves no reported figure and draws no random
			// number: the recorded reports stay valid.
			h.add(&ledger.Event{Type: ledger.TypeAdvanceSettled, EffectiveDate: h.date(l.Year), Data: ledger.EventData{Line: &l, Amount: 1}})
		}
	}
	return h.events
}
