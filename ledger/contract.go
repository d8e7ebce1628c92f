package ledger

import (
	"fmt"

	"github.com/google/uuid"
)

// Contracts and advance limits (docs/domain.md §4 rule 10). A contract commits capital of
// one line (cam kết chi): the values of the contracts on a line never exceed its plan. A
// disbursement may name its contract; then the contract's net disbursed never exceeds
// its value, and its outstanding advances (dư ứng) never exceed the advance limit in
// force: a share of the contract's value, recorded as dated data with its legal basis
// (advance_limit.set), never a constant.

// Refusal codes of the contract rules (422).
const (
	// CodeContractExceeded refuses a contract that would take the committed capital of
	// its line above the line's plan, a cancellation or transfer that would take the plan
	// below what is committed, and a disbursement beyond its contract's value.
	CodeContractExceeded = "contract_exceeded"
	// CodeAdvanceLimit refuses an advance that would take its contract's outstanding
	// advances above the advance limit in force.
	CodeAdvanceLimit = "advance_limit"
)

// BasisPointsMax is a whole contract value: an advance limit is a share of 0..10,000
// basis points (30 % is 3,000).
const BasisPointsMax = 10_000

// contractNumberMaxLen bounds a contract number ("01/2026/HĐXD").
const contractNumberMaxLen = 64

// SignContract records a contract (hợp đồng) that commits capital of a line.
type SignContract struct {
	Line       Line   `json:"line"`
	Number     string `json:"number"`
	Contractor string `json:"contractor"`
	Value      int64  `json:"value"`
	SignedOn   Date   `json:"signed_on"`
	Document   string `json:"document"`
	Note       string `json:"note"`
}

// AmendContract changes a contract's value (phụ lục hợp đồng), with its reason.
type AmendContract struct {
	Contract      uuid.UUID `json:"contract"`
	Value         int64     `json:"value"`
	EffectiveDate Date      `json:"effective_date"`
	Reason        string    `json:"reason"`
	Document      string    `json:"document"`
}

// SetAdvanceLimit records the advance limit in force from a date for a scope: a share of
// a contract's value, in basis points, for the contracts of one program and/or one source
// nature (empty: every one), with its legal basis.
type SetAdvanceLimit struct {
	ShareBP    int64  `json:"share_bp"`
	Program    string `json:"program"`
	Nature     string `json:"nature"`
	ValidFrom  Date   `json:"valid_from"`
	LegalBasis string `json:"legal_basis"`
}

// AdvanceLimit is the data of an advance_limit.set event: the share and its scope. The
// event's effective date is the date the limit is in force from; data.decision holds
// its legal basis.
type AdvanceLimit struct {
	ShareBP int64  `json:"share_bp,omitempty"`
	Nature  string `json:"nature,omitempty"`
	Program string `json:"program,omitempty"`
}

func (c *SignContract) Validate() error {
	if err := firstErr(c.Line.validate("line"), checkText(c.Number, "number", true)); err != nil {
		return err
	}
	if len(c.Number) > contractNumberMaxLen {
		return invalid("number", "must be at most %d bytes", contractNumberMaxLen)
	}
	return firstErr(checkText(c.Contractor, "contractor", true), checkAmount(c.Value, "value"),
		checkDate(c.SignedOn, "signed_on"), checkText(c.Document, "document", true), checkText(c.Note, "note", false))
}

func (c *AmendContract) Validate() error {
	if c.Contract == uuid.Nil {
		return invalid("contract", "is required")
	}
	return firstErr(checkAmount(c.Value, "value"), checkDate(c.EffectiveDate, "effective_date"),
		checkText(c.Reason, "reason", true), checkText(c.Document, "document", false))
}

func (c *SetAdvanceLimit) Validate() error {
	if c.ShareBP <= 0 || c.ShareBP > BasisPointsMax {
		return invalid("share_bp", "must be a share of a contract's value in basis points, 1..%d (30 %% is 3000), got %d", BasisPointsMax, c.ShareBP)
	}
	if c.Program != "" {
		if err := checkCode(c.Program, "program"); err != nil {
			return err
		}
	}
	if c.Nature != "" && c.Nature != NatureInvestment && c.Nature != NatureRecurrent {
		return invalid("nature", "must be %q, %q or empty (every nature), got %q", NatureInvestment, NatureRecurrent, c.Nature)
	}
	return firstErr(checkDate(c.ValidFrom, "valid_from"), checkText(c.LegalBasis, "legal_basis", true))
}

// contract is what the write model keeps of a contract, to check amendments and the
// disbursements that name it.
type contract struct {
	id          uuid.UUID
	line        *LineBalance
	number      string
	contractor  string
	signed      Date
	value       int64
	disbursed   int64 // net: advances and payments naming it − their reversals
	outstanding int64 // its advances not yet settled nor reversed
}

// advanceLimit is a recorded advance_limit.set.
type advanceLimit struct {
	from    Date
	shareBP int64
	program string
	nature  string
	basis   string
}

// contractKey identifies a contract number on a line: a number is signed once per line.
type contractKey struct {
	line   Line
	number string
}

// contractRef returns the contract named by id, or an unknown_reference error on field.
func (s *State) contractRef(id uuid.UUID, field string) (*contract, error) {
	k := s.contracts[id]
	if k == nil {
		return nil, unknownRef(field, "no contract %s", id)
	}
	return k, nil
}

// AdvanceLimitOn returns the advance limit in force for a contract on line l on date d,
// in basis points, and its legal basis; ok is false when no limit applies. Among the
// limits in force on d (valid from d or earlier) whose scope covers the line, the most
// specific scope wins (program and nature, then program, then nature, then every
// contract), and within a scope the latest date, then the latest recorded.
func (s *State) AdvanceLimitOn(l Line, d Date) (shareBP int64, basis string, ok bool) {
	nature := ""
	if src := s.Catalog.Sources[l.Source]; src != nil {
		nature = src.Nature
	}
	best, bestRank := -1, -1
	for i := range s.limits {
		a := &s.limits[i]
		if a.from > d || a.program != "" && a.program != l.Program || a.nature != "" && a.nature != nature {
			continue
		}
		rank := 0
		if a.program != "" {
			rank += 2
		}
		if a.nature != "" {
			rank++
		}
		if rank > bestRank || rank == bestRank && a.from >= s.limits[best].from {
			best, bestRank = i, rank
		}
	}
	if best < 0 {
		return 0, "", false
	}
	return s.limits[best].shareBP, s.limits[best].basis, true
}

// shareOf returns value × bp / 10,000, rounded down, without overflow.
func shareOf(value, bp int64) int64 {
	return value/BasisPointsMax*bp + value%BasisPointsMax*bp/BasisPointsMax
}

// committedOn returns the capital under contract on a line (0 for no line).
func committedOn(b *LineBalance) int64 {
	if b == nil {
		return 0
	}
	return b.Measure(MeasureCommitted)
}

// checkPlanCoversCommitted refuses lowering the plan of line l by amount below what its
// contracts commit (a cancellation or a transfer out).
func (s *State) checkPlanCoversCommitted(l Line, amount int64, field string) error {
	b := s.lines[l]
	if b == nil {
		return nil
	}
	if c := committedOn(b); c > 0 && b.Plan()-amount < c {
		return &Error{Code: CodeContractExceeded, Field: field, Message: fmt.Sprintf(
			"line %s has %d đồng under contract: its plan %d may not fall below it (requested %d)", l.ID(), c, b.Plan(), amount)}
	}
	return nil
}

func (s *State) decideSignContract(cmd *SignContract) (EventType, Date, EventData, error) {
	var data EventData
	if err := s.checkExisting(cmd.Line, cmd.SignedOn); err != nil {
		return "", 0, data, err
	}
	if s.contractNumbers[contractKey{cmd.Line, cmd.Number}] {
		return "", 0, data, invalid("number", "contract %q is already recorded on line %s", cmd.Number, cmd.Line.ID())
	}
	b := s.lines[cmd.Line]
	committed := committedOn(b)
	total, ok := Sum(committed, cmd.Value)
	if !ok {
		return "", 0, data, invalid("value", "would overflow the line's committed total")
	}
	if total > b.Plan() {
		return "", 0, data, &Error{Code: CodeContractExceeded, Field: "value", Message: fmt.Sprintf(
			"contracts on line %s would commit %d đồng, above its plan of %d (%d already under contract, %d requested)",
			cmd.Line.ID(), total, b.Plan(), committed, cmd.Value)}
	}
	l := cmd.Line
	return TypeContractSigned, cmd.SignedOn, EventData{Line: &l, Amount: cmd.Value, Number: cmd.Number,
		Contractor: cmd.Contractor, Document: cmd.Document, Note: cmd.Note}, nil
}

func (s *State) decideAmendContract(cmd *AmendContract) (EventType, Date, EventData, error) {
	var data EventData
	k, err := s.contractRef(cmd.Contract, "contract")
	if err != nil {
		return "", 0, data, err
	}
	if cmd.EffectiveDate < k.signed {
		return "", 0, data, invalid("effective_date", "must not be before the contract was signed, %s", k.signed)
	}
	if cmd.Value == k.value {
		return "", 0, data, invalid("value", "is already the contract's value (%d)", k.value)
	}
	if cmd.Value < k.disbursed {
		return "", 0, data, &Error{Code: CodeContractExceeded, Field: "value", Message: fmt.Sprintf(
			"contract %s has %d đồng disbursed; its value may not fall below it (requested %d)", k.id, k.disbursed, cmd.Value)}
	}
	if bp, basis, ok := s.AdvanceLimitOn(k.line.Line, cmd.EffectiveDate); ok && k.outstanding > shareOf(cmd.Value, bp) {
		return "", 0, data, &Error{Code: CodeAdvanceLimit, Field: "value", Message: fmt.Sprintf(
			"contract %s (%s) has %d đồng of advances outstanding, above the limit of %d (%s of the new value %d, %s)",
			k.id, k.number, k.outstanding, shareOf(cmd.Value, bp), formatBP(bp), cmd.Value, basis)}
	}
	b := k.line
	total := committedOn(b) - k.value + cmd.Value
	if total > b.Plan() {
		return "", 0, data, &Error{Code: CodeContractExceeded, Field: "value", Message: fmt.Sprintf(
			"contracts on line %s would commit %d đồng, above its plan of %d", b.Line.ID(), total, b.Plan())}
	}
	l := b.Line
	return TypeContractAmended, cmd.EffectiveDate, EventData{Line: &l, Contract: k.id.String(), Amount: cmd.Value,
		PreviousValue: k.value, Reason: cmd.Reason, Document: cmd.Document}, nil
}

func (s *State) decideSetAdvanceLimit(cmd *SetAdvanceLimit) (EventType, Date, EventData, error) {
	var data EventData
	if cmd.Program != "" && s.Catalog.Programs[cmd.Program] == nil {
		return "", 0, data, unknownRef("program", "no program %q", cmd.Program)
	}
	return TypeAdvanceLimitSet, cmd.ValidFrom, EventData{AdvanceLimit: &AdvanceLimit{ShareBP: cmd.ShareBP,
		Program: cmd.Program, Nature: cmd.Nature}, Decision: cmd.LegalBasis}, nil
}

// checkContractDisbursement checks a disbursement that names contract id: the contract
// is on the same line and signed on or before the disbursement; its net disbursed stays
// within its value; an advance keeps its outstanding advances within the limit in force.
func (s *State) checkContractDisbursement(cmd *Disburse) error {
	k, err := s.contractRef(cmd.Contract, "contract")
	if err != nil {
		return err
	}
	if k.line.Line != cmd.Line {
		return invalid("contract", "contract %s is on line %s, not %s", k.id, k.line.Line.ID(), cmd.Line.ID())
	}
	if cmd.EffectiveDate < k.signed {
		return invalid("effective_date", "must not be before the contract was signed, %s", k.signed)
	}
	if k.disbursed+cmd.Amount > k.value {
		return &Error{Code: CodeContractExceeded, Field: "amount", Message: fmt.Sprintf(
			"contract %s (%s) is worth %d đồng and has %d disbursed: %d more would exceed it",
			k.id, k.number, k.value, k.disbursed, cmd.Amount)}
	}
	if cmd.Kind != KindAdvance {
		return nil
	}
	bp, basis, ok := s.AdvanceLimitOn(cmd.Line, cmd.EffectiveDate)
	if !ok {
		return nil
	}
	limit := shareOf(k.value, bp)
	if k.outstanding+cmd.Amount > limit {
		return &Error{Code: CodeAdvanceLimit, Field: "amount", Message: fmt.Sprintf(
			"contract %s (%s): outstanding advances would be %d đồng, above the limit of %d (%s of its value %d, %s); %d outstanding, %d requested",
			k.id, k.number, k.outstanding+cmd.Amount, limit, formatBP(bp), k.value, basis, k.outstanding, cmd.Amount)}
	}
	return nil
}

// formatBP writes basis points as a percentage: 3000 → "30.00 %".
func formatBP(bp int64) string { return fmt.Sprintf("%d.%02d %%", bp/100, bp%100) }

// applyContract folds the contract events and what a disbursement, settlement or
// reversal does to its contract; undo reverts it.
func (s *State) applyContract(e *Event, undo bool) {
	d := &e.Data
	sign := int64(1)
	if undo {
		sign = -1
	}
	switch e.Type {
	case TypeContractSigned:
		key := contractKey{*d.Line, d.Number}
		if undo {
			delete(s.contracts, e.ID)
			delete(s.contractNumbers, key)
			return
		}
		s.contracts[e.ID] = &contract{id: e.ID, line: s.lines[*d.Line], number: d.Number, contractor: d.Contractor,
			signed: e.EffectiveDate, value: d.Amount}
		s.contractNumbers[key] = true
	case TypeContractAmended:
		k := s.contracts[uuid.MustParse(d.Contract)]
		invariant(k != nil, "amendment of an unknown contract")
		if undo {
			k.value = d.PreviousValue
		} else {
			k.value = d.Amount
		}
	case TypeAdvanceLimitSet:
		if undo {
			if s.limits = s.limits[:len(s.limits)-1]; len(s.limits) == 0 {
				s.limits = nil // as a fresh fold leaves it
			}
			return
		}
		a := d.AdvanceLimit
		s.limits = append(s.limits, advanceLimit{from: e.EffectiveDate, shareBP: a.ShareBP, program: a.Program,
			nature: a.Nature, basis: d.Decision})
	case TypeDisbursed:
		if d.Contract == "" {
			return
		}
		k := s.contracts[uuid.MustParse(d.Contract)]
		invariant(k != nil, "disbursement on an unknown contract")
		if undo {
			delete(s.contractOf, e.ID)
		} else {
			s.contractOf[e.ID] = k
		}
		k.disbursed += sign * d.Amount
		if d.IsAdvance() {
			k.outstanding += sign * d.Amount
		}
	case TypeAdvanceSettled:
		if k := s.contractOf[uuid.MustParse(d.EventID)]; k != nil {
			k.outstanding -= sign * d.Amount
		}
	case TypeReversed:
		if k := s.contractOf[uuid.MustParse(d.EventID)]; k != nil {
			k.disbursed -= sign * d.Amount
			k.outstanding -= sign * d.AdvanceReversed
		}
	}
}

// ContractFigures is what the write model knows of a contract at its head.
type ContractFigures struct {
	ID          uuid.UUID
	Line        Line
	Number      string
	Contractor  string
	Signed      Date
	Value       int64
	Disbursed   int64
	Outstanding int64
}

// Contract returns the figures of contract id, or false when there is none.
func (s *State) Contract(id uuid.UUID) (ContractFigures, bool) {
	k := s.contracts[id]
	if k == nil {
		return ContractFigures{}, false
	}
	return ContractFigures{ID: k.id, Line: k.line.Line, Number: k.number, Contractor: k.contractor, Signed: k.signed, Value: k.value,
		Disbursed: k.disbursed, Outstanding: k.outstanding}, true
}

// Contracts calls fn for every contract, in no particular order.
func (s *State) Contracts(fn func(ContractFigures)) {
	for id := range s.contracts {
		f, _ := s.Contract(id)
		fn(f)
	}
}
