package report

import (
	"strconv"

	"github.com/vnntp/ledger/ledger"
)

// ReconcileMeta says what a reconciliation compared: the office and period, the
// statement's SHA-256 and rows, the ledger position, and the event that recorded it.
type ReconcileMeta struct {
	Office         string
	From, To       ledger.Date
	FileSHA256     string
	StatementRows  int
	LedgerPosition int64
	EventID        string
	EventPosition  int64
}

type reconcileLabels struct {
	sheet, title, office, period, file, rows, position, event, amountsIn        string
	matched, amountDiff, dateDiff, treasuryOnly, ledgerOnly                     string
	category, vType, number, tDate, tAmount, lDate, lAmount, diff, row, eventID string
}

var reconcileWords = map[Lang]*reconcileLabels{
	LangVI: {sheet: "Đối chiếu KBNN", title: "Đối chiếu chứng từ với Kho bạc Nhà nước", office: "Mã KBNN", period: "Kỳ đối chiếu",
		file: "SHA-256 của bảng kê", rows: "Số dòng bảng kê", position: "Vị trí sổ cái đối chiếu", event: "Sự kiện ghi nhận",
		amountsIn: "Đơn vị tiền: đồng", matched: "Khớp", amountDiff: "Lệch số tiền", dateDiff: "Lệch ngày",
		treasuryOnly: "Chỉ có ở Kho bạc", ledgerOnly: "Chỉ có ở sổ cái", category: "Kết quả", vType: "Loại chứng từ",
		number: "Số chứng từ", tDate: "Ngày (Kho bạc)", tAmount: "Số tiền (Kho bạc)", lDate: "Ngày (sổ cái)",
		lAmount: "Số tiền (sổ cái)", diff: "Chênh lệch", row: "Dòng bảng kê", eventID: "Mã sự kiện sổ cái"},
	LangEN: {sheet: "Reconciliation", title: "Reconciliation with the State Treasury", office: "Treasury office", period: "Period",
		file: "Statement SHA-256", rows: "Statement rows", position: "Ledger position reconciled", event: "Recorded as event",
		amountsIn: "Amounts in đồng", matched: "Matched", amountDiff: "Amount difference", dateDiff: "Date difference",
		treasuryOnly: "Treasury only", ledgerOnly: "Ledger only", category: "Result", vType: "Voucher type",
		number: "Voucher number", tDate: "Date (Treasury)", tAmount: "Amount (Treasury)", lDate: "Date (ledger)",
		lAmount: "Amount (ledger)", diff: "Difference", row: "Statement row", eventID: "Ledger event"},
}

// LayoutReconciliation lays a reconciliation out in language lang: a header block with
// the counts, then one row per voucher, grouped by result.
func LayoutReconciliation(r *ledger.ReconcileResult, m ReconcileMeta, lang Lang) Sheet {
	l := reconcileWords[LangVI]
	if lang == LangEN {
		l = reconcileWords[LangEN]
	}
	count := func(n int) string { return strconv.Itoa(n) }
	sh := Sheet{Name: l.sheet, Title: l.title, Meta: [][2]string{
		{l.office, m.Office},
		{l.period, m.From.String() + " – " + m.To.String()},
		{l.file, m.FileSHA256},
		{l.rows, count(m.StatementRows)},
		{l.position, strconv.FormatInt(m.LedgerPosition, 10)},
	}}
	if m.EventID != "" {
		sh.Meta = append(sh.Meta, [2]string{l.event, m.EventID + " @ " + strconv.FormatInt(m.EventPosition, 10)})
	}
	sh.Meta = append(sh.Meta,
		[2]string{l.matched, count(len(r.Matched))}, [2]string{l.amountDiff, count(len(r.AmountDiffs))},
		[2]string{l.dateDiff, count(len(r.DateDiffs))}, [2]string{l.treasuryOnly, count(len(r.TreasuryOnly))},
		[2]string{l.ledgerOnly, count(len(r.LedgerOnly))}, [2]string{l.amountsIn, ""})
	sh.Columns = []string{l.category, l.vType, l.number, l.tDate, l.tAmount, l.lDate, l.lAmount, l.diff, l.row, l.eventID}
	money := func(v int64) Cell { return Cell{Kind: CellMoney, Money: v} }
	pair := func(cat string, p *ledger.ReconciledPair) []Cell {
		return []Cell{{Text: cat}, {Text: p.Treasury.Type}, {Text: p.Treasury.Number}, {Text: p.Treasury.Date.String()},
			money(p.Treasury.Amount), {Text: p.Ledger.Voucher.Date.String()}, money(p.Ledger.Amount), money(p.AmountDifference()),
			{Text: strconv.Itoa(p.Treasury.Row)}, {Text: p.Ledger.EventID.String()}}
	}
	for _, g := range []struct {
		cat   string
		pairs []ledger.ReconciledPair
	}{{l.amountDiff, r.AmountDiffs}, {l.dateDiff, r.DateDiffs}, {l.matched, r.Matched}} {
		for i := range g.pairs {
			sh.Rows = append(sh.Rows, pair(g.cat, &g.pairs[i]))
		}
	}
	for _, s := range r.TreasuryOnly {
		sh.Rows = append(sh.Rows, []Cell{{Text: l.treasuryOnly}, {Text: s.Type}, {Text: s.Number}, {Text: s.Date.String()},
			money(s.Amount), {}, {}, money(s.Amount), {Text: strconv.Itoa(s.Row)}, {}})
	}
	for _, v := range r.LedgerOnly {
		sh.Rows = append(sh.Rows, []Cell{{Text: l.ledgerOnly}, {Text: v.Voucher.Type}, {Text: v.Voucher.Number}, {}, {},
			{Text: v.Voucher.Date.String()}, money(v.Amount), money(-v.Amount), {}, {Text: v.EventID.String()}})
	}
	return sh
}
