package demo

import (
	"context"
	_ "embed" // the sample Treasury statement
	"time"

	"github.com/vnntp/ledger/ledger"
)

// C4 — 2026 capital of the 2026–2035 program: contracts, advances and the State
// Treasury (all amounts [filled]; docs/domain.md, scenario C4).
//
// One line of the new province (the province itself as holder), plan year 2026, source
// NSTW-DTPT, project "infrastructure": 8.00 bn allocated; contract HĐ 01/2026/HĐXD of
// 5.00 bn; an advance of 1.50 bn (30 % of the contract, the limit of Decree
// 99/2021/NĐ-CP Art. 10) and a further 0.10 bn refused (advance_limit); a payment of
// 2.00 bn and 1.00 bn of the advance settled; a second contract of 4.00 bn refused
// (contract_exceeded: 9.00 bn > 8.00 bn).
//
// Expected as of 30/06/2026: plan 8.00 bn; committed 5.00 bn → 62.50 %; disbursed 3.50 bn
// → 43.75 %; outstanding advances 0.50 bn, 130 days old. The Treasury statement of the
// office for 01/02–30/06/2026 (c4-treasury-statement.csv) reconciles as 1
// matched, 1 amount difference (500,000), 1 in the Treasury only, 1 in the ledger only.

// C4Statement is the sample Treasury statement of scenario C4 (c4-treasury-statement.csv):
// the office's vouchers for 01/02–30/06/2026 as the Treasury lists them.
//
//go:embed c4-treasury-statement.csv
var C4Statement []byte

// C4 constants: the project the line sits on, the Treasury office and the report date.
const (
	C4Project       = "HT"
	C4Office        = "KB-TN"
	C4ContractValue = 5_000 * million
)

// C4AsOf is the business date of the C4 figures.
var C4AsOf = ledger.MakeDate(2026, time.June, 30)

// C4Line returns the C4 line of province under program.
func C4Line(province, program string) ledger.Line {
	return ledger.Line{Program: program, Year: 2026, Source: srcCentralInvestment, Project: C4Project, Unit: province}
}

// C4Steps returns scenario C4 for the province unit id and the program code, both
// already registered (with source NSTW-DTPT): the project, the advance limit and the
// dated steps. The disbursement deadline of plan year 2026 (deadline.set) is not among
// them.
func C4Steps(province, program string) []Step {
	l := C4Line(province, program)
	d := func(m time.Month, day int) ledger.Date { return ledger.MakeDate(2026, m, day) }
	voucher := func(typ, number string, date ledger.Date) ledger.Voucher {
		return ledger.Voucher{Office: C4Office, Type: typ, Number: number, Date: date}
	}
	return []Step{
		{Name: "c4/project", Command: &ledger.RegisterProject{Project: ledger.Project{Program: program, Code: C4Project,
			Name: "Hạ tầng (infrastructure)", Validity: ledger.Validity{ValidFrom: d(time.January, 1)}}}},
		{Name: "c4/advance-limit", Command: &ledger.SetAdvanceLimit{ShareBP: 3000, Program: program, Nature: ledger.NatureInvestment,
			ValidFrom: d(time.January, 15), LegalBasis: "Nghị định 99/2021/NĐ-CP, Điều 10"}},
		{Name: "c4/allocate", Command: &ledger.Allocate{Line: l, Amount: 8_000 * million, EffectiveDate: d(time.February, 1),
			Decision: "QĐ giao kế hoạch vốn 2026"}},
		{Name: "c4/contract", Command: &ledger.SignContract{Line: l, Number: "01/2026/HĐXD", Contractor: "Công ty CP Xây dựng giao thông",
			Value: C4ContractValue, SignedOn: d(time.February, 15), Document: "HĐ 01/2026/HĐXD", Note: "road works"}},
		{Name: "c4/advance", RefStep: "c4/contract", Command: &ledger.Disburse{Line: l, Amount: 1_500 * million, Kind: ledger.KindAdvance,
			EffectiveDate: d(time.February, 20), Payee: "Công ty CP Xây dựng giao thông", Voucher: voucher("C2-03", "000123", d(time.February, 20))}},
		{Name: "c4/advance-over-limit", RefStep: "c4/contract", WantCode: ledger.CodeAdvanceLimit, Command: &ledger.Disburse{Line: l,
			Amount: 100 * million, Kind: ledger.KindAdvance, EffectiveDate: d(time.February, 25), Payee: "Công ty CP Xây dựng giao thông",
			Voucher: voucher("C2-03", "000130", d(time.February, 25))}},
		{Name: "c4/payment", RefStep: "c4/contract", Command: &ledger.Disburse{Line: l, Amount: 2_000 * million, Kind: ledger.KindPayment,
			EffectiveDate: d(time.April, 10), Payee: "Công ty CP Xây dựng giao thông", Voucher: voucher("C2-02", "000245", d(time.April, 10))}},
		{Name: "c4/settlement", RefStep: "c4/advance", Command: &ledger.SettleAdvance{Amount: 1_000 * million,
			EffectiveDate: d(time.April, 10), Voucher: voucher("C2-04", "000246", d(time.April, 10))}},
		{Name: "c4/second-contract", WantCode: ledger.CodeContractExceeded, Command: &ledger.SignContract{Line: l, Number: "02/2026/HĐXD",
			Contractor: "Công ty TNHH Thủy lợi", Value: 4_000 * million, SignedOn: d(time.May, 20), Document: "HĐ 02/2026/HĐXD"}},
	}
}

// C4Program is the code of the 2026–2035 national target program in the demo
// (Resolution 257/2025/QH15 merged the three programs into one).
const C4Program = "MTQG2635"

// c4DemoSteps registers the 2026–2035 program, records the disbursement deadline of its
// plan-year-2026 capital (31/01/2027, Law 58/2024/QH15 Art. 72), and runs C4 on new Thái
// Nguyen, the province C3 created.
func c4DemoSteps() []Step {
	from := ledger.MakeDate(2026, time.January, 1)
	set := ledger.MakeDate(2026, time.January, 15)
	steps := []Step{
		{Name: "c4/program", Command: &ledger.RegisterProgram{Program: ledger.Program{Code: C4Program,
			Name: "Chương trình mục tiêu quốc gia giai đoạn 2026–2035 (Nghị quyết 257/2025/QH15)", Validity: ledger.Validity{ValidFrom: from}}}},
		{Name: "c4/deadline", Command: &ledger.SetDeadline{Program: C4Program, Year: 2026, Until: ledger.MakeDate(2027, time.January, 31),
			LegalBasis: "Luật Đầu tư công 58/2024/QH15, Điều 72", EffectiveDate: set}},
	}
	return append(steps, C4Steps(UnitThaiNguyen, C4Program)...)
}

// LoadC4 loads scenario C4 for province and program through submit, as Load does.
func LoadC4(ctx context.Context, submit func(context.Context, *ledger.Request) (*ledger.Result, error), province, program string) error {
	return LoadSteps(ctx, submit, C4Steps(province, program))
}
