package projections

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vnntp/ledger/ledger"
)

// TestCommitmentsProperty folds random histories of contracts, amendments, advances,
// settlements, reversals of advances and payments, and checks the committed capital,
// the outstanding advances and the oldest advance's age of random reports (any as-of
// date, any position, by district and in total) against a naive recomputation from the
// event list.
func TestCommitmentsProperty(t *testing.T) {
	for seed := uint64(1); seed <= 120; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0xadd))
		events := genCommitHistory(rng)
		p := &Progress{}
		p.Apply(events)
		head := int64(len(events))
		for range 12 {
			q := Query{Program: "G1"}
			if rng.IntN(2) == 0 {
				q.GroupBy = []Dimension{GroupDistrict}
			}
			if rng.IntN(4) != 0 {
				q.AsOf = ledger.MakeDate(2024, time.Month(1+rng.IntN(12)), 1+rng.IntN(28))
			}
			if rng.IntN(2) == 0 {
				q.At = 1 + rng.Int64N(head)
			}
			r, err := p.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			k := head
			if q.At > 0 {
				k = q.At
			}
			want := naiveCommitments(events[:k], q.AsOf, "")
			if !r.Commitments {
				if want.contract {
					t.Fatalf("seed %d %+v: the report carries no commitments, the ledger holds a contract", seed, q)
				}
				continue
			}
			checkCommitRow(t, seed, q, "total", r.Total, want)
			for _, row := range r.Rows {
				checkCommitRow(t, seed, q, row.Key[0], row, naiveCommitments(events[:k], q.AsOf, row.Key[0]))
			}
		}
	}
}

type naiveCx struct {
	contract               bool
	committed, outstanding int64
	oldest                 int64
}

func checkCommitRow(t *testing.T, seed uint64, q Query, name string, row Row, want naiveCx) {
	t.Helper()
	c := row.Commitments
	if c == nil {
		t.Fatalf("seed %d %+v %s: row without commitments", seed, q, name)
	}
	if c.Committed != want.committed || c.Outstanding != want.outstanding {
		t.Fatalf("seed %d %+v %s: committed %d outstanding %d; naive %d, %d", seed, q, name, c.Committed, c.Outstanding, want.committed, want.outstanding)
	}
	if q.AsOf == 0 {
		if c.OldestDays != nil || c.ByAge != nil {
			t.Fatalf("seed %d %s: ages without an as-of date", seed, name)
		}
		return
	}
	var got int64 = -1
	if c.OldestDays != nil {
		got = *c.OldestDays
	}
	if got != want.oldest {
		t.Fatalf("seed %d %+v %s: oldest %d days; naive %d", seed, q, name, got, want.oldest)
	}
	a := c.ByAge
	if a.Days0To30+a.Days31To90+a.Days91To180+a.Over180 != c.Outstanding {
		t.Fatalf("seed %d %s: age buckets %+v do not add up to %d", seed, name, *a, c.Outstanding)
	}
}

// naiveCommitments sums committed capital and outstanding advances of the lines of
// district (every line when ""), as of asOf (no limit when 0), from the events alone.
func naiveCommitments(events []*ledger.Event, asOf ledger.Date, district string) naiveCx {
	out := naiveCx{oldest: -1}
	t := asOf
	if t == 0 {
		t = maxDate
	}
	type adv struct {
		date ledger.Date
		left int64
	}
	advs := map[string]*adv{}
	var order []string
	in := func(l *ledger.Line) bool {
		return district == "" || l.Unit == district || len(district) == 3 && l.Unit == "C"+district[1:]+"1"
	}
	for _, e := range events {
		d := &e.Data
		if e.Type == ledger.TypeContractSigned {
			out.contract = true
		}
		if e.EffectiveDate > t || d.Line == nil || !in(d.Line) {
			continue
		}
		switch e.Type {
		case ledger.TypeContractSigned:
			out.committed += d.Amount
		case ledger.TypeContractAmended:
			out.committed += d.Amount - d.PreviousValue
		case ledger.TypeDisbursed:
			if d.IsAdvance() {
				advs[e.ID.String()] = &adv{date: e.EffectiveDate, left: d.Amount}
				order = append(order, e.ID.String())
			}
		case ledger.TypeAdvanceSettled:
			if a := advs[d.EventID]; a != nil {
				a.left -= d.Amount
			}
		case ledger.TypeReversed:
			if a := advs[d.EventID]; a != nil {
				a.left -= d.AdvanceReversed
			}
		}
	}
	for _, id := range order {
		a := advs[id]
		if a.left > 0 {
			out.outstanding += a.left
			if asOf != 0 {
				out.oldest = max(out.oldest, int64(asOf.Time().Sub(a.date.Time())/(24*time.Hour)))
			}
		}
	}
	return out
}

// genCommitHistory: one program, a province and two districts with a commune each, one
// source; allocations, contracts and amendments, advances, payments, settlements and
// reversals, in random date order within 2024.
func genCommitHistory(rng *rand.Rand) []*ledger.Event {
	h := &history{rng: rng, progs: []string{"G1"}}
	from := ledger.MakeDate(2020, time.January, 1)
	h.add(ledger.TypeProgramRegistered, from, ledger.EventData{Program: &ledger.Program{Code: "G1", Name: "Chương trình 1"}})
	h.add(ledger.TypeProjectRegistered, from, ledger.EventData{Project: &ledger.Project{Program: "G1", Code: "DA1", Name: "Dự án 1"}})
	h.add(ledger.TypeSourceRegistered, from, ledger.EventData{Source: &propSources[0]})
	for _, u := range []ledger.Unit{propUnits[0], propUnits[1], propUnits[2], propUnits[4], propUnits[5]} {
		h.add(ledger.TypeUnitRegistered, from, ledger.EventData{Unit: &u})
	}
	lines := []ledger.Line{}
	for _, u := range []string{"P1", "D11", "C111", "D12", "C121"} {
		lines = append(lines, ledger.Line{Program: "G1", Year: 2024, Source: "C-INV", Project: "DA1", Unit: u})
	}
	day := func() ledger.Date { return ledger.MakeDate(2024, time.Month(1+rng.IntN(12)), 1+rng.IntN(28)) }
	type contract struct {
		id    uuid.UUID
		line  ledger.Line
		value int64
	}
	type advance struct {
		id   uuid.UUID
		line ledger.Line
		date ledger.Date
	}
	var contracts []contract
	var advances []advance
	add := func(typ ledger.EventType, date ledger.Date, data ledger.EventData) uuid.UUID {
		h.add(typ, date, data)
		e := h.events[len(h.events)-1]
		e.ID = uuid.New()
		return e.ID
	}
	n := 20 + rng.IntN(120)
	for range n {
		l := lines[rng.IntN(len(lines))]
		amt := 1 + rng.Int64N(1_000_000)
		switch k := rng.IntN(10); {
		case k < 2:
			add(ledger.TypeAllocated, day(), ledger.EventData{Line: &l, Amount: amt * 5})
		case k < 4:
			id := add(ledger.TypeContractSigned, day(), ledger.EventData{Line: &l, Amount: amt, Number: "HĐ"})
			contracts = append(contracts, contract{id, l, amt})
		case k < 5 && len(contracts) > 0:
			c := &contracts[rng.IntN(len(contracts))]
			if amt == c.value {
				continue
			}
			add(ledger.TypeContractAmended, day(), ledger.EventData{Line: &c.line, Contract: c.id.String(), Amount: amt, PreviousValue: c.value})
			c.value = amt
		case k < 7:
			d := day()
			id := add(ledger.TypeDisbursed, d, ledger.EventData{Line: &l, Amount: amt, Kind: string(ledger.KindAdvance)})
			advances = append(advances, advance{id, l, d})
		case k < 8:
			add(ledger.TypeDisbursed, day(), ledger.EventData{Line: &l, Amount: amt, Kind: string(ledger.KindPayment)})
		case len(advances) > 0:
			a := advances[rng.IntN(len(advances))]
			d := a.date + ledger.Date(rng.IntN(3)) // a few days later, or the same day
			if d%100 > 28 {
				d = a.date
			}
			if k == 8 {
				add(ledger.TypeAdvanceSettled, d, ledger.EventData{Line: &a.line, EventID: a.id.String(), Amount: 1 + rng.Int64N(300_000)})
			} else {
				r := 1 + rng.Int64N(300_000)
				add(ledger.TypeReversed, d, ledger.EventData{Line: &a.line, EventID: a.id.String(), Amount: r, AdvanceReversed: r / 2})
			}
		}
	}
	return h.events
}
