package ledger

import (
	"time"

	"github.com/google/uuid"
)

// Event type strings. They are stored, hashed and published: never rename one.
const (
	TypeProgramRegistered = "catalog.program_registered"
	TypeProjectRegistered = "catalog.project_registered"
	TypeUnitRegistered    = "catalog.unit_registered"
	TypeSourceRegistered  = "catalog.source_registered"
	TypeAllocated         = "funds.allocated"
	TypeTransferred       = "funds.transferred"
	TypeCarriedOver       = "funds.carried_over"
	TypeCancelled         = "funds.cancelled"
	TypeDisbursed         = "funds.disbursed"
	TypeAdvanceSettled    = "advance.settled"
	TypeReversed          = "disbursement.reversed"
)

// Transfer and disbursement kinds.
const (
	KindSuballocation = "suballocation"
	KindReallocation  = "reallocation"
	KindAdvance       = "advance"
	KindPayment       = "payment"
)

// Event is a recorded fact. Events are immutable once committed: Position is gapless
// from 1, and Hash chains each event to the one before it (docs/hash-chain.md).
type Event struct {
	Position      int64
	ID            uuid.UUID
	Type          string
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
	Amount   int64    `json:"amount,omitempty"`
	Decision string   `json:"decision,omitempty"`
	EventID  string   `json:"event_id,omitempty"` // the disbursement settled or reversed
	From     *Line    `json:"from,omitempty"`     // transfers: the line debited
	IntoYear int      `json:"into_year,omitempty"`
	Kind     string   `json:"kind,omitempty"`
	Line     *Line    `json:"line,omitempty"` // every money event except transfers
	Note     string   `json:"note,omitempty"`
	Payee    string   `json:"payee,omitempty"`
	Program  *Program `json:"program,omitempty"`
	Project  *Project `json:"project,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Source   *Source  `json:"source,omitempty"`
	To       *Line    `json:"to,omitempty"` // transfers: the line credited
	Unit     *Unit    `json:"unit,omitempty"`
	Voucher  *Voucher `json:"voucher,omitempty"`
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
// transfer; nil for catalog events.
func (e *Event) MainLine() *Line {
	if e.Data.From != nil {
		return e.Data.From
	}
	return e.Data.Line
}
