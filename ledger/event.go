package ledger

import (
	"time"

	"github.com/google/uuid"
)

// EventType names what an event records. The strings are stored, hashed and published:
// never rename one.
type EventType string

// The event types. EventTypes lists them all; every consumer that switches over event
// types handles each one (TestEveryConsumerHandlesEveryEventType in each consumer's
// package holds it to that).
const (
	TypeProgramRegistered EventType = "catalog.program_registered"
	TypeProjectRegistered EventType = "catalog.project_registered"
	TypeUnitRegistered    EventType = "catalog.unit_registered"
	TypeSourceRegistered  EventType = "catalog.source_registered"
	TypeAllocated         EventType = "funds.allocated"
	TypeTransferred       EventType = "funds.transferred"
	TypeCarriedOver       EventType = "funds.carried_over"
	TypeCancelled         EventType = "funds.cancelled"
	TypeDisbursed         EventType = "funds.disbursed"
	TypeAdvanceSettled    EventType = "advance.settled"
	TypeReversed          EventType = "disbursement.reversed"
	TypeTokenCreated      EventType = "access.token_created"
	TypeTokenRevoked      EventType = "access.token_revoked"
	TypeUnitReorganized   EventType = "unit.reorganized"
	TypeContractSigned    EventType = "contract.signed"
	TypeContractAmended   EventType = "contract.amended"
	TypeAdvanceLimitSet   EventType = "advance_limit.set"
	// TypeReconciliationCompleted records a comparison of a Treasury statement with the
	// ledger's vouchers (ledger/reconcile.go).
	TypeReconciliationCompleted EventType = "reconciliation.completed"
	TypeDeadlineSet             EventType = "deadline.set"
	TypeDeadlineExtended        EventType = "deadline.extended"
	TypeTargetSet               EventType = "target.set"
)

// EventTypes lists every event type in the order it was introduced. A build with the
// ledger_testtype tag appends a test-only type, to show which consumers would miss a new
// one.
var EventTypes = []EventType{
	TypeProgramRegistered, TypeProjectRegistered, TypeUnitRegistered, TypeSourceRegistered,
	TypeAllocated, TypeTransferred, TypeCarriedOver, TypeCancelled, TypeDisbursed,
	TypeAdvanceSettled, TypeReversed,
	TypeTokenCreated, TypeTokenRevoked,
	TypeUnitReorganized,
	TypeContractSigned, TypeContractAmended, TypeAdvanceLimitSet, TypeReconciliationCompleted,
	TypeDeadlineSet, TypeDeadlineExtended,
	TypeTargetSet,
}

// ParseEventType returns the event type named s, or false when there is none.
func ParseEventType(s string) (EventType, bool) {
	for _, t := range EventTypes {
		if string(t) == s {
			return t, true
		}
	}
	return "", false
}

// IsCatalog reports whether t registers reference data rather than moving money.
func (t EventType) IsCatalog() bool {
	switch t {
	case TypeProgramRegistered, TypeProjectRegistered, TypeUnitRegistered, TypeSourceRegistered,
		TypeUnitReorganized:
		return true
	}
	return false
}

// TransferKind says why capital moves between two lines.
type TransferKind string

// Transfer kinds.
const (
	KindSuballocation TransferKind = "suballocation" // to a unit below (phân bổ)
	KindReallocation  TransferKind = "reallocation"  // between lines of one level (điều chỉnh)
)

// DisbursementKind says whether a disbursement is an advance or a final payment.
type DisbursementKind string

// Disbursement kinds.
const (
	KindAdvance DisbursementKind = "advance" // tạm ứng: to be settled or recovered
	KindPayment DisbursementKind = "payment" // thanh toán
)

// Event is a recorded fact. Events are immutable once committed: Position is gapless
// from 1, and Hash chains each event to the one before it (docs/hash-chain.md).
type Event struct {
	Position      int64
	ID            uuid.UUID
	Type          EventType
	EffectiveDate Date
	RecordedAt    time.Time // UTC, microsecond precision
	Data          EventData
	Meta          Metadata
	PrevHash      [32]byte
	Hash          [32]byte
}

// EventData is the payload of every event type; each type uses the fields its
// documentation names and leaves the others zero. One flat shape keeps the fold, the
// store and the canonical encoding free of per-type plumbing. Amounts are positive; the
// type gives the direction.
type EventData struct {
	Amount int64 `json:"amount,omitempty"`
	// AdvanceReversed is the part of a reversal that takes back an advance not yet
	// settled (outstanding advances fall by it); the rest reverses a final payment.
	AdvanceReversed int64 `json:"advance_reversed,omitempty"`
	// Deadline is the deadline of deadline.set and deadline.extended; an extension of one
	// line names it in Line.
	Deadline *Deadline `json:"deadline,omitempty"`
	Decision string    `json:"decision,omitempty"`
	EventID  string    `json:"event_id,omitempty"` // the disbursement settled or reversed
	From     *Line     `json:"from,omitempty"`     // transfers: the line debited
	IntoYear int       `json:"into_year,omitempty"`
	Kind     string    `json:"kind,omitempty"` // a TransferKind or a DisbursementKind
	Line     *Line     `json:"line,omitempty"` // every money event except transfers
	Note     string    `json:"note,omitempty"`
	Payee    string    `json:"payee,omitempty"`
	Program  *Program  `json:"program,omitempty"`
	Project  *Project  `json:"project,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	// Reorganization is the payload of unit.reorganized; its date is the event's.
	Reorganization *Reorganization `json:"reorganization,omitempty"`
	Source         *Source         `json:"source,omitempty"`
	Target         *Target         `json:"target,omitempty"` // target.set
	To             *Line           `json:"to,omitempty"`     // transfers: the line credited
	// Token is the token an access event (access.token_created, …_revoked) records.
	Token   *TokenRecord `json:"token,omitempty"`
	Unit    *Unit        `json:"unit,omitempty"`
	Voucher *Voucher     `json:"voucher,omitempty"`
	// Contract is the contract.signed event a disbursement or an amendment names.
	Contract string `json:"contract,omitempty"`
	// Number, Contractor and Document describe a contract (contract.signed); an
	// amendment carries its Document too.
	Number     string `json:"number,omitempty"`
	Contractor string `json:"contractor,omitempty"`
	Document   string `json:"document,omitempty"`
	// PreviousValue is a contract's value before an amendment (contract.amended, whose
	// Amount is the new value): the committed change is Amount − PreviousValue.
	PreviousValue int64         `json:"previous_value,omitempty"`
	AdvanceLimit  *AdvanceLimit `json:"advance_limit,omitempty"`
	// Reconciliation is the record of a reconciliation.completed event.
	Reconciliation *Reconciliation `json:"reconciliation,omitempty"`
}

// Metadata says who recorded an event and through which request.
type Metadata struct {
	Actor          string `json:"actor,omitempty"`
	Client         string `json:"client,omitempty"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	RequestID      string `json:"request_id,omitempty"`
}

// Voucher identifies a State Treasury voucher (chứng từ Kho bạc); it is accepted once.
type Voucher struct {
	Date   Date   `json:"date,omitempty"`
	Number string `json:"number,omitempty"`
	Office string `json:"office,omitempty"`
	Type   string `json:"type,omitempty"`
}

// MainLine returns the line an event debits or credits first: Line, or From for a
// transfer; the line a deadline.extended extends; nil for catalog events and other
// deadlines.
func (e *Event) MainLine() *Line {
	if e.Data.From != nil {
		return e.Data.From
	}
	return e.Data.Line
}
