package ledger

import "github.com/google/uuid"

// Command is a request to record one event. Validate checks the command on its own
// (field forms, positive amounts, real dates) and returns an *Error naming the field; the
// sequencer then checks it against the ledger's state.
type Command interface {
	Validate() error
}

// Allocate assigns new capital into a line (giao vốn).
type Allocate struct {
	Line          Line   `json:"line"`
	Amount        int64  `json:"amount"`
	EffectiveDate Date   `json:"effective_date"`
	Decision      string `json:"decision"`
	Note          string `json:"note"`
}

// Transfer moves capital from one line to another: a sub-allocation to a unit below, or
// a re-allocation between lines. Both lines share program, plan year and source: money
// keeps its plan year and its nature.
type Transfer struct {
	From          Line         `json:"from"`
	To            Line         `json:"to"`
	Amount        int64        `json:"amount"`
	Kind          TransferKind `json:"kind"`
	EffectiveDate Date         `json:"effective_date"`
	Decision      string       `json:"decision"`
	Note          string       `json:"note"`
}

// CarryOver records that unspent capital of a line's plan year may be used in a later
// year (chuyển nguồn). The capital stays on its line and keeps its plan year.
type CarryOver struct {
	Line          Line   `json:"line"`
	Amount        int64  `json:"amount"`
	IntoYear      int    `json:"into_year"`
	EffectiveDate Date   `json:"effective_date"`
	Decision      string `json:"decision"`
	Note          string `json:"note"`
}

// Cancel withdraws capital from a line (hủy dự toán, thu hồi).
type Cancel struct {
	Line          Line   `json:"line"`
	Amount        int64  `json:"amount"`
	EffectiveDate Date   `json:"effective_date"`
	Decision      string `json:"decision"`
	Note          string `json:"note"`
}

// Disburse pays money out of a line through the State Treasury, as an advance (tạm ứng)
// or a payment (thanh toán).
type Disburse struct {
	Line          Line             `json:"line"`
	Amount        int64            `json:"amount"`
	Kind          DisbursementKind `json:"kind"`
	EffectiveDate Date             `json:"effective_date"`
	Payee         string           `json:"payee"`
	Voucher       Voucher          `json:"voucher"`
	Note          string           `json:"note"`
	// Contract, when set, is the contract.signed event this disbursement pays under.
	Contract uuid.UUID `json:"contract,omitzero"`
}

// SettleAdvance turns (part of) an advance into a final payment; net disbursed is
// unchanged.
type SettleAdvance struct {
	EventID       uuid.UUID `json:"event_id"`
	Amount        int64     `json:"amount"`
	EffectiveDate Date      `json:"effective_date"`
	Voucher       Voucher   `json:"voucher"`
	Note          string    `json:"note"`
}

// Reverse corrects (part of) a disbursement: the money returns to its line.
type Reverse struct {
	EventID       uuid.UUID `json:"event_id"`
	Amount        int64     `json:"amount"`
	EffectiveDate Date      `json:"effective_date"`
	Reason        string    `json:"reason"`
}

// RegisterProgram, RegisterProject, RegisterUnit and RegisterSource add reference data
// to the catalog. An id is registered once.
type (
	RegisterProgram struct{ Program }
	RegisterProject struct{ Project }
	RegisterUnit    struct{ Unit }
	RegisterSource  struct{ Source }
)

func (c *Allocate) Validate() error {
	return firstErr(c.Line.validate("line"), checkAmount(c.Amount, "amount"),
		checkDate(c.EffectiveDate, "effective_date"), checkText(c.Decision, "decision", true),
		checkText(c.Note, "note", false))
}

func (c *Transfer) Validate() error {
	if err := firstErr(c.From.validate("from"), c.To.validate("to"), checkAmount(c.Amount, "amount")); err != nil {
		return err
	}
	if c.Kind != KindSuballocation && c.Kind != KindReallocation && c.Kind != KindHandover {
		return invalid("kind", "must be %q, %q or %q, got %q", KindSuballocation, KindReallocation, KindHandover, c.Kind)
	}
	if c.From == c.To {
		return invalid("to", "must differ from the line transferred from")
	}
	if c.From.Program != c.To.Program || c.From.Year != c.To.Year || c.From.Source != c.To.Source {
		return invalid("to", "must have the same program, year and source as the line transferred from")
	}
	if c.Kind == KindHandover && c.From.Project != c.To.Project {
		return invalid("to.project", "a handover keeps the project: %q, got %q", c.From.Project, c.To.Project)
	}
	return firstErr(checkDate(c.EffectiveDate, "effective_date"), checkText(c.Decision, "decision", true),
		checkText(c.Note, "note", false))
}

func (c *CarryOver) Validate() error {
	if err := firstErr(c.Line.validate("line"), checkAmount(c.Amount, "amount")); err != nil {
		return err
	}
	if c.IntoYear <= c.Line.Year || c.IntoYear > c.Line.Year+10 {
		return invalid("into_year", "must be a year after the line's plan year %d (at most 10 years), got %d", c.Line.Year, c.IntoYear)
	}
	return firstErr(checkDate(c.EffectiveDate, "effective_date"), checkText(c.Decision, "decision", true),
		checkText(c.Note, "note", false))
}

func (c *Cancel) Validate() error {
	return firstErr(c.Line.validate("line"), checkAmount(c.Amount, "amount"),
		checkDate(c.EffectiveDate, "effective_date"), checkText(c.Decision, "decision", true),
		checkText(c.Note, "note", false))
}

func (c *Disburse) Validate() error {
	if err := firstErr(c.Line.validate("line"), checkAmount(c.Amount, "amount")); err != nil {
		return err
	}
	if c.Kind != KindAdvance && c.Kind != KindPayment {
		return invalid("kind", "must be %q or %q, got %q", KindAdvance, KindPayment, c.Kind)
	}
	return firstErr(checkDate(c.EffectiveDate, "effective_date"), checkText(c.Payee, "payee", true),
		c.Voucher.validate("voucher"), checkText(c.Note, "note", false))
}

func (c *SettleAdvance) Validate() error {
	return firstErr(checkEventID(c.EventID), checkAmount(c.Amount, "amount"),
		checkDate(c.EffectiveDate, "effective_date"), c.Voucher.validate("voucher"), checkText(c.Note, "note", false))
}

func (c *Reverse) Validate() error {
	return firstErr(checkEventID(c.EventID), checkAmount(c.Amount, "amount"),
		checkDate(c.EffectiveDate, "effective_date"), checkText(c.Reason, "reason", true))
}

func (c *RegisterProgram) Validate() error {
	return firstErr(checkCode(c.Code, "code"), checkText(c.Name, "name", true), c.Validity.validate())
}

func (c *RegisterProject) Validate() error {
	err := firstErr(checkCode(c.Program, "program"), checkCode(c.Code, "code"), checkText(c.Name, "name", true),
		c.Validity.validate())
	if err == nil && c.Parent != "" {
		err = checkCode(c.Parent, "parent")
	}
	return err
}

func (c *RegisterUnit) Validate() error {
	if c.ID == "" {
		c.ID = c.Code // the GSO code is the default stable id
	}
	if err := firstErr(checkCode(c.ID, "id"), checkCode(c.Code, "code"), checkText(c.Name, "name", true)); err != nil {
		return err
	}
	switch c.Level {
	case LevelProvince:
		if c.Parent != "" {
			return invalid("parent", "a province has no parent unit")
		}
	case LevelDistrict, LevelCommune:
		if err := checkCode(c.Parent, "parent"); err != nil {
			return err
		}
	default:
		return invalid("level", "must be %q, %q or %q, got %q", LevelProvince, LevelDistrict, LevelCommune, c.Level)
	}
	return c.Validity.validate()
}

func (c *RegisterSource) Validate() error {
	if err := firstErr(checkCode(c.Code, "code"), checkText(c.Name, "name", true)); err != nil {
		return err
	}
	if c.Budget != BudgetCentral && c.Budget != BudgetLocal && c.Budget != BudgetOther {
		return invalid("budget", "must be %q, %q or %q, got %q", BudgetCentral, BudgetLocal, BudgetOther, c.Budget)
	}
	if c.Nature != NatureInvestment && c.Nature != NatureRecurrent {
		return invalid("nature", "must be %q or %q, got %q", NatureInvestment, NatureRecurrent, c.Nature)
	}
	return c.Validity.validate()
}

func (v Voucher) validate(field string) error {
	// Member names are built only on failure, as in Line.validate.
	if err := firstErr(checkVoucherPartOf(v.Office, field, ".office"), checkVoucherPartOf(v.Type, field, ".type"),
		checkVoucherPartOf(v.Number, field, ".number")); err != nil {
		return err
	}
	if v.Date == 0 {
		return checkDate(v.Date, field+".date")
	}
	return nil
}

// checkVoucherPart accepts 1..codeMaxLen printable ASCII characters without spaces, so
// that "0012/KB-TT" style numbers pass.
func checkVoucherPart(s, field string) error { return checkVoucherPartOf(s, field, "") }

// checkVoucherPartOf is checkVoucherPart of the member part of field, named only on
// failure.
func checkVoucherPartOf(s, field, part string) error {
	if s == "" {
		return invalid(field+part, "is required")
	}
	if len(s) > codeMaxLen {
		return invalid(field+part, "must be at most %d characters", codeMaxLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return invalid(field+part, "may hold only printable ASCII without spaces, got %q", s)
		}
	}
	return nil
}

func checkDate(d Date, field string) error {
	if d == 0 {
		return invalid(field, "is required (YYYY-MM-DD)")
	}
	return nil
}

func checkEventID(id uuid.UUID) error {
	if id == uuid.Nil {
		return invalid("event_id", "is required")
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
