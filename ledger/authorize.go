package ledger

import (
	"fmt"

	"github.com/google/uuid"
)

// Authorization of commands is the writer's: it checks the principal's unit subtree
// against its own state, for every line a command touches — both sides of a transfer,
// and for a settlement or a reversal the line of the disbursement it refers to — so no
// handler needs to read a projection or the store to decide.

// authorize refuses req (forbidden, naming the first command and field outside the
// scope) when its principal is held to a unit subtree and a command touches a line
// outside it. Commands that fail Validate are left to record, which refuses them with
// their own error; an atomic request with such a command is not checked further, so it
// is refused for its first invalid command, as a single command would be. A nil
// principal is the ledger itself (the demo, tools): everything is in scope.
func (s *State) authorize(req *Request) error {
	if req.Principal == nil {
		return nil
	}
	if err := authorizeAccess(req); err != nil {
		return err
	}
	scope := req.Principal.Scope()
	if scope == "" {
		return nil
	}
	if req.Atomic || len(req.Commands) == 1 {
		for _, c := range req.Commands {
			if c.Validate() != nil {
				return nil
			}
		}
	}
	for i, c := range req.Commands {
		if c.Validate() != nil {
			continue
		}
		if err := s.authorizeCommand(c, scope); err != nil {
			if len(req.Commands) > 1 {
				err = WithFieldPrefix(err, fmt.Sprintf("commands[%d]", i))
			}
			return err
		}
	}
	return nil
}

// authorizeCommand checks every line c touches against scope.
func (s *State) authorizeCommand(c Command, scope string) error {
	in := func(l Line, field string) error {
		if !LineWithin(&s.Catalog, &l, scope) {
			return OutOfScope(field, scope)
		}
		return nil
	}
	original := func(id uuid.UUID) error {
		// A reference to no disbursement is refused by Decide (unknown_reference).
		if d := s.disbursement(id); d != nil {
			return in(d.line.Line, "event_id")
		}
		return nil
	}
	switch c := c.(type) {
	case *Allocate:
		return in(c.Line, "line")
	case *Transfer:
		if c.Kind == KindHandover {
			// A successor unit's officer hands its predecessors' capital over to itself.
			if !s.Catalog.IsUnitSucceededWithin(c.From.Unit, scope) {
				return OutOfScope("from", scope)
			}
		} else if err := in(c.From, "from"); err != nil {
			return err
		}
		return in(c.To, "to")
	case *CarryOver:
		return in(c.Line, "line")
	case *Cancel:
		return in(c.Line, "line")
	case *Disburse:
		return in(c.Line, "line")
	case *SettleAdvance:
		return original(c.EventID)
	case *Reverse:
		return original(c.EventID)
	case *SignContract:
		return in(c.Line, "line")
	case *RecordReconciliation:
		// It touches no line: the vouchers compared were those of the officer's subtree.
		return nil
	case *AmendContract:
		// A reference to no contract is refused by Decide (unknown_reference).
		if k := s.contracts[c.Contract]; k != nil {
			return in(k.line.Line, "contract")
		}
		return nil
	}
	// Reference data is registered for the whole ledger, never by a token held to a subtree.
	return &Error{Code: CodeForbidden, Message: "this command is not allowed to a token held to a unit subtree"}
}
