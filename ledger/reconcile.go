package ledger

import (
	"encoding/hex"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// Reconciliation with the State Treasury (đối chiếu): a finance officer compares the
// Treasury's statement of an office for a period with the vouchers the ledger holds for
// that office and period. A voucher is identified by its office, type and number; a
// pair found on both sides is matched when amount and date agree, an amount difference
// when the amounts differ (whatever the dates), a date difference when only the dates
// do. What is on one side only is listed as such. The completed comparison is recorded
// as a reconciliation.completed event, so auditors see what was reconciled and when.

// ReconcileRowsMax bounds the rows of a statement and the ledger vouchers of one
// reconciliation.
const ReconcileRowsMax = 200_000

// StatementEntry is one voucher of a Treasury statement; Row is its row in the file
// (1-based, the header being row 1) for the officer to find it.
type StatementEntry struct {
	Row         int
	Type        string
	Number      string
	Date        Date
	Amount      int64
	Description string
}

// LedgerVoucher is a voucher the ledger holds: the event that carries it (a
// disbursement or a settlement) and its amount.
type LedgerVoucher struct {
	EventID   uuid.UUID
	EventType EventType
	Kind      string // advance or payment for a disbursement
	Line      Line
	Voucher   Voucher
	Amount    int64
}

// VoucherOf returns the ledger voucher an event carries, or false when it carries none.
func VoucherOf(e *Event) (LedgerVoucher, bool) {
	d := &e.Data
	if d.Voucher == nil || d.Line == nil {
		return LedgerVoucher{}, false
	}
	return LedgerVoucher{EventID: e.ID, EventType: e.Type, Kind: d.Kind, Line: *d.Line, Voucher: *d.Voucher, Amount: d.Amount}, true
}

// ReconciledPair is a voucher found on both sides.
type ReconciledPair struct {
	Treasury StatementEntry
	Ledger   LedgerVoucher
}

// AmountDifference is the Treasury's amount less the ledger's.
func (p *ReconciledPair) AmountDifference() int64 { return p.Treasury.Amount - p.Ledger.Amount }

// ReconcileResult is the comparison of a statement with the ledger's vouchers, each list
// in the statement's row order, ledger-only vouchers in position order.
type ReconcileResult struct {
	Matched      []ReconciledPair
	AmountDiffs  []ReconciledPair
	DateDiffs    []ReconciledPair
	TreasuryOnly []StatementEntry
	LedgerOnly   []LedgerVoucher
}

// voucherID is the identity of a voucher within an office.
type voucherID struct{ typ, number string }

// Reconcile compares the entries of a statement with the ledger's vouchers of the same
// office and period. Entries must have distinct (type, number): a statement that repeats
// one is refused before (ParseStatement's caller checks it with DuplicateEntry).
func Reconcile(entries []StatementEntry, vouchers []LedgerVoucher) ReconcileResult {
	byID := make(map[voucherID]int, len(vouchers))
	for i, v := range vouchers {
		// Two ledger vouchers may share type and number on different dates; the first
		// one (by position) pairs, the others stay ledger-only.
		if _, dup := byID[voucherID{v.Voucher.Type, v.Voucher.Number}]; !dup {
			byID[voucherID{v.Voucher.Type, v.Voucher.Number}] = i
		}
	}
	used := make([]bool, len(vouchers))
	var r ReconcileResult
	for _, s := range entries {
		i, ok := byID[voucherID{s.Type, s.Number}]
		if !ok {
			r.TreasuryOnly = append(r.TreasuryOnly, s)
			continue
		}
		used[i] = true
		p := ReconciledPair{Treasury: s, Ledger: vouchers[i]}
		switch {
		case s.Amount != vouchers[i].Amount:
			r.AmountDiffs = append(r.AmountDiffs, p)
		case s.Date != vouchers[i].Voucher.Date:
			r.DateDiffs = append(r.DateDiffs, p)
		default:
			r.Matched = append(r.Matched, p)
		}
	}
	for i, v := range vouchers {
		if !used[i] {
			r.LedgerOnly = append(r.LedgerOnly, v)
		}
	}
	return r
}

// DuplicateEntry returns the rows of the first two entries that share type and number,
// or 0, 0 when there are none.
func DuplicateEntry(entries []StatementEntry) (first, second int) {
	seen := make(map[voucherID]int, len(entries))
	for _, s := range entries {
		if r, dup := seen[voucherID{s.Type, s.Number}]; dup {
			return r, s.Row
		}
		seen[voucherID{s.Type, s.Number}] = s.Row
	}
	return 0, 0
}

// SortVouchers orders ledger vouchers by date, type and number, for reports.
func SortVouchers(vs []LedgerVoucher) {
	slices.SortStableFunc(vs, func(a, b LedgerVoucher) int {
		if a.Voucher.Date != b.Voucher.Date {
			return int(a.Voucher.Date) - int(b.Voucher.Date)
		}
		if c := strings.Compare(a.Voucher.Type, b.Voucher.Type); c != 0 {
			return c
		}
		return strings.Compare(a.Voucher.Number, b.Voucher.Number)
	})
}

// Reconciliation is the data of a reconciliation.completed event: which statement
// (its SHA-256), which office and period, against which ledger position, and the counts.
type Reconciliation struct {
	AmountDifferences int    `json:"amount_differences,omitempty"`
	DateDifferences   int    `json:"date_differences,omitempty"`
	FileSHA256        string `json:"file_sha256,omitempty"`
	From              Date   `json:"from,omitempty"`
	LedgerOnly        int    `json:"ledger_only,omitempty"`
	LedgerPosition    int64  `json:"ledger_position,omitempty"`
	Matched           int    `json:"matched,omitempty"`
	Office            string `json:"office,omitempty"`
	StatementRows     int    `json:"statement_rows,omitempty"`
	To                Date   `json:"to,omitempty"`
	TreasuryOnly      int    `json:"treasury_only,omitempty"`
}

// RecordReconciliation records a completed reconciliation. The caller compared the
// statement with the ledger at LedgerPosition; the writer checks the form of the record
// and that the position is not beyond its head.
type RecordReconciliation struct {
	Reconciliation
	Note string `json:"note"`
}

func (c *RecordReconciliation) Validate() error {
	r := &c.Reconciliation
	if err := firstErr(checkVoucherPart(r.Office, "office"), checkDate(r.From, "from"), checkDate(r.To, "to")); err != nil {
		return err
	}
	if r.To < r.From {
		return invalid("to", "must not be before from")
	}
	if b, err := hex.DecodeString(r.FileSHA256); err != nil || len(b) != 32 || strings.ToLower(r.FileSHA256) != r.FileSHA256 {
		return invalid("file_sha256", "must be 64 lower-case hex digits")
	}
	for _, n := range []struct {
		v     int
		field string
	}{{r.Matched, "matched"}, {r.AmountDifferences, "amount_differences"}, {r.DateDifferences, "date_differences"},
		{r.TreasuryOnly, "treasury_only"}, {r.LedgerOnly, "ledger_only"}, {r.StatementRows, "statement_rows"}} {
		if n.v < 0 || n.v > ReconcileRowsMax {
			return invalid(n.field, "must be 0 to %d", ReconcileRowsMax)
		}
	}
	if r.LedgerPosition < 0 {
		return invalid("ledger_position", "must not be negative")
	}
	return checkText(c.Note, "note", false)
}

func (s *State) decideReconciliation(cmd *RecordReconciliation) (EventType, Date, EventData, error) {
	if cmd.LedgerPosition > s.Head {
		return "", 0, EventData{}, invalid("ledger_position", "position %d is beyond the head %d", cmd.LedgerPosition, s.Head)
	}
	r := cmd.Reconciliation
	return TypeReconciliationCompleted, r.To, EventData{Reconciliation: &r, Note: cmd.Note}, nil
}
