package ledger

import "fmt"

// What an event does to money is defined here, once: Postings lists, for one event, each
// line it touches with the flow and the amount. Every fold of the ledger — the write
// model and its inverse, line history with running balances, progress, the read-model
// tables, the SQL view `postings`, the dashboard's event list and the fault checker —
// consumes postings and never looks at money event types itself.

// Measure is a figure kept per line and reported per group of lines.
type Measure uint8

// Measures. Available is not a measure of its own: it is plan − disbursed.
const (
	// MeasurePlan is the capital assigned to a line: allocated + transferred in −
	// transferred out − cancelled (kế hoạch vốn).
	MeasurePlan Measure = iota + 1
	// MeasureDisbursed is net disbursed: advances and payments − reversals (giải ngân).
	MeasureDisbursed
	// MeasureAdvanceOutstanding is advances paid and neither settled nor reversed (dư ứng).
	MeasureAdvanceOutstanding
	// MeasureCarriedOver is capital carried into a later year (chuyển nguồn); it stays on
	// its line, so it moves neither plan nor available.
	MeasureCarriedOver
	// MeasureCommitted is capital under contract: the values of the contracts signed on
	// the line, as amended (cam kết chi).
	MeasureCommitted
)

// Measures lists every measure.
var Measures = []Measure{MeasurePlan, MeasureDisbursed, MeasureAdvanceOutstanding, MeasureCarriedOver, MeasureCommitted}

// String returns the measure's name as the SQL view `postings` and the API write it.
func (m Measure) String() string {
	switch m {
	case MeasurePlan:
		return "plan"
	case MeasureDisbursed:
		return "disbursed"
	case MeasureAdvanceOutstanding:
		return "advance_outstanding"
	case MeasureCarriedOver:
		return "carried_over"
	case MeasureCommitted:
		return "committed"
	}
	return fmt.Sprintf("Measure(%d)", uint8(m))
}

// Flow is the kind of movement a posting records on its line.
type Flow uint8

// Flows. Each moves one measure, up or down (flowEffects).
const (
	FlowAllocation        Flow = iota + 1 // capital assigned (giao vốn)
	FlowTransferIn                        // capital received from another line
	FlowTransferOut                       // capital passed to another line
	FlowCancellation                      // capital withdrawn (hủy dự toán)
	FlowDisbursement                      // an advance or a payment (giải ngân)
	FlowReversal                          // a disbursement taken back (giảm chi, nộp trả)
	FlowAdvance                           // the advance part of a disbursement (tạm ứng)
	FlowSettlement                        // an advance turned into a final payment (thu hồi tạm ứng)
	FlowAdvanceReversal                   // the part of a reversal that takes back an unsettled advance
	FlowCarryOver                         // capital carried into a later year (chuyển nguồn)
	FlowCommitment                        // a contract signed, or amended up (cam kết chi)
	FlowCommitmentRelease                 // a contract amended down
	flowEnd
)

// FlowCount bounds the Flow values: arrays indexed by Flow have FlowCount entries.
const FlowCount = int(flowEnd)

// flowEffects is the one table of what a flow does: which measure it moves and in which
// direction.
var flowEffects = [FlowCount]struct {
	name    string
	measure Measure
	sign    int64
}{
	FlowAllocation:        {"allocation", MeasurePlan, +1},
	FlowTransferIn:        {"transfer_in", MeasurePlan, +1},
	FlowTransferOut:       {"transfer_out", MeasurePlan, -1},
	FlowCancellation:      {"cancellation", MeasurePlan, -1},
	FlowDisbursement:      {"disbursement", MeasureDisbursed, +1},
	FlowReversal:          {"reversal", MeasureDisbursed, -1},
	FlowAdvance:           {"advance", MeasureAdvanceOutstanding, +1},
	FlowSettlement:        {"settlement", MeasureAdvanceOutstanding, -1},
	FlowAdvanceReversal:   {"advance_reversal", MeasureAdvanceOutstanding, -1},
	FlowCarryOver:         {"carry_over", MeasureCarriedOver, +1},
	FlowCommitment:        {"commitment", MeasureCommitted, +1},
	FlowCommitmentRelease: {"commitment_release", MeasureCommitted, -1},
}

// String returns the flow's name, the `kind` column of the SQL view `postings`.
func (f Flow) String() string {
	if f > 0 && int(f) < FlowCount {
		return flowEffects[f].name
	}
	return fmt.Sprintf("Flow(%d)", uint8(f))
}

// Measure returns the measure f moves.
func (f Flow) Measure() Measure { return flowEffects[f].measure }

// Sign is +1 when f raises its measure, −1 when it lowers it.
func (f Flow) Sign() int64 { return flowEffects[f].sign }

// Posting is one line's share of an event: the flow and its positive amount.
type Posting struct {
	Line   Line
	Flow   Flow
	Amount int64
}

// Measure returns the measure the posting moves.
func (p *Posting) Measure() Measure { return p.Flow.Measure() }

// Delta is the signed change of the posting's measure.
func (p *Posting) Delta() int64 { return p.Flow.Sign() * p.Amount }

// AvailableDelta is the signed change of the line's available amount (plan − disbursed).
func (p *Posting) AvailableDelta() int64 {
	switch p.Measure() {
	case MeasurePlan:
		return p.Delta()
	case MeasureDisbursed:
		return -p.Delta()
	}
	return 0
}

// PostingsMax is the most postings one event makes.
const PostingsMax = 2

// Postings appends to dst the postings of e, in a fixed order (the debited line first),
// and returns the extended slice. Catalog events make none. An event type without a case
// here is a bug: it panics, and TestEveryConsumerHandlesEveryEventType names it.
func (e *Event) Postings(dst []Posting) []Posting {
	d := &e.Data
	switch e.Type {
	case TypeAllocated:
		return append(dst, Posting{*d.Line, FlowAllocation, d.Amount})
	case TypeTransferred:
		return append(dst, Posting{*d.From, FlowTransferOut, d.Amount}, Posting{*d.To, FlowTransferIn, d.Amount})
	case TypeCarriedOver:
		return append(dst, Posting{*d.Line, FlowCarryOver, d.Amount})
	case TypeCancelled:
		return append(dst, Posting{*d.Line, FlowCancellation, d.Amount})
	case TypeDisbursed:
		dst = append(dst, Posting{*d.Line, FlowDisbursement, d.Amount})
		if d.IsAdvance() {
			dst = append(dst, Posting{*d.Line, FlowAdvance, d.Amount})
		}
		return dst
	case TypeAdvanceSettled:
		return append(dst, Posting{*d.Line, FlowSettlement, d.Amount})
	case TypeReversed:
		dst = append(dst, Posting{*d.Line, FlowReversal, d.Amount})
		if d.AdvanceReversed > 0 {
			dst = append(dst, Posting{*d.Line, FlowAdvanceReversal, d.AdvanceReversed})
		}
		return dst
	case TypeProgramRegistered, TypeProjectRegistered, TypeUnitRegistered, TypeSourceRegistered:
		return dst
	case TypeTokenCreated, TypeTokenRevoked:
		return dst // access events move no money
	case TypeUnitReorganized:
		return dst
	case TypeContractSigned:
		return append(dst, Posting{*d.Line, FlowCommitment, d.Amount})
	case TypeContractAmended:
		if d.Amount > d.PreviousValue {
			return append(dst, Posting{*d.Line, FlowCommitment, d.Amount - d.PreviousValue})
		}
		return append(dst, Posting{*d.Line, FlowCommitmentRelease, d.PreviousValue - d.Amount})
	case TypeAdvanceLimitSet, TypeReconciliationCompleted:
		return dst
	case TypeDeadlineSet, TypeDeadlineExtended:
		return dst // a deadline moves no money; it limits the dates disbursements may have
	case TypeTargetSet:
		return dst // a target moves no money; reports compare with it
	}
	panic(fmt.Sprintf("ledger.Postings: event type %q has no postings defined", e.Type))
}

// IsAdvance reports whether a disbursement is an advance.
func (d *EventData) IsAdvance() bool { return d.Kind == string(KindAdvance) }
