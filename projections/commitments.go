package projections

import (
	"time"

	"github.com/google/uuid"
	"github.com/vnntp/ledger/ledger"
)

// Committed capital and outstanding advances (docs/domain.md §5): a line that has a
// contract or an advance keeps, beside its plan and disbursed figures, the records of
// those events, and a report computes from them, as of its date and at its position,
// the capital under contract and every advance's outstanding amount and age. Lines
// without either keep a nil pointer, so the progress model of a ledger without contracts
// and advances is as before.
//
// A report carries these figures only when the ledger holds a contract at the report's
// position (Report.Commitments): reports of ledgers without contracts stay byte for byte
// what they were.

// Advance age buckets, in days from the advance's effective date to the report's as-of
// date: 0–30, 31–90, 91–180, over 180.
const (
	ageBucket1Days = 30
	ageBucket2Days = 90
	ageBucket3Days = 180
)

// lineContracts holds a line's commitment and advance records in position order.
type lineContracts struct {
	commits  []lineEvent // amount: signed change of committed capital
	advances []advanceRec
}

// advanceRec is one advance and the settlements and reversals that took it back.
type advanceRec struct {
	id     uuid.UUID
	pos    int64
	date   ledger.Date
	amount int64
	back   []lineEvent // amount: positive, what each settlement or reversal took back
}

// contracts returns the line's record, creating it.
func (l *lineRec) contracts() *lineContracts {
	if l.cx == nil {
		l.cx = &lineContracts{}
	}
	return l.cx
}

// applyCommitment folds a posting of committed capital or of outstanding advances.
func (p *Progress) applyCommitment(e *ledger.Event, ps *ledger.Posting) {
	l := p.line(ps.Line, e.Position)
	switch ps.Flow {
	case ledger.FlowCommitment, ledger.FlowCommitmentRelease:
		cx := l.contracts()
		cx.commits = append(cx.commits, lineEvent{pos: e.Position, amount: ps.Delta(), date: e.EffectiveDate})
		if p.firstContract == 0 {
			p.firstContract = e.Position
		}
	case ledger.FlowAdvance:
		cx := l.contracts()
		cx.advances = append(cx.advances, advanceRec{id: e.ID, pos: e.Position, date: e.EffectiveDate, amount: ps.Amount})
	case ledger.FlowSettlement, ledger.FlowAdvanceReversal:
		id, err := uuid.Parse(e.Data.EventID)
		if err != nil || l.cx == nil {
			return // not an advance this model holds (a partial log)
		}
		// Settlements usually follow their advance closely: search from the newest.
		for i := len(l.cx.advances) - 1; i >= 0; i-- {
			if a := &l.cx.advances[i]; a.id == id {
				a.back = append(a.back, lineEvent{pos: e.Position, amount: ps.Amount, date: e.EffectiveDate})
				return
			}
		}
	default:
		invariant(false, "progress: unknown commitment flow "+ps.Flow.String())
	}
}

// commitSums are the contract and advance figures of a group.
type commitSums struct {
	committed   int64
	outstanding int64
	buckets     [4]int64
	oldestDays  int64 // -1: no advance outstanding
}

// addCommitments adds the line's figures as of t at position k into s; ages are counted
// only when aged (the report has an as-of date).
func (l *lineRec) addCommitments(s *commitSums, t ledger.Date, k int64, aged bool) {
	cx := l.cx
	if cx == nil {
		return
	}
	for _, c := range cx.commits {
		if c.pos <= k && c.date <= t {
			s.committed += c.amount
		}
	}
	var tt time.Time
	if aged {
		tt = t.Time()
	}
	for i := range cx.advances {
		a := &cx.advances[i]
		if a.pos > k || a.date > t {
			continue
		}
		out := a.amount
		for _, b := range a.back {
			if b.pos <= k && b.date <= t {
				out -= b.amount
			}
		}
		if out <= 0 {
			continue
		}
		s.outstanding += out
		if !aged {
			continue
		}
		days := int64(tt.Sub(a.date.Time()) / (24 * time.Hour))
		switch {
		case days <= ageBucket1Days:
			s.buckets[0] += out
		case days <= ageBucket2Days:
			s.buckets[1] += out
		case days <= ageBucket3Days:
			s.buckets[2] += out
		default:
			s.buckets[3] += out
		}
		s.oldestDays = max(s.oldestDays, days)
	}
}

func (s *commitSums) add(o *commitSums) {
	s.committed += o.committed
	s.outstanding += o.outstanding
	for i := range s.buckets {
		s.buckets[i] += o.buckets[i]
	}
	s.oldestDays = max(s.oldestDays, o.oldestDays)
}

// Commitments are the contract and advance figures of a report row (docs/domain.md §5):
// committed capital and the commitment rate (committed / plan), advances outstanding and
// their age on the report's as-of date (null without one).
type Commitments struct {
	Committed      int64 `json:"committed"`
	CommitmentRate *Rate `json:"commitment_rate_percent"`
	Outstanding    int64 `json:"advances_outstanding"`
	// OldestDays is the age of the oldest advance outstanding; nil when none is, or when
	// the report has no as-of date.
	OldestDays *int64 `json:"advances_oldest_days"`
	// ByAge splits Outstanding by age; nil when the report has no as-of date.
	ByAge *AdvanceAges `json:"advances_by_age"`
}

// AdvanceAges splits outstanding advances by age in days.
type AdvanceAges struct {
	Days0To30   int64 `json:"days_0_30"`
	Days31To90  int64 `json:"days_31_90"`
	Days91To180 int64 `json:"days_91_180"`
	Over180     int64 `json:"days_over_180"`
}

func commitmentsOf(s commitSums, plan int64, aged bool) *Commitments {
	c := &Commitments{Committed: s.committed, CommitmentRate: RateOf(s.committed, plan), Outstanding: s.outstanding}
	if aged {
		c.ByAge = &AdvanceAges{s.buckets[0], s.buckets[1], s.buckets[2], s.buckets[3]}
		if s.oldestDays >= 0 {
			d := s.oldestDays
			c.OldestDays = &d
		}
	}
	return c
}
