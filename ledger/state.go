package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/google/uuid"
)

// LineBalance is what a line holds, as sums of positive amounts by kind of movement.
type LineBalance struct {
	Line           Line
	Allocated      int64
	TransferredIn  int64
	TransferredOut int64
	CarriedOver    int64 // informational: carried capital stays available on its line
	Cancelled      int64
	Disbursed      int64 // gross, advances and payments
	Reversed       int64
	events         int           // events touching the line; Revert drops the line at zero
	carriedInto    map[int]int64 // carried over, by the year carried into
}

// Available is allocated + transferred in − transferred out − cancelled − net disbursed;
// docs/domain.md, rule 2, keeps it ≥ 0.
func (b *LineBalance) Available() int64 {
	return b.Allocated + b.TransferredIn - b.TransferredOut - b.Cancelled - b.Disbursed + b.Reversed
}

// Plan is allocated + transferred in − transferred out − cancelled.
func (b *LineBalance) Plan() int64 {
	return b.Allocated + b.TransferredIn - b.TransferredOut - b.Cancelled
}

// NetDisbursed is disbursed − reversed.
func (b *LineBalance) NetDisbursed() int64 { return b.Disbursed - b.Reversed }

// Add folds into b what e does to b.Line (nothing when e does not touch it). It is the
// balance of one line from that line's events alone — for history at a position and
// running balances — and what State.Apply does to every line an event touches.
func (b *LineBalance) Add(e *Event) {
	d := &e.Data
	if e.Type == TypeTransferred {
		if d.From != nil && *d.From == b.Line {
			b.TransferredOut += d.Amount
		}
		if d.To != nil && *d.To == b.Line {
			b.TransferredIn += d.Amount
		}
		return
	}
	if d.Line == nil || *d.Line != b.Line {
		return
	}
	switch e.Type {
	case TypeAllocated:
		b.Allocated += d.Amount
	case TypeCarriedOver:
		b.CarriedOver += d.Amount
	case TypeCancelled:
		b.Cancelled += d.Amount
	case TypeDisbursed:
		b.Disbursed += d.Amount
	case TypeReversed:
		b.Reversed += d.Amount
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

// outstanding is the part of an advance not yet settled nor reversed.
func (d *disbursement) outstanding() int64 { return max(0, d.amount-d.reversed-d.settled) }

// State is the fold of the event log: the catalog, every line's balance, what remains
// of every disbursement, the vouchers accepted and the head of the hash chain. The zero
// State is an empty ledger. It is not safe for concurrent use; the sequencer owns one.
type State struct {
	Catalog       Catalog
	lines         map[Line]*LineBalance
	disbursements map[uuid.UUID]*disbursement
	vouchers      map[voucherKey]struct{}

	// LinesOnly makes the fold keep only the catalog and the line balances — what read
	// models need — and not the per-disbursement records and vouchers that Decide checks
	// settlements, reversals and vouchers against (the bulk of the write model's memory).
	// Set it before the first Apply; such a State must not Decide.
	LinesOnly bool

	Head       int64
	HeadHash   [32]byte
	HeadTime   time.Time
	EventCount int64
}

func (s *State) init() {
	if s.lines == nil {
		s.Catalog.init()
		s.lines = map[Line]*LineBalance{}
		s.disbursements = map[uuid.UUID]*disbursement{}
		s.vouchers = map[voucherKey]struct{}{}
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
func (s *State) Decide(cmd Command) (typ string, date Date, data EventData, err error) {
	s.init()
	c := &s.Catalog
	switch cmd := cmd.(type) {
	case *Allocate:
		if err = c.checkLine(cmd.Line, cmd.EffectiveDate, "line"); err != nil {
			return
		}
		if b := s.lines[cmd.Line]; b != nil {
			if _, ok := Sum(b.Allocated, b.TransferredIn, cmd.Amount); !ok {
				return "", 0, data, invalid("amount", "would overflow the line's total")
			}
		}
		l := cmd.Line
		return TypeAllocated, cmd.EffectiveDate, EventData{Line: &l, Amount: cmd.Amount, Decision: cmd.Decision, Note: cmd.Note}, nil

	case *Transfer:
		if err = c.checkLine(cmd.From, cmd.EffectiveDate, "from"); err != nil {
			return
		}
		if err = c.checkLine(cmd.To, cmd.EffectiveDate, "to"); err != nil {
			return
		}
		if err = s.checkAvailable(cmd.From, cmd.Amount, "from"); err != nil {
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
		}
		if b := s.lines[cmd.To]; b != nil {
			if _, ok := Sum(b.Allocated, b.TransferredIn, cmd.Amount); !ok {
				return "", 0, data, invalid("amount", "would overflow the line's total")
			}
		}
		from, to := cmd.From, cmd.To
		return TypeTransferred, cmd.EffectiveDate, EventData{From: &from, To: &to, Amount: cmd.Amount, Kind: cmd.Kind,
			Decision: cmd.Decision, Note: cmd.Note}, nil

	case *CarryOver:
		if err = s.checkExisting(cmd.Line, cmd.EffectiveDate); err != nil {
			return
		}
		// Capital carried into a year once may not be carried into the same year again:
		// the execution-year report would count it twice.
		b := s.lines[cmd.Line]
		already := b.carriedInto[cmd.IntoYear]
		if cmd.Amount > b.Available()-already {
			return "", 0, data, &InsufficientFundsError{Field: "line", Line: cmd.Line.ID(), Requested: cmd.Amount,
				Available: max(0, b.Available()-already)}
		}
		if _, ok := Sum(b.CarriedOver, cmd.Amount); !ok {
			return "", 0, data, invalid("amount", "would overflow the line's total")
		}
		l := cmd.Line
		return TypeCarriedOver, cmd.EffectiveDate, EventData{Line: &l, Amount: cmd.Amount, IntoYear: cmd.IntoYear,
			Decision: cmd.Decision, Note: cmd.Note}, nil

	case *Cancel:
		if err = s.checkExisting(cmd.Line, cmd.EffectiveDate); err != nil {
			return
		}
		if err = s.checkAvailable(cmd.Line, cmd.Amount, "line"); err != nil {
			return
		}
		l := cmd.Line
		return TypeCancelled, cmd.EffectiveDate, EventData{Line: &l, Amount: cmd.Amount, Decision: cmd.Decision, Note: cmd.Note}, nil

	case *Disburse:
		if err = s.checkExisting(cmd.Line, cmd.EffectiveDate); err != nil {
			return
		}
		if err = s.checkAvailable(cmd.Line, cmd.Amount, "line"); err != nil {
			return
		}
		if _, ok := Sum(s.lines[cmd.Line].Disbursed, cmd.Amount); !ok {
			return "", 0, data, invalid("amount", "would overflow the line's total")
		}
		if err = s.checkVoucher(cmd.Voucher); err != nil {
			return
		}
		l, v := cmd.Line, cmd.Voucher
		return TypeDisbursed, cmd.EffectiveDate, EventData{Line: &l, Amount: cmd.Amount, Kind: cmd.Kind, Payee: cmd.Payee,
			Voucher: &v, Note: cmd.Note}, nil

	case *SettleAdvance:
		d := s.disbursements[cmd.EventID]
		if d == nil {
			return "", 0, data, unknownRef("event_id", "no disbursement %s", cmd.EventID)
		}
		if !d.advance {
			return "", 0, data, invalid("event_id", "disbursement %s is a payment, not an advance", cmd.EventID)
		}
		if cmd.EffectiveDate < d.date {
			return "", 0, data, invalid("effective_date", "must not be before the advance's date %s", d.date)
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
		d := s.disbursements[cmd.EventID]
		if d == nil {
			return "", 0, data, unknownRef("event_id", "no disbursement %s", cmd.EventID)
		}
		if cmd.EffectiveDate < d.date {
			return "", 0, data, invalid("effective_date", "must not be before the disbursement's date %s", d.date)
		}
		if cmd.Amount > d.remaining() {
			return "", 0, data, &InsufficientFundsError{Field: "amount", Line: d.line.Line.ID(), Requested: cmd.Amount, Available: d.remaining()}
		}
		l := d.line.Line
		return TypeReversed, cmd.EffectiveDate, EventData{Line: &l, EventID: cmd.EventID.String(), Amount: cmd.Amount,
			Reason: cmd.Reason}, nil

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
			want := LevelProvince
			if cmd.Level == LevelCommune {
				want = LevelDistrict
			}
			if parent.Level != want {
				return "", 0, data, invalid("parent", "a %s's parent must be a %s, %q is a %s", cmd.Level, want, cmd.Parent, parent.Level)
			}
		}
		u := cmd.Unit
		return TypeUnitRegistered, u.ValidFrom, EventData{Unit: &u}, nil

	case *RegisterSource:
		if c.Sources[cmd.Code] != nil {
			return "", 0, data, invalid("code", "capital source %q is already registered", cmd.Code)
		}
		src := cmd.Source
		return TypeSourceRegistered, src.ValidFrom, EventData{Source: &src}, nil
	}
	return "", 0, data, invalid("", "unknown command %T", cmd)
}

// checkExisting checks a line that must already hold capital, and its catalog entries on d.
func (s *State) checkExisting(l Line, d Date) error {
	if err := s.Catalog.checkLine(l, d, "line"); err != nil {
		return err
	}
	if s.lines[l] == nil {
		return &InsufficientFundsError{Field: "line", Line: l.ID(), Available: 0}
	}
	return nil
}

func (s *State) checkAvailable(l Line, amount int64, field string) error {
	var avail int64
	if b := s.lines[l]; b != nil {
		avail = b.Available()
	}
	if amount > avail {
		return &InsufficientFundsError{Field: field, Line: l.ID(), Requested: amount, Available: avail}
	}
	return nil
}

func (s *State) checkVoucher(v Voucher) error {
	invariant(!s.LinesOnly, "Decide on a LinesOnly state")
	if _, dup := s.vouchers[v.key()]; dup {
		return invalid("voucher", "treasury voucher %s/%s/%s of %s was already recorded", v.Office, v.Type, v.Number, v.Date)
	}
	return nil
}

// Apply folds a committed (or, in the sequencer, a tentatively accepted) event into the
// state. Events must come in position order, each linked to the head.
func (s *State) Apply(e *Event) {
	s.init()
	invariant(e.Position == s.Head+1, "events applied out of order")
	d := &e.Data
	// What a money event does to each line it touches is LineBalance.Add, the one
	// definition; Apply adds what only the write model keeps.
	switch e.Type {
	case TypeAllocated, TypeCancelled:
		s.touch(*d.Line).Add(e)
	case TypeTransferred:
		s.touch(*d.From).Add(e)
		s.touch(*d.To).Add(e)
	case TypeCarriedOver:
		b := s.touch(*d.Line)
		b.Add(e)
		if b.carriedInto == nil {
			b.carriedInto = map[int]int64{}
		}
		b.carriedInto[d.IntoYear] += d.Amount
	case TypeDisbursed:
		b := s.touch(*d.Line)
		b.Add(e)
		if !s.LinesOnly {
			s.disbursements[e.ID] = &disbursement{line: b, date: e.EffectiveDate, advance: d.Kind == KindAdvance, amount: d.Amount}
			s.vouchers[d.Voucher.key()] = struct{}{}
		}
	case TypeAdvanceSettled:
		s.touch(*d.Line)
		if !s.LinesOnly {
			s.original(d.EventID).settled += d.Amount
			s.vouchers[d.Voucher.key()] = struct{}{}
		}
	case TypeReversed:
		s.touch(*d.Line).Add(e)
		if !s.LinesOnly {
			s.original(d.EventID).reversed += d.Amount
		}
	case TypeProgramRegistered:
		s.Catalog.Programs[d.Program.Code] = d.Program
	case TypeProjectRegistered:
		s.Catalog.Projects[projectKey(d.Project.Program, d.Project.Code)] = d.Project
	case TypeUnitRegistered:
		s.Catalog.Units[d.Unit.ID] = d.Unit
	case TypeSourceRegistered:
		s.Catalog.Sources[d.Source.Code] = d.Source
	default:
		invariant(false, "unknown event type "+e.Type)
	}
	if ml := e.MainLine(); ml != nil {
		invariant(s.lines[*ml].Available() >= 0, "a line's available balance went below zero")
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
	case TypeAllocated:
		s.untouch(*d.Line).Allocated -= d.Amount
	case TypeTransferred:
		s.untouch(*d.From).TransferredOut -= d.Amount
		s.untouch(*d.To).TransferredIn -= d.Amount
	case TypeCarriedOver:
		b := s.untouch(*d.Line)
		b.CarriedOver -= d.Amount
		if b.carriedInto[d.IntoYear] -= d.Amount; b.carriedInto[d.IntoYear] == 0 {
			delete(b.carriedInto, d.IntoYear)
		}
		if len(b.carriedInto) == 0 {
			b.carriedInto = nil // as a fresh fold leaves it
		}
	case TypeCancelled:
		s.untouch(*d.Line).Cancelled -= d.Amount
	case TypeDisbursed:
		s.untouch(*d.Line).Disbursed -= d.Amount
		delete(s.disbursements, e.ID)
		delete(s.vouchers, d.Voucher.key())
	case TypeAdvanceSettled:
		s.untouch(*d.Line)
		s.original(d.EventID).settled -= d.Amount
		delete(s.vouchers, d.Voucher.key())
	case TypeReversed:
		s.untouch(*d.Line).Reversed -= d.Amount
		s.original(d.EventID).reversed -= d.Amount
	case TypeProgramRegistered:
		delete(s.Catalog.Programs, d.Program.Code)
	case TypeProjectRegistered:
		delete(s.Catalog.Projects, projectKey(d.Project.Program, d.Project.Code))
	case TypeUnitRegistered:
		delete(s.Catalog.Units, d.Unit.ID)
	case TypeSourceRegistered:
		delete(s.Catalog.Sources, d.Source.Code)
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

// untouch returns the balance of l and drops the line once no event touches it, so a
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

func (s *State) original(id string) *disbursement {
	u, err := uuid.Parse(id)
	invariant(err == nil, "event_id is not a UUID")
	d := s.disbursements[u]
	invariant(d != nil, "settlement or reversal of an unknown disbursement")
	return d
}

// voucherKey is a 128-bit fingerprint of a voucher: the write model remembers every
// voucher ever accepted, and 16 bytes a voucher instead of its strings keeps that memory
// small. A collision among even 10^9 vouchers has odds below 10^-20; the unique index on
// the events table is the backstop.
type voucherKey [16]byte

func (v *Voucher) key() voucherKey {
	// Length-prefixed parts, so that ("ab","c") and ("a","bc") differ; each part is at
	// most codeMaxLen bytes (Validate), so the buffer stays on the stack.
	var buf [3*(1+codeMaxLen) + 4]byte
	b := buf[:0]
	for _, part := range [...]string{v.Office, v.Type, v.Number} {
		b = append(b, byte(len(part)))
		b = append(b, part...)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(v.Date))
	sum := sha256.Sum256(b)
	return voucherKey(sum[:16])
}
