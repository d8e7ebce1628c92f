package projections

import (
	"cmp"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"slices"

	"github.com/vnntp/ledger/ledger"
)

// Ratio is a proportion of two integers, Num / Den.
type Ratio struct {
	Num int64 `json:"num"`
	Den int64 `json:"den"`
}

// DefaultCounterpartRatio is the counterpart funds a province must provide per đồng of
// central capital: 3 % for Bắc Kạn [pub] (docs/domain.md, rule 8). It is data, not law:
// a query may set another.
var DefaultCounterpartRatio = Ratio{Num: 3, Den: 100}

// CounterpartQuery selects the plan of a period for the counterpart check. The zero
// CounterpartQuery checks every province over every plan year at the head, with no as-of
// limit and the default ratio.
type CounterpartQuery struct {
	Program  string
	Unit     string // a unit subtree, usually one province; empty: every province
	FromYear int    // first plan year of the period; 0: no lower bound
	ToYear   int    // last plan year of the period; 0: no upper bound
	AsOf     ledger.Date
	At       int64
	Ratio    Ratio // zero: DefaultCounterpartRatio; otherwise 0 < Num ≤ Den
	Units    Units // the view of units, as in Query
}

// CounterpartRow is the check of one province: the plan of its counterpart sources
// (sources flagged counterpart) against the plan of its central sources (budget central,
// not flagged counterpart). Required is the least whole number of đồng that passes,
// ⌈Central × Num / Den⌉; Pass is decided on unrounded integers (Counterpart × Den ≥
// Central × Num), so a rate that displays as 3.00 may still fail.
type CounterpartRow struct {
	Province    string `json:"province"`
	Name        string `json:"name"`
	Counterpart int64  `json:"counterpart"`
	Central     int64  `json:"central"`
	Required    int64  `json:"required"`
	Rate        *Rate  `json:"rate_percent"` // Counterpart / Central × 100, half-up to 0.01
	Pass        bool   `json:"pass"`
}

// CounterpartReport is the answer to a CounterpartQuery, stamped like a Report with the
// position and hash it was computed at. Rows are sorted by province id.
type CounterpartReport struct {
	AsOf     ledger.Date      `json:"as_of"`
	Position int64            `json:"position"`
	HeadHash [32]byte         `json:"-"`
	Ratio    Ratio            `json:"ratio"`
	FromYear int              `json:"from_year,omitempty"`
	ToYear   int              `json:"to_year,omitempty"`
	Rows     []CounterpartRow `json:"rows"`
	Units    Units            `json:"units,omitempty"` // written only for the restated view
}

// MarshalJSON adds head_hash as lowercase hex.
func (r CounterpartReport) MarshalJSON() ([]byte, error) {
	type plain CounterpartReport
	out := struct {
		plain
		HeadHash string `json:"head_hash"`
	}{plain(r), hex.EncodeToString(r.HeadHash[:])}
	if out.Rows == nil {
		out.Rows = []CounterpartRow{}
	}
	return json.Marshal(out)
}

// Counterpart checks counterpart funds against central capital per province (docs/domain.md,
// rule 8), a reported check, not a blocking one. It returns *ledger.Error like Query.
func (p *Progress) Counterpart(q CounterpartQuery) (CounterpartReport, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()

	ratio := q.Ratio
	if ratio == (Ratio{}) {
		ratio = DefaultCounterpartRatio
	}
	if ratio.Den <= 0 || ratio.Num <= 0 || ratio.Num > ratio.Den {
		return CounterpartReport{}, invalidArg("ratio", "must be a proportion 0 < num ≤ den, got %d/%d", ratio.Num, ratio.Den)
	}
	if q.FromYear != 0 && q.ToYear != 0 && q.FromYear > q.ToYear {
		return CounterpartReport{}, invalidArg("to_year", "must not be before from_year")
	}
	sc, err := p.resolve(q.At, q.AsOf, q.Program, q.Unit, "", "", false)
	if err != nil {
		return CounterpartReport{}, err
	}
	if sc.current, err = p.unitsView(q.Units, &sc, nil); err != nil {
		return CounterpartReport{}, err
	}
	if q.FromYear != 0 {
		sc.yearLo = int32(q.FromYear)
	}
	if q.ToYear != 0 {
		sc.yearHi = int32(q.ToYear)
	}

	type sums struct{ counterpart, central int64 }
	byProvince := map[int32]*sums{}
	p.each(&sc, func(l *lineRec, pl *place) {
		if l.source == none {
			return
		}
		src := &p.sources[l.source]
		if !src.counterpart && !src.central {
			return
		}
		plan, _ := l.at(sc.t, sc.k)
		if plan == 0 {
			return
		}
		prov := p.groupValue(l, pl, dimProvince)
		s := byProvince[prov]
		if s == nil {
			s = &sums{}
			byProvince[prov] = s
		}
		if src.counterpart {
			s.counterpart += plan
		} else {
			s.central += plan
		}
	})

	r := CounterpartReport{AsOf: q.AsOf, Position: sc.k, HeadHash: p.hashAt(sc.k), Ratio: ratio, FromYear: q.FromYear,
		ToYear: q.ToYear, Rows: make([]CounterpartRow, 0, len(byProvince))}
	if sc.current {
		r.Units = UnitsCurrent
	}
	num, den := big.NewInt(ratio.Num), big.NewInt(ratio.Den)
	for prov, s := range byProvince {
		if *s == (sums{}) {
			continue // lines that cancel out: nothing to check, as a report leaves zero rows out
		}
		row := CounterpartRow{Counterpart: s.counterpart, Central: s.central, Rate: RateOf(s.counterpart, s.central)}
		row.Province, row.Name = p.keyName(dimProvince, prov)
		// Big integers: Central × Num may leave int64 for a configurable ratio; the
		// result, at most Central, fits again.
		need := new(big.Int).Mul(big.NewInt(s.central), num)
		have := new(big.Int).Mul(big.NewInt(s.counterpart), den)
		row.Pass = have.Cmp(need) >= 0
		// ⌈need / den⌉ = −⌊−need / den⌋; big.Int.Div rounds towards −∞ for den > 0.
		req := new(big.Int).Div(need.Neg(need), den)
		req.Neg(req)
		invariant(req.IsInt64(), "counterpart: required amount beyond int64 with num ≤ den")
		row.Required = req.Int64()
		r.Rows = append(r.Rows, row)
	}
	slices.SortFunc(r.Rows, func(a, b CounterpartRow) int { return cmp.Compare(a.Province, b.Province) })
	return r, nil
}
