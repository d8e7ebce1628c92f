package ledger

import (
	"errors"
	"fmt"
)

// Stable public error codes. They are part of the API contract (docs/design.md §10): never
// rename one once released. The HTTP layer owns the code → status table.
const (
	CodeInvalidArgument     = "invalid_argument"
	CodeUnauthenticated     = "unauthenticated"
	CodeForbidden           = "forbidden"
	CodeNotFound            = "not_found"
	CodeIdempotencyConflict = "idempotency_conflict"
	CodePayloadTooLarge     = "payload_too_large"
	CodeInsufficientFunds   = "insufficient_funds"
	CodeUnknownReference    = "unknown_reference"
	CodeRateLimited         = "rate_limited"
	CodeUnavailable         = "unavailable"
	CodeInternal            = "internal"
	CodeUnitClosed          = "unit_closed"
)

// Error is the application error: a stable machine code, the request field that was
// wrong (a JSON path such as "line.unit", empty when no single field is to blame) and
// a message for people.
type Error struct {
	Code    string
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Sentinel conditions. Compare with errors.Is.
var (
	ErrNotFound = &Error{Code: CodeNotFound, Message: "not found"}
	// ErrUnavailable means the store could not be reached or the outcome of a commit is
	// unknown; a client retries with the same Idempotency-Key.
	ErrUnavailable = &Error{Code: CodeUnavailable, Message: "the ledger store is unavailable; retry with the same Idempotency-Key"}
	// ErrIdempotencyConflict means the key was already used for a different request body.
	ErrIdempotencyConflict = &Error{Code: CodeIdempotencyConflict, Message: "this Idempotency-Key was already used with a different request"}
	// ErrClosed is returned by a sequencer that has stopped.
	ErrClosed = &Error{Code: CodeUnavailable, Message: "the sequencer is not running"}
)

// invalid returns an invalid_argument error naming field.
func invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidArgument, Field: field, Message: fmt.Sprintf(format, args...)}
}

// unknownRef returns an unknown_reference error naming field.
func unknownRef(field, format string, args ...any) *Error {
	return &Error{Code: CodeUnknownReference, Field: field, Message: fmt.Sprintf(format, args...)}
}

// InsufficientFundsError reports a command that would take a line's available balance
// below zero on some business date, or a reversal or settlement beyond what remains of
// its original.
type InsufficientFundsError struct {
	Field     string // the request field naming the line or the original event
	Line      string // canonical line id
	Requested int64  // đồng
	// Available is the most the command could take on its effective date: the smallest
	// available amount on that date and every later one (rule 2), or what remains of the
	// original.
	Available int64 // đồng
	// Date is the first business date on which the line's available amount would be
	// negative; zero for a reversal or settlement beyond its original.
	Date Date
}

func (e *InsufficientFundsError) Error() string {
	if e.Date != 0 {
		return fmt.Sprintf("%s: line %s has %d đồng available, %d requested; it would be negative as of %s",
			e.Field, e.Line, e.Available, e.Requested, e.Date)
	}
	return fmt.Sprintf("%s: line %s has %d đồng available, %d requested", e.Field, e.Line, e.Available, e.Requested)
}

// Code maps any error to its stable public code; an error this package does not know is
// CodeInternal.
func Code(err error) string {
	if err == nil {
		return ""
	}
	var ife *InsufficientFundsError
	if errors.As(err, &ife) {
		return CodeInsufficientFunds
	}
	var dpe *DeadlinePassedError
	if errors.As(err, &dpe) {
		return CodeDeadlinePassed
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Field returns the request field an error names, or "".
func Field(err error) string {
	var ife *InsufficientFundsError
	if errors.As(err, &ife) {
		return ife.Field
	}
	var dpe *DeadlinePassedError
	if errors.As(err, &dpe) {
		return dpe.Field
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// WithFieldPrefix returns err with its field prefixed, e.g. "commands[3]." for a batch.
func WithFieldPrefix(err error, prefix string) error {
	var uce *UnitClosedError
	if errors.As(err, &uce) {
		c := *uce
		c.Field = joinField(prefix, c.Field)
		return &c
	}
	var ife *InsufficientFundsError
	if errors.As(err, &ife) {
		c := *ife
		c.Field = joinField(prefix, c.Field)
		return &c
	}
	var dpe *DeadlinePassedError
	if errors.As(err, &dpe) {
		c := *dpe
		c.Field = joinField(prefix, c.Field)
		return &c
	}
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Field = joinField(prefix, c.Field)
		return &c
	}
	return err
}

func joinField(prefix, field string) string {
	if field == "" {
		return prefix
	}
	return prefix + "." + field
}

// invariant stops the process when a condition that only a bug can break is false:
// running on with a wrong write model would record wrong money (docs/design.md §11).
func invariant(cond bool, msg string) {
	if !cond {
		panic("ledger invariant violated: " + msg)
	}
}
