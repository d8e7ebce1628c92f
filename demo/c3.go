package demo

import (
	"time"

	"github.com/vnntp/ledger/ledger"
)

// C3 — the 2025 reorganisation, plan year 2025 (all amounts [filled]).
//
// From 1 July 2025 (Resolution 202/2025/QH15) Bắc Kạn (06) and its districts are closed:
// new Thái Nguyên (stable id 19-2025, GSO code 19) succeeds the province and takes over
// the districts' investor tasks, and the district level is abolished (the levels from
// then are province and commune, recorded by the reorganisation itself). Communes Xuân La
// (01873) and Nghiên Loan (01882) merge into the new commune Nghiên Loan (stable id
// 01882-2025, reusing the code 01882) under the new province (Resolution
// 1683/NQ-UBTVQH15). The predecessors' remaining capital is handed over on the date.
//
// Expected, plan year 2025: as recorded on 30/06/2025, Pác Nặm 10.00 / 4.00 bn → 40.00 %
// and Xuân La 1.20 / 0.50 bn → 41.67 %; as recorded on 31/12/2025, Bắc Kạn 4.50 / 4.50 →
// 100.00 %, new Thái Nguyên 6.70 / 5.60 → 83.58 %, total 11.20 / 10.10 → 90.18 %; restated
// (units=current) on 31/12/2025, new Thái Nguyên 11.20 / 10.10 → 90.18 %, its own lines
// (the former Pác Nặm line) 10.00 / 9.00 → 90.00 %, new Nghiên Loan 1.20 / 1.10 → 91.67 %;
// on 30/06/2026 either view's total is 11.20 / 10.90 → 97.32 %.
//
// Deadlines (deadline.set of 2025-01-02, deadline.extended of 2026-01-20, the refused
// payment of 2026-03-15 on new Nghiên Loan with deadline_passed) and the back-dated
// payment refused by availability at every date (rule 2) belong to the deadlines work
// and are not steps of this case yet: see c3DeadlineSteps.

// Units of C3: the successors, valid from the reorganisation's date.
const (
	UnitThaiNguyen    = "19-2025"
	UnitNghienLoanNew = "01882-2025"
	// UnitPacNam and UnitXuanLa are the predecessors whose lines C3 uses.
	UnitPacNam = unitPacNam
	UnitXuanLa = unitXuanLa
	// UnitBacKan is the province closed on 30/06/2025.
	UnitBacKan = unitBacKan
)

// C3 dates.
var (
	// C3Reorganized is the date the 2025 reorganisation took effect.
	C3Reorganized = ledger.MakeDate(2025, time.July, 1)
	// C3Before is the last day of the old units.
	C3Before = ledger.MakeDate(2025, time.June, 30)
	// C3YearEnd is the as-of date of the recorded and restated figures of plan year 2025.
	C3YearEnd = ledger.MakeDate(2025, time.December, 31)
	// C3Later is the as-of date of the 2026 figures (either view's total).
	C3Later = ledger.MakeDate(2026, time.June, 30)
)

// C3 step names; the tests use them.
const (
	StepC3ClosedDisbursement = "c3/xuan-la/disburse-after-close-refused"
	StepC3HandoverTooMuch    = "c3/pac-nam/handover-beyond-available-refused"
	StepC3HandoverNotSucc    = "c3/pac-nam/handover-to-non-successor-refused"
	StepC3HandoverOtherProj  = "c3/xuan-la/handover-to-another-project-refused"
	StepC3HandoverPacNam     = "c3/pac-nam/handover"
	StepC3HandoverXuanLa     = "c3/xuan-la/handover"
	StepC3Deadline           = "c3/deadline/2025"
	StepC3Extension          = "c3/deadline/thai-nguyen-extended"
	StepC3LatePayment        = "c3/nghien-loan/after-deadline-refused"
	StepC3BackDatedPayment   = "c3/pac-nam/back-dated-refused"
)

// C3 lines.
var (
	c3PacNam       = gnbv(2025, srcCentralInvestment, "DA1.TDA1", unitPacNam)
	c3XuanLa       = gnbv(2025, srcCentralRecurrent, "DA2", unitXuanLa)
	c3ThaiNguyen   = gnbv(2025, srcCentralInvestment, "DA1.TDA1", UnitThaiNguyen)
	c3NghienLoan   = gnbv(2025, srcCentralRecurrent, "DA2", UnitNghienLoanNew)
	c3LegalBasis   = "Nghị quyết 202/2025/QH15 ngày 12/06/2025 của Quốc hội về sắp xếp đơn vị hành chính cấp tỉnh"
	c3CommuneBasis = "Nghị quyết 1683/NQ-UBTVQH15 ngày 16/06/2025 của Ủy ban Thường vụ Quốc hội về sắp xếp các đơn vị hành chính cấp xã của tỉnh Thái Nguyên"
)

// c3Steps returns case C3 in date order.
func c3Steps() []Step {
	b := newBuilder("c3/")
	const (
		officeBK = "KBNN-BK"
		officeTN = "KBNN-TN"
		pnPayee  = "Ban quản lý dự án đầu tư xây dựng huyện Pác Nặm"
		tnPayee  = "Ban quản lý dự án đầu tư xây dựng tỉnh Thái Nguyên"
		xlPayee  = "Hợp tác xã nông nghiệp xã Xuân La"
		nlPayee  = "Hợp tác xã nông nghiệp xã Nghiên Loan"
	)
	alloc := "QĐ 245/QĐ-UBND ngày 10/02/2025 của UBND tỉnh Bắc Kạn"
	b.allocate(c3PacNam, 10_000*million, date(2025, time.February, 10), alloc, "Kế hoạch vốn đầu tư năm 2025, tiểu dự án 1 dự án 1")
	b.allocate(c3XuanLa, 1_200*million, date(2025, time.February, 10), alloc, "Kế hoạch vốn sự nghiệp năm 2025, dự án 2")
	b.disburse("", payment(c3PacNam, 4_000*million, ledger.KindPayment, date(2025, time.May, 20), pnPayee, officeBK, voucherInvestment,
		"Thanh toán khối lượng hoàn thành đường giao thông"))
	b.disburse("", payment(c3XuanLa, 500*million, ledger.KindPayment, date(2025, time.June, 10), xlPayee, officeBK, voucherRecurrent,
		"Thanh toán hỗ trợ mô hình sinh kế"))

	// 1 July 2025: the successors are registered (the province first), the provinces and
	// districts reorganised with the new levels, then the communes, then the handovers.
	d := C3Reorganized
	valid := ledger.Validity{ValidFrom: d}
	b.add(d, "c3/catalog/unit/"+UnitThaiNguyen, &ledger.RegisterUnit{Unit: ledger.Unit{ID: UnitThaiNguyen, Code: "19",
		Name: "Tỉnh Thái Nguyên", Level: ledger.LevelProvince, Validity: valid}})
	districts := []string{unitBacKanTP, unitPacNam, unitBaBe, unitNganSon, unitBachThong, unitChoDon, unitChoMoi, unitNaRi}
	b.add(d, "c3/reorganize/provinces", &ledger.Reorganize{EffectiveDate: d, Reorganization: ledger.Reorganization{
		LegalBasis: c3LegalBasis,
		Levels:     []ledger.Level{ledger.LevelProvince, ledger.LevelCommune},
		Changes: []ledger.UnitChange{
			{Kind: ledger.ChangeMerge, Predecessors: []string{unitBacKan}, Successors: []string{UnitThaiNguyen}},
			{Kind: ledger.ChangeAbolish, Predecessors: districts, Successors: []string{UnitThaiNguyen}},
		}}})
	b.add(d, "c3/catalog/unit/"+UnitNghienLoanNew, &ledger.RegisterUnit{Unit: ledger.Unit{ID: UnitNghienLoanNew, Code: "01882",
		Name: "Xã Nghiên Loan", Level: ledger.LevelCommune, Parent: UnitThaiNguyen, Validity: valid}})
	b.add(d, "c3/reorganize/communes", &ledger.Reorganize{EffectiveDate: d, Reorganization: ledger.Reorganization{
		LegalBasis: c3CommuneBasis,
		Changes: []ledger.UnitChange{
			{Kind: ledger.ChangeMerge, Predecessors: []string{unitXuanLa, unitNghienLoan}, Successors: []string{UnitNghienLoanNew}},
		}}})

	handover := func(from, to ledger.Line, amount int64, note string) *ledger.Transfer {
		return &ledger.Transfer{From: from, To: to, Amount: amount, Kind: ledger.KindHandover, EffectiveDate: d,
			Decision: "Biên bản bàn giao ngày 01/07/2025 theo " + "Nghị quyết 202/2025/QH15", Note: note}
	}
	// Refusals: more than the line holds, to a unit that does not succeed it, to another
	// project.
	b.add(d, StepC3HandoverTooMuch, handover(c3PacNam, c3ThaiNguyen, 6_000*million+1,
		"Vượt số còn lại 6.000.000.000 đồng: phải bị từ chối")).WantCode = ledger.CodeInsufficientFunds
	notSucc := c3PacNam
	notSucc.Unit = UnitNghienLoanNew
	b.add(d, StepC3HandoverNotSucc, handover(c3PacNam, notSucc, 1_000*million,
		"Xã Nghiên Loan mới không kế thừa huyện Pác Nặm: phải bị từ chối")).WantCode = ledger.CodeInvalidArgument
	otherProj := c3NghienLoan
	otherProj.Project = "DA3"
	b.add(d, StepC3HandoverOtherProj, handover(c3XuanLa, otherProj, 700*million,
		"Bàn giao sang dự án khác: phải bị từ chối")).WantCode = ledger.CodeInvalidArgument

	b.line(c3PacNam).plan -= 6_000 * million
	b.line(c3ThaiNguyen).plan += 6_000 * million
	b.add(d, StepC3HandoverPacNam, handover(c3PacNam, c3ThaiNguyen, 6_000*million,
		"Bàn giao vốn còn lại của huyện Pác Nặm cho tỉnh Thái Nguyên"))
	b.line(c3XuanLa).plan -= 700 * million
	b.line(c3NghienLoan).plan += 700 * million
	b.add(d, StepC3HandoverXuanLa, handover(c3XuanLa, c3NghienLoan, 700*million,
		"Bàn giao vốn còn lại của xã Xuân La cho xã Nghiên Loan mới"))

	closed := date(2025, time.August, 1)
	b.add(closed, StepC3ClosedDisbursement, payment(c3XuanLa, 10*million, ledger.KindPayment, closed, xlPayee, officeTN, voucherRecurrent,
		"Xã Xuân La đã hết hiệu lực từ 01/07/2025: phải bị từ chối")).WantCode = ledger.CodeUnitClosed

	b.disburse("", payment(c3ThaiNguyen, 3_000*million, ledger.KindPayment, date(2025, time.September, 15), tnPayee, officeTN, voucherInvestment,
		"Thanh toán khối lượng hoàn thành"))
	b.disburse("", payment(c3NghienLoan, 600*million, ledger.KindPayment, date(2025, time.November, 20), nlPayee, officeTN, voucherRecurrent,
		"Thanh toán hỗ trợ mô hình sinh kế"))
	b.disburse("", payment(c3ThaiNguyen, 2_000*million, ledger.KindPayment, date(2025, time.December, 20), tnPayee, officeTN, voucherInvestment,
		"Thanh toán khối lượng hoàn thành"))
	for _, s := range c3DeadlineSteps() {
		b.add(s.date, s.step.Name, s.step.Command).WantCode = s.step.WantCode
	}
	b.disburse("", payment(c3ThaiNguyen, 800*million, ledger.KindPayment, C3Later, tnPayee, officeTN, voucherInvestment,
		"Thanh toán khối lượng hoàn thành (vốn 2025 được kéo dài thời gian giải ngân)"))
	return b.sorted()
}

// c3DeadlineSteps are the deadline steps of C3: plan-year-2025 capital of the program may
// be disbursed until 31/01/2026 (Law 58/2024/QH15 Art. 72), new Thái Nguyên's DA1.TDA1
// line is extended to 31/12/2026, new Nghiên Loan's payment of 15/03/2026 is refused
// (deadline_passed), and a payment on Pác Nặm dated 05/02/2025 but recorded in June 2025
// is refused: the line had 6 bn available when it was recorded, nothing on 05/02 (funded
// 10/02), and availability holds at every business date.
func c3DeadlineSteps() []datedStep {
	const (
		officeBK = "KBNN-BK"
		officeTN = "KBNN-TN"
	)
	law := "Luật Đầu tư công 58/2024/QH15, Điều 72"
	set := date(2025, time.January, 2)
	extended := date(2026, time.January, 20)
	late := date(2026, time.March, 15)
	backDated, recorded := date(2025, time.February, 5), date(2025, time.June, 15)
	return []datedStep{
		{set, Step{Name: StepC3Deadline, Command: &ledger.SetDeadline{Program: program, Year: 2025,
			Until: date(2026, time.January, 31), LegalBasis: law, EffectiveDate: set}}},
		{extended, Step{Name: StepC3Extension, Command: &ledger.ExtendDeadline{Line: c3ThaiNguyen,
			Until: date(2026, time.December, 31), LegalBasis: "Quyết định 112/QĐ-UBND ngày 20/01/2026 của UBND tỉnh Thái Nguyên (kéo dài thời gian giải ngân)",
			EffectiveDate: extended}}},
		{late, Step{Name: StepC3LatePayment, WantCode: ledger.CodeDeadlinePassed, Command: payment(c3NghienLoan, 100*million,
			ledger.KindPayment, late, "Hợp tác xã nông nghiệp xã Nghiên Loan", officeTN, voucherRecurrent,
			"Vốn năm 2025 đã hết thời hạn giải ngân 31/01/2026: phải bị từ chối")}},
		{recorded, Step{Name: StepC3BackDatedPayment, WantCode: ledger.CodeInsufficientFunds, Command: payment(c3PacNam, 1_000*million,
			ledger.KindPayment, backDated, "Ban quản lý dự án đầu tư xây dựng huyện Pác Nặm", officeBK, voucherInvestment,
			"Ghi ngày 05/02/2025, trước khi có vốn (10/02/2025): phải bị từ chối")}},
	}
}
