package ledger

import (
	"crypto/sha256"
	"time"

	"github.com/google/uuid"
)

// LineBalance is what a line holds: the gross amount of each flow (Postings), from
// which every measure follows.
type LineBalance struct {
	Line        Line
	Flows       [FlowCount]int64 // gross, positive amounts by flow
	events      int              // postings on the line; Revert drops the line at zero
	carriedInto map[int]int64    // carried over, by the year carried into
	days        *dayNode         // available delta by effective date (availability.go); nil in LinesOnly states
}

// Measure returns the line's figure m: the signed sum of the flows that move it.
func (b *LineBalance) Measure(m Measure) int64 {
	var v int64
	for f := Flow(1); f < flowEnd; f++ {
		if f.Measure() == m {
			v += f.Sign() * b.Flows[f]
		}
	}
	return v
}

// Plan is allocated + transferred in − transferred out − cancelled.
func (b *LineBalance) Plan() int64 { return b.Measure(MeasurePlan) }

// NetDisbursed is disbursed − reversed.
func (b *LineBalance) NetDisbursed() int64 { return b.Measure(MeasureDisbursed) }

// Available is plan − net disbursed; the write model keeps it ≥ 0 (docs/domain.md, rule 2).
func (b *LineBalance) Available() int64 { return b.Plan() - b.NetDisbursed() }

// AdvanceOutstanding is advances paid and neither settled nor reversed.
func (b *LineBalance) AdvanceOutstanding() int64 { return b.Measure(MeasureAdvanceOutstanding) }

// Gross amounts by flow, as the API shows a line.
func (b *LineBalance) Allocated() int64      { return b.Flows[FlowAllocation] }
func (b *LineBalance) TransferredIn() int64  { return b.Flows[FlowTransferIn] }
func (b *LineBalance) TransferredOut() int64 { return b.Flows[FlowTransferOut] }
func (b *LineBalance) Cancelled() int64      { return b.Flows[FlowCancellation] }
func (b *LineBalance) Disbursed() int64      { return b.Flows[FlowDisbursement] }
func (b *LineBalance) Reversed() int64       { return b.Flows[FlowReversal] }
func (b *LineBalance) CarriedOver() int64    { return b.Flows[FlowCarryOver] }

// Add folds into b what e does to b.Line (nothing when e does not touch it). It is the
// balance of one line from that line's events alone, for history at a position and
// running balances.
func (b *LineBalance) Add(e *Event) {
	var buf [PostingsMax]Posting
	for _, p := range e.Postings(buf[:0]) {
		if p.Line == b.Line {
			b.Flows[p.Flow] += p.Amount
		}
	}
}

// disbursement is what the write model remembers of a funds.disbursed event, to check
// reversals and settlements against it.
type disbursement struct {
	line     *LineBalance
	date     Date
	advance  bool
	amount   int64
	reversed int64
	settled  int64
}

// remaining is what a reversal may still take back (docs/domain.md, rule 4): the amount less
// what was already reversed. For an advance, a settled part is a final payment and may
// still be reversed.
func (d *disbursement) remaining() int64 { return d.amount - d.reversed }

// outstanding is the part of an advance not yet settled nor reversed; 0 for a payment.
// A reversal takes back this part first (Decide), so it equals the advance's postings:
// advance − settlement − advance reversal.
func (d *disbursement) outstanding() int64 {
	if !d.advance {
		return 0
	}
	return max(0, d.amount-d.reversed-d.settled)
}

// State is the fold of the event log: the catalog, every line's balance, what remains
// of every disbursement, the vouchers accepted and the head of the hash chain. The zero
// State is an empty ledger. It is not safe for concurrent use; the sequencer owns one.
type State struct {
	Catalog       Catalog
	lines         map[Line]*LineBalance
	disbursements map[uuid.UUID]*disbursement
	vouchers      map[voucherKey]struct{}
	// refs, in the sequencer's bounded mode (ledger/refcache.go), stands for the two maps
	// above, which then stay nil: recent records and a filter, the rest in the store.
	// It depends on what was looked up when, so it is not part of a snapshot.
	refs      *storedRefs
	deadlines Deadlines

	// Contracts and advance limits (ledger/contract.go): few, kept in every mode.
	contracts       map[uuid.UUID]*contract
	contractNumbers map[contractKey]bool
	contractOf      map[uuid.UUID]*contract // by disbursement naming a contract
	limits          []advanceLimit

	// LinesOnly makes the fold keep only the catalog and the line balances — what read
	// models need — and not the per-disbursement records and vouchers that Decide checks
	// settlements, reversals and vouchers against (the bulk of the write model's memory).
	// Set it before the first Apply; such a State must not Decide.
	LinesOnly bool

	// AvailabilityAtHeadOnly makes Decide check a line's available amount at the head
	// only, as the ledger did before rule 2 was enforced at every business date, and
	// skips the per-date index that check needs. It exists for one purpose: the baseline
	// of `make bench`, which measures what the check costs. Set it before the first
	// Apply; never set it in a server.
	AvailabilityAtHeadOnly bool

	Head       int64
	HeadHash   [32]byte
	HeadTime   time.Time
	EventCount int64

	// turnover is the sum of the amounts of every posting applied (ledger/turnover.go).
	turnover turnover
	// tokens are the access tokens whose creation or revocation is recorded
	// (ledger/access_events.go).
	tokens map[string]tokenState
}

func (s *State) init() {
	if s.lines == nil {
		s.Catalog.init()
		s.lines = map[Line]*LineBalance{}
		if s.refs == nil {
			s.disbursements = map[uuid.UUID]*disbursement{}
			s.vouchers = map[voucherKey]struct{}{}
		}
		s.contracts = map[uuid.UUID]*contract{}
		s.contractNumbers = map[contractKey]bool{}
		s.contractOf = map[uuid.UUID]*contract{}
	}
}

// Line returns the balance of l, or nil if no event touched it.
func (s *State) Line(l Line) *LineBalance { return s.lines[l] }

// Lines calls fn for every line, in no particular order.
func (s *State) Lines(fn func(*LineBalance)) {
	for _, b := range s.lines {
		fn(b)
	}
}

// LineCount returns the number of lines.
func (s *State) LineCount() int { return len(s.lines) }

// Decide checks cmd against the state and returns the event type, effective date and
// data of the event it would record. It does not change the state. Errors name the
// request field: *Error (invalid_argument, unknown_reference, not_found) or
// *InsufficientFundsError.
func (s *State) Decide(cmd Command) (typ EventType, date Date, data EventData, err error) {
	s.init()
	c := &s.Catalog
	switch cmd := cmd.(type) {
	case *Allocate:
		if err = c.checkLine(cmd.Line, cmd.EffectiveDate, "line"); err != nil {
			return
		}
		if b := s.lines[cmd.Line]; b != nil {
			if _, ok := Sum(b.Allocated(), b.TransferredIn(), cmd.Amount); !ok {
				return "", 0, data, invalid("amount", "would overflow the line's total")
			}
		}
		l := cmd.Line
		return TypeAllocated, cmd.EffectiveDate, EventData{Line: &l, Amount: cmd.Amount, Decision: cmd.Decision, Note: cmd.Note}, nil

	case *Transfer:
		if cmd.Kind == KindHandover {
			err = s.decideHandover(cmd)
		} else if err = c.checkLine(cmd.From, cmd.EffectiveDate, "from"); err == nil {
			err = c.checkLine(cmd.To, cmd.EffectiveDate, "to")
		}
		if err != nil {
			return
		}
		if err = s.checkAvailable(cmd.From, cmd.Amount, "from", cmd.EffectiveDate); err != nil {
			return
		}
		if err = s.checkPlanCoversCommitted(cmd.From, cmd.Amount, "from"); err != nil {
			return
		}
		switch cmd.Kind {
		case KindSuballocation:
			if cmd.To.Unit == cmd.From.Unit || !c.IsUnitWithin(cmd.To.Unit, cmd.From.Unit) {
				return "", 0, data, invalid("to.unit", "a sub-allocation goes to a unit below %q, got %q", cmd.From.Unit, cmd.To.Unit)
			}
		case KindReallocation:
			if c.Units[cmd.To.Unit].Level != c.Units[cmd.From.Unit].Level {
				return "", 0, data, invalid("to.unit", "a re-allocation stays between units of the same level")
			}
			// Capital crosses a province boundary only by a handover to a successor.
			if c.Ancestry(cmd.To.Unit)[0] != c.Ancestry(cmd.From.Unit)[0] {
				return "", 0, data, invalid("to.unit", "a re-allocation stays within a province; only a handover crosses provinces")
			}
		}
		if b := s.lines[cmd.To]; b != nil {
			if _, ok := Sum(b.Allocated(), b.TransferredIn(), cmd.Amount); !ok {
				return "", 0, data, invalid("amount", "would overflow the line's total")
			}
		}
		from, to := cmd.From, cmd.To
		return TypeTransferred, cmd.EffectiveDate, EventData{From: &from, To: &to, Amount: cmd.Amount, Kind: string(cmd.Kind),
			Decision: cmd.Decision, Note: cmd.Note}, nil

	case *CarryOver:
		if err = s.checkExisting(cmd.Line, cmd.EffectiveDate); err != nil {
			return
		}
		// Capital carried into a year once may not be carried into the same year again:
		// the execution-year report would count it twice.
		b := s.lines[cmd.Line]
		// What is carried must be unspent on the carry-over's date and every date after.
		already := b.carriedInto[cmd.IntoYear]
		if avail := s.availableFrom(b, cmd.EffectiveDate) - already; cmd.Amount > avail {
			return "", 0, data, &InsufficientFundsError{Field: "line", Line: cmd.Line.ID(), Requested: cmd.Amount,
				Available: max(0, avail), Date: cmd.EffectiveDate}
		}
		if _, ok := Sum(b.CarriedOver(), cmd.Amount); !ok {
			return "", 0, data, invalid("amount", "would overflow the line's total")
		}
		l := cmd.Line
		return TypeCarriedOver, cmd.EffectiveDate, EventData{Line: &l, Amount: cmd.Amount, IntoYear: cmd.IntoYear,
			Decision: cmd.Decision, Note: cmd.Note}, nil

	case *Cancel:
		if err = s.checkExisting(cmd.Line, cmd.EffectiveDate); err != nil {
			return
		}
		if err = s.checkAvailable(cmd.Line, cmd.Amount, "line", cmd.EffectiveDate); err != nil {
			return
		}
		if err = s.checkPlanCoversCommitted(cmd.Line, cmd.Amount, "line"); err != nil {
			return
		}
		l := cmd.Line
		return TypeCancelled, cmd.EffectiveDate, EventData{Line: &l, Amount: cmd.Amount, Decision: cmd.Decision, Note: cmd.Note}, nil

	case *Disburse:
		if err = s.checkExisting(cmd.Line, cmd.EffectiveDate); err != nil {
			return
		}
		if err = s.checkDeadline(cmd.Line, cmd.EffectiveDate); err != nil {
			return
		}
		if err = s.checkAvailable(cmd.Line, cmd.Amount, "line", cmd.EffectiveDate); err != nil {
			return
		}
		if _, ok := Sum(s.lines[cmd.Line].Disbursed(), cmd.Amount); !ok {
			return "", 0, data, invalid("amount", "would overflow the line's total")
		}
		if cmd.Contract != uuid.Nil {
			if err = s.checkContractDisbursement(cmd); err != nil {
				return
			}
			data.Contract = cmd.Contract.String()
		}
		if err = s.checkVoucher(cmd.Voucher); err != nil {
			return
		}
		l, v := cmd.Line, cmd.Voucher
		return TypeDisbursed, cmd.EffectiveDate, EventData{Line: &l, Amount: cmd.Amount, Kind: string(cmd.Kind), Payee: cmd.Payee,
			Voucher: &v, Note: cmd.Note, Contract: data.Contract}, nil

	case *SettleAdvance:
		d := s.disbursement(cmd.EventID)
		if d == nil {
			return "", 0, data, unknownRef("event_id", "no disbursement %s", cmd.EventID)
		}
		if !d.advance {
			return "", 0, data, invalid("event_id", "disbursement %s is a payment, not an advance", cmd.EventID)
		}
		if cmd.EffectiveDate < d.date {
			return "", 0, data, invalid("effective_date", "must not be before the advance's date %s", d.date)
		}
		if err = c.checkOpen(d.line.Line.Unit, cmd.EffectiveDate, "event_id"); err != nil {
			return
		}
		if cmd.Amount > d.outstanding() {
			return "", 0, data, &InsufficientFundsError{Field: "amount", Line: d.line.Line.ID(), Requested: cmd.Amount, Available: d.outstanding()}
		}
		if err = s.checkVoucher(cmd.Voucher); err != nil {
			return
		}
		l, v := d.line.Line, cmd.Voucher
		return TypeAdvanceSettled, cmd.EffectiveDate, EventData{Line: &l, EventID: cmd.EventID.String(), Amount: cmd.Amount,
			Voucher: &v, Note: cmd.Note}, nil

	case *Reverse:
		d := s.disbursement(cmd.EventID)
		if d == nil {
			return "", 0, data, unknownRef("event_id", "no disbursement %s", cmd.EventID)
		}
		if cmd.EffectiveDate < d.date {
			return "", 0, data, invalid("effective_date", "must not be before the disbursement's date %s", d.date)
		}
		if err = c.checkOpen(d.line.Line.Unit, cmd.EffectiveDate, "event_id"); err != nil {
			return
		}
		if cmd.Amount > d.remaining() {
			return "", 0, data, &InsufficientFundsError{Field: "amount", Line: d.line.Line.ID(), Requested: cmd.Amount, Available: d.remaining()}
		}
		l := d.line.Line
		// A reversal takes back the unsettled part of an advance first; the rest
		// reverses a final payment (a settled part, or a payment).
		return TypeReversed, cmd.EffectiveDate, EventData{Line: &l, EventID: cmd.EventID.String(), Amount: cmd.Amount,
			AdvanceReversed: min(cmd.Amount, d.outstanding()), Reason: cmd.Reason}, nil

	case *RegisterProgram:
		if c.Programs[cmd.Code] != nil {
			return "", 0, data, invalid("code", "program %q is already registered", cmd.Code)
		}
		p := cmd.Program
		return TypeProgramRegistered, p.ValidFrom, EventData{Program: &p}, nil

	case *RegisterProject:
		if c.Programs[cmd.Project.Program] == nil {
			return "", 0, data, unknownRef("program", "no program %q", cmd.Project.Program)
		}
		if c.Project(cmd.Project.Program, cmd.Code) != nil {
			return "", 0, data, invalid("code", "project %q is already registered in program %q", cmd.Code, cmd.Project.Program)
		}
		if cmd.Parent != "" && c.Project(cmd.Project.Program, cmd.Parent) == nil {
			return "", 0, data, unknownRef("parent", "no project %q in program %q", cmd.Parent, cmd.Project.Program)
		}
		p := cmd.Project
		return TypeProjectRegistered, p.ValidFrom, EventData{Project: &p}, nil

	case *RegisterUnit:
		if c.Units[cmd.ID] != nil {
			return "", 0, data, invalid("id", "unit %q is already registered", cmd.ID)
		}
		if cmd.Parent != "" {
			parent := c.Units[cmd.Parent]
			if parent == nil {
				return "", 0, data, unknownRef("parent", "no administrative unit %q", cmd.Parent)
			}
			// The level rules of the unit's first day: before the 2025 reorganisation a
			// commune hangs under a district, from it under a province (LevelsOn).
			want, ok := c.parentLevelOn(cmd.Level, cmd.ValidFrom)
			if !ok {
				return "", 0, data, invalid("level", "there is no %s level%s (the levels then: %s)", cmd.Level, onDate(cmd.ValidFrom), levelList(c.LevelsOn(cmd.ValidFrom)))
			}
			if parent.Level != want {
				return "", 0, data, invalid("parent", "a %s's parent must be a %s%s, %q is a %s", cmd.Level, want, onDate(cmd.ValidFrom), cmd.Parent, parent.Level)
			}
		} else if _, ok := c.parentLevelOn(cmd.Level, cmd.ValidFrom); !ok {
			return "", 0, data, invalid("level", "there is no %s level%s (the levels then: %s)", cmd.Level, onDate(cmd.ValidFrom), levelList(c.LevelsOn(cmd.ValidFrom)))
		}
		u := cmd.Unit
		return TypeUnitRegistered, u.ValidFrom, EventData{Unit: &u}, nil

	case *RegisterSource:
		if c.Sources[cmd.Code] != nil {
			return "", 0, data, invalid("code", "capital source %q is already registered", cmd.Code)
		}
		src := cmd.Source
		return TypeSourceRegistered, src.ValidFrom, EventData{Source: &src}, nil

	case *RecordTokenCreated, *RecordTokenRevoked:
		return s.decideAccess(cmd)
	case *Reorganize:
		if err = c.decideReorganize(cmd); err != nil {
			return
		}
		r := cmd.Reorganization
		return TypeUnitReorganized, cmd.EffectiveDate, EventData{Reorganization: &r}, nil
	case *SignContract:
		return s.decideSignContract(cmd)
	case *AmendContract:
		return s.decideAmendContract(cmd)
	case *SetAdvanceLimit:
		return s.decideSetAdvanceLimit(cmd)
	case *RecordReconciliation:
		return s.decideReconciliation(cmd)
	case *SetDeadline, *ExtendDeadline:
		return s.decideDeadline(cmd)

	case *SetTarget:
		return s.decideTarget(cmd)
	}
	return "", 0, data, invalid("", "unknown command %T", cmd)
}

// checkExisting checks a line that must already hold capital, and its catalog entries on d.
func (s *State) checkExisting(l Line, d Date) error {
	if err := s.Catalog.checkLine(l, d, "line"); err != nil {
		return err
	}
	if s.lines[l] == nil {
		return &InsufficientFundsError{Field: "line", Line: l.ID(), Available: 0, Date: d}
	}
	return nil
}

// tracksDates reports whether the state keeps each line's available amount by date.
func (s *State) tracksDates() bool { return !s.LinesOnly && !s.AvailabilityAtHeadOnly }

// availableFrom returns the most that may be taken from b on date d without its
// available amount falling below zero on d or any later date (rule 2).
func (s *State) availableFrom(b *LineBalance, d Date) int64 {
	if !s.tracksDates() {
		return b.Available()
	}
	return b.days.minFrom(d)
}

// checkAvailable refuses taking amount from line l on date d when the line's available
// amount would fall below zero on d or any later date; the error names the first such
// date (docs/domain.md, rule 2).
func (s *State) checkAvailable(l Line, amount int64, field string, d Date) error {
	b := s.lines[l]
	if b == nil {
		return &InsufficientFundsError{Field: field, Line: l.ID(), Requested: amount, Available: 0, Date: d}
	}
	avail := s.availableFrom(b, d)
	if amount <= avail {
		return nil
	}
	neg := d
	if s.tracksDates() {
		first, ok := b.days.firstBelow(d, amount)
		invariant(ok, "a line short of funds from a date has no date it is short on")
		neg = first
	}
	return &InsufficientFundsError{Field: field, Line: l.ID(), Requested: amount, Available: max(0, avail), Date: neg}
}

func (s *State) checkVoucher(v Voucher) error {
	invariant(!s.LinesOnly, "Decide on a LinesOnly state")
	if s.voucherRecorded(v.key()) {
		return invalid("voucher", "treasury voucher %s/%s/%s of %s was already recorded", v.Office, v.Type, v.Number, v.Date)
	}
	return nil
}

// Apply folds a committed (or, in the sequencer, a tentatively accepted) event into the
// state. Events must come in position order, each linked to the head.
func (s *State) Apply(e *Event) {
	s.init()
	invariant(e.Position == s.Head+1, "events applied out of order")
	var buf [PostingsMax]Posting
	postings := e.Postings(buf[:0])
	byDate := s.tracksDates()
	for _, p := range postings {
		b := s.touch(p.Line)
		b.Flows[p.Flow] += p.Amount
		s.turnover.add(p.Amount)
		if delta := p.AvailableDelta(); byDate && delta != 0 {
			b.days = addDay(b.days, e.EffectiveDate, delta, 1)
		}
	}
	d := &e.Data
	// What the write model keeps beside balances, to check later commands against.
	switch e.Type {
	case TypeAllocated, TypeTransferred, TypeCancelled:
	case TypeCarriedOver:
		b := s.lines[*d.Line]
		if b.carriedInto == nil {
			b.carriedInto = map[int]int64{}
		}
		b.carriedInto[d.IntoYear] += d.Amount
	case TypeDisbursed:
		if !s.LinesOnly {
			s.putDisbursement(e.ID, &disbursement{line: s.lines[*d.Line], date: e.EffectiveDate, advance: d.IsAdvance(), amount: d.Amount})
			s.putVoucher(d.Voucher.key(), true)
		}
	case TypeAdvanceSettled:
		if !s.LinesOnly {
			if o := s.original(d.EventID); o != nil {
				o.settled += d.Amount
			}
			s.putVoucher(d.Voucher.key(), true)
		}
	case TypeReversed:
		if !s.LinesOnly {
			if o := s.original(d.EventID); o != nil {
				o.reversed += d.Amount
			}
		}
	case TypeProgramRegistered:
		s.Catalog.Programs[d.Program.Code] = d.Program
	case TypeProjectRegistered:
		s.Catalog.Projects[projectKey(d.Project.Program, d.Project.Code)] = d.Project
	case TypeUnitRegistered:
		s.Catalog.Units[d.Unit.ID] = d.Unit
	case TypeSourceRegistered:
		s.Catalog.Sources[d.Source.Code] = d.Source
	case TypeTokenCreated, TypeTokenRevoked:
		if !s.LinesOnly {
			s.applyAccess(e)
		}
	case TypeUnitReorganized:
		s.Catalog.applyReorganize(e.EffectiveDate, d.Reorganization)
	case TypeContractSigned, TypeContractAmended, TypeAdvanceLimitSet, TypeReconciliationCompleted:
	case TypeDeadlineSet, TypeDeadlineExtended:
		s.deadlines.Add(e)
	case TypeTargetSet: // nothing to check later commands against
	default:
		invariant(false, "ledger.State.Apply: unknown event type "+string(e.Type))
	}
	s.applyContract(e, false)
	for _, p := range postings {
		invariant(s.lines[p.Line].Available() >= 0, "a line's available balance went below zero")
		invariant(committedOn(s.lines[p.Line]) <= s.lines[p.Line].Plan(), "a line's contracts went above its plan")
	}
	s.Head, s.HeadHash, s.HeadTime = e.Position, e.Hash, e.RecordedAt
	s.EventCount++
}

// Revert undoes Apply of the head event e; the sequencer uses it when a batch does not
// commit, newest first. headTime is the recording time of the event before e.
func (s *State) Revert(e *Event, headTime time.Time) {
	invariant(!s.LinesOnly, "Revert on a LinesOnly state")
	invariant(e.Position == s.Head && e.Hash == s.HeadHash, "revert of an event that is not the head")
	d := &e.Data
	switch e.Type {
	case TypeAllocated, TypeTransferred, TypeCancelled:
	case TypeCarriedOver:
		b := s.lines[*d.Line]
		if b.carriedInto[d.IntoYear] -= d.Amount; b.carriedInto[d.IntoYear] == 0 {
			delete(b.carriedInto, d.IntoYear)
		}
		if len(b.carriedInto) == 0 {
			b.carriedInto = nil // as a fresh fold leaves it
		}
	case TypeDisbursed:
		s.dropDisbursement(e.ID)
		s.dropVoucher(d.Voucher.key())
	case TypeAdvanceSettled:
		s.revertOriginal(d.EventID).settled -= d.Amount
		s.dropVoucher(d.Voucher.key())
	case TypeReversed:
		s.revertOriginal(d.EventID).reversed -= d.Amount
	case TypeProgramRegistered:
		delete(s.Catalog.Programs, d.Program.Code)
	case TypeProjectRegistered:
		delete(s.Catalog.Projects, projectKey(d.Project.Program, d.Project.Code))
	case TypeUnitRegistered:
		delete(s.Catalog.Units, d.Unit.ID)
	case TypeSourceRegistered:
		delete(s.Catalog.Sources, d.Source.Code)
	case TypeTokenCreated, TypeTokenRevoked:
		s.revertAccess(e)
	case TypeUnitReorganized:
		s.Catalog.revertReorganize(d.Reorganization)
	case TypeContractSigned, TypeContractAmended, TypeAdvanceLimitSet, TypeReconciliationCompleted:
	case TypeDeadlineSet, TypeDeadlineExtended:
		s.deadlines.removeLast(e)
	case TypeTargetSet:
	default:
		invariant(false, "ledger.State.Revert: unknown event type "+string(e.Type))
	}
	s.applyContract(e, true)
	var buf [PostingsMax]Posting
	byDate := s.tracksDates()
	for _, p := range e.Postings(buf[:0]) {
		b := s.untouch(p.Line)
		b.Flows[p.Flow] -= p.Amount
		s.turnover.sub(p.Amount)
		if delta := p.AvailableDelta(); byDate && delta != 0 {
			b.days = addDay(b.days, e.EffectiveDate, -delta, -1)
		}
	}
	s.Head, s.HeadHash, s.HeadTime = e.Position-1, e.PrevHash, headTime
	s.EventCount--
}

func (s *State) touch(l Line) *LineBalance {
	b := s.lines[l]
	if b == nil {
		b = &LineBalance{Line: l}
		s.lines[l] = b
	}
	b.events++
	return b
}

// untouch returns the balance of l and drops the line once no posting touches it, so a
// reverted batch leaves no trace.
func (s *State) untouch(l Line) *LineBalance {
	b := s.lines[l]
	invariant(b != nil, "revert touches an unknown line")
	b.events--
	if b.events == 0 {
		delete(s.lines, l)
	}
	return b
}

// original returns the record of the disbursement a settlement or reversal names. In
// the bounded mode it is nil when the record is not cached: the store then holds it,
// and the sum of what names it, whole, for the next lookup. A record the batch being
// decided needs is always cached (the sequencer looked it up and holds the cache), so
// Revert never meets nil.
func (s *State) original(id string) *disbursement {
	u, err := uuid.Parse(id)
	invariant(err == nil, "event_id is not a UUID")
	if s.refs != nil {
		d, ok := s.refs.disbursements.get(u)
		invariant(!ok || d != nil, "settlement or reversal of a disbursement the store does not hold")
		return d
	}
	d := s.disbursements[u]
	invariant(d != nil, "settlement or reversal of an unknown disbursement")
	return d
}

// revertOriginal is original for Revert, which undoes an event of the batch being
// decided: its disbursement was looked up for it and is held in the cache.
func (s *State) revertOriginal(id string) *disbursement {
	d := s.original(id)
	invariant(d != nil, "revert of a settlement or reversal whose disbursement is not cached")
	return d
}

// disbursementOf returns the write model's record of what the store holds of a
// disbursement.
func (s *State) disbursementOf(r DisbursementRecord) *disbursement {
	d := &r.Event.Data
	invariant(r.Event.Type == TypeDisbursed && d.Line != nil, "a disbursement record of another event")
	b := s.lines[*d.Line]
	invariant(b != nil, "a recorded disbursement on a line the write model does not hold")
	return &disbursement{line: b, date: r.Event.EffectiveDate, advance: d.IsAdvance(), amount: d.Amount,
		reversed: r.Reversed, settled: r.Settled}
}

// disbursement returns the record of the disbursement id, or nil when there is none. In
// the bounded mode the sequencer must have looked id up first (lookupRefs).
func (s *State) disbursement(id uuid.UUID) *disbursement {
	if s.refs == nil {
		return s.disbursements[id]
	}
	d, ok := s.refs.disbursements.get(id)
	invariant(ok, "a disbursement not looked up before Decide")
	return d
}

// voucherRecorded reports whether a recorded event carries the voucher k. In the bounded
// mode the sequencer must have looked k up first unless the filter rules it out.
func (s *State) voucherRecorded(k voucherKey) bool {
	if s.refs == nil {
		_, ok := s.vouchers[k]
		return ok
	}
	if v, ok := s.refs.vouchers.get(k); ok {
		return v
	}
	invariant(s.refs.filter.ready.Load() && !s.refs.filter.mayContain(k), "a voucher not looked up before Decide")
	return false
}

func (s *State) putDisbursement(id uuid.UUID, d *disbursement) {
	if s.refs != nil {
		s.refs.disbursements.put(id, d)
		return
	}
	s.disbursements[id] = d
}

func (s *State) putVoucher(k voucherKey, recorded bool) {
	if s.refs != nil {
		s.refs.vouchers.put(k, recorded)
		// Every voucher the write model applies goes into the filter, so that the loader
		// (which reads the store once) misses none recorded after it started.
		s.refs.filter.add(k)
		return
	}
	s.vouchers[k] = struct{}{}
}

// dropDisbursement and dropVoucher undo putDisbursement and putVoucher. In the bounded
// mode they leave the negative fact (the event is no longer recorded), which is true.
func (s *State) dropDisbursement(id uuid.UUID) {
	if s.refs != nil {
		s.refs.disbursements.put(id, nil)
		return
	}
	delete(s.disbursements, id)
}

func (s *State) dropVoucher(k voucherKey) {
	if s.refs != nil {
		s.refs.vouchers.put(k, false)
		return
	}
	delete(s.vouchers, k)
}

// voucherKey is a 128-bit fingerprint of a voucher: the write model remembers every
// voucher ever accepted, and 16 bytes a voucher instead of its strings keeps that memory
// small. A collision among even 10^9 vouchers has odds below 10^-20; the unique index on
// the events table is the backstop.
type voucherKey [16]byte

func (v *Voucher) key() voucherKey {
	// The identity (ledger/voucher.go), so that one voucher spelt two ways is one voucher.
	var buf [voucherIdentityMax]byte
	return fingerprintOf(v.appendIdentity(buf[:0]))
}

func fingerprintOf(identity []byte) voucherKey {
	sum := sha256.Sum256(identity)
	return voucherKey(sum[:16])
}
