package demo

import (
	"time"

	"github.com/vnntp/ledger/ledger"
)

// C2 — Lạng Giang (district 217 of Bắc Giang 24), 2023.
//
// Published [pub]: more than 1.4 bn carried over from 2022; just under 4.5 bn assigned by
// the province for five projects; just under 5.9 bn in total; communes Xuân Hương and
// Dương Đức 120 million each, Hương Sơn 130 million. The hedges ("hơn" over, "gần" under)
// go into the notes of the events that carry the exact [filled] amounts.
//
// Expected at 31/12/2023, execution year 2023: carried-over capital 1,300,000,000 /
// 1,412,000,000; 2023 capital 2,800,000,000 / 4,478,000,000 (the communes' 370,000,000
// included); combined 4,100,000,000 / 5,890,000,000.
//
// All Lạng Giang capital is central recurrent (NSTW-SN): the five projects are recurrent
// spending, and a sub-allocation keeps its source. Lines sit on the top-level projects,
// as the province's decision names them.

// c2Project is one of the five Lạng Giang projects and its [filled] amounts, in millions
// of đồng.
type c2Project struct {
	code string
	// plan2022 is the 2022 allocation; paid2022 what was paid of it in 2022 (the rest,
	// carried over, totals 1,412 million); paidCarried what was paid of the carried capital
	// in 2023 (total 1,300 million).
	plan2022, paid2022, paidCarried int64
	// plan2023 is the 2023 allocation of 15/03/2023 (total 4,478 million); paid2023 what the
	// district itself paid of it in 2023 (total 2,430 million; the communes paid 370).
	plan2023, paid2023 int64
}

// c2Projects: the 2023 allocations are the [filled] figures of docs/domain.md §7; the 2022
// history and the split of the district's payments are chosen to give its totals.
var c2Projects = []c2Project{
	{"DA2", 900, 600, 280, 1200, 900},
	{"DA3", 1500, 888, 570, 1850, 950},
	{"DA4", 450, 250, 180, 620, 330},
	{"DA6", 200, 100, 95, 308, 150},
	{"DA7", 350, 150, 175, 500, 100},
}

// c2PaymentDates spread the district's own payments of each year over two dates, the
// first taking c2FirstPercent (whole millions) and the second the rest; the dates are
// [filled], one pair per project and kind of capital.
const c2FirstPercent = 50

var c2PaymentDates = map[string]struct{ paid2022, carried, paid2023 [2]ledger.Date }{
	"DA2": {[2]ledger.Date{date(2022, time.September, 20), date(2022, time.December, 20)},
		[2]ledger.Date{date(2023, time.April, 14), date(2023, time.August, 11)},
		[2]ledger.Date{date(2023, time.June, 23), date(2023, time.November, 24)}},
	"DA3": {[2]ledger.Date{date(2022, time.October, 14), date(2022, time.December, 23)},
		[2]ledger.Date{date(2023, time.May, 19), date(2023, time.August, 18)},
		[2]ledger.Date{date(2023, time.July, 28), date(2023, time.December, 15)}},
	"DA4": {[2]ledger.Date{date(2022, time.August, 26), date(2022, time.November, 18)},
		[2]ledger.Date{date(2023, time.April, 21), date(2023, time.June, 16)},
		[2]ledger.Date{date(2023, time.September, 22), date(2023, time.December, 20)}},
	"DA6": {[2]ledger.Date{date(2022, time.October, 7), date(2022, time.December, 9)},
		[2]ledger.Date{date(2023, time.March, 24), date(2023, time.July, 21)},
		[2]ledger.Date{date(2023, time.October, 27), date(2023, time.December, 26)}},
	"DA7": {[2]ledger.Date{date(2022, time.November, 4), date(2022, time.December, 16)},
		[2]ledger.Date{date(2023, time.June, 9), date(2023, time.October, 13)},
		[2]ledger.Date{date(2023, time.September, 8), date(2023, time.December, 27)}},
}

// Commune step names; RefStep and the tests use them.
const (
	StepXuanHuongRefused    = "c2/xuan-huong/disburse-121m-refused"
	StepXuanHuongAdvance    = "c2/xuan-huong/advance"
	StepXuanHuongPayment    = "c2/xuan-huong/final-payment"
	StepXuanHuongSettlement = "c2/xuan-huong/settle-advance"
	StepDuongDucPayment     = "c2/duong-duc/payment"
	StepDuongDucReversal    = "c2/duong-duc/reversal"
	StepDuongDucRepayment   = "c2/duong-duc/re-payment"
	StepHuongSonPayment     = "c2/huong-son/payment"
)

// c2Steps returns case C2 in date order.
func c2Steps() []Step {
	b := newBuilder("c2/")
	const office = "KBNN-LG"
	line := func(year int, project, unit string) ledger.Line {
		return gnbv(year, srcCentralRecurrent, project, unit)
	}
	// payTwice pays amount (millions) of l on two dates.
	payTwice := func(l ledger.Line, amount int64, dates [2]ledger.Date) {
		first := amount * c2FirstPercent / 100
		for i, part := range [2]int64{first, amount - first} {
			if part > 0 {
				b.disburse("", payment(l, part*million, ledger.KindPayment, dates[i], payee(l.Project, l.Source, l.Unit),
					office, voucherRecurrent, ""))
			}
		}
	}

	for _, p := range c2Projects {
		l := line(2022, p.code, unitLangGiang)
		b.allocate(l, p.plan2022*million, date(2022, time.June, 20),
			"QĐ 1123/QĐ-UBND ngày 20/06/2022 của UBND tỉnh Bắc Giang", "Giao kế hoạch vốn năm 2022")
		payTwice(l, p.paid2022, c2PaymentDates[p.code].paid2022)
		payTwice(l, p.paidCarried, c2PaymentDates[p.code].carried)
	}
	// 1,412,000,000 unspent at 31/12/2022 over the five lines.
	b.carryOvers(2022, date(2023, time.January, 2),
		"QĐ 03/QĐ-UBND ngày 02/01/2023 của UBND huyện Lạng Giang (chuyển nguồn)",
		"Công bố: hơn 1,4 tỷ đồng vốn năm 2022 chuyển sang năm 2023 (hedge: over); số chi tiết 1.412.000.000 đồng là giả định")

	for _, p := range c2Projects {
		l := line(2023, p.code, unitLangGiang)
		b.allocate(l, p.plan2023*million, date(2023, time.March, 15),
			"QĐ 356/QĐ-UBND ngày 15/03/2023 của UBND tỉnh Bắc Giang",
			"Công bố: gần 4,5 tỷ đồng cho 5 dự án (hedge: under), tổng vốn năm 2023 gần 5,9 tỷ đồng (hedge: under); số giả định 4.478.000.000 và 5.890.000.000 đồng")
		payTwice(l, p.paid2023, c2PaymentDates[p.code].paid2023)
	}

	da3 := line(2023, "DA3", unitLangGiang)
	xuanHuong, duongDuc, huongSon := line(2023, "DA3", unitXuanHuong), line(2023, "DA3", unitDuongDuc), line(2023, "DA3", unitHuongSon)
	const suballocation = "QĐ 1520/QĐ-UBND ngày 10/05/2023 của UBND huyện Lạng Giang"
	subDate := date(2023, time.May, 10)
	b.suballocate(da3, xuanHuong, 120*million, subDate, suballocation, "Công bố: 120 triệu đồng cho xã Xuân Hương")
	b.suballocate(da3, duongDuc, 120*million, subDate, suballocation, "Công bố: 120 triệu đồng cho xã Dương Đức")
	b.suballocate(da3, huongSon, 130*million, subDate, suballocation, "Công bố: 130 triệu đồng cho xã Hương Sơn")

	const (
		xhPayee = "Tổ hợp tác chăn nuôi bò sinh sản, xã Xuân Hương"
		ddPayee = "Hợp tác xã cung ứng bò giống, xã Dương Đức"
		hsPayee = "Hộ nghèo tham gia dự án hỗ trợ sản xuất, xã Hương Sơn"
	)
	// The refused request: 121,000,000 from a line that holds 120,000,000, before anything
	// was paid from it. It carries a voucher of its own, which stays unused since nothing
	// is recorded; it is added directly, not through disburse, as it moves no money.
	refusedDate := date(2023, time.September, 12)
	b.add(refusedDate, StepXuanHuongRefused, payment(xuanHuong, 121*million, ledger.KindPayment, refusedDate, xhPayee,
		office, voucherRecurrent, "Vượt dự toán được phân bổ (120.000.000 đồng): phải bị từ chối")).WantCode = ledger.CodeInsufficientFunds

	b.disburse(StepXuanHuongAdvance, payment(xuanHuong, 60*million, ledger.KindAdvance, date(2023, time.September, 15),
		xhPayee, office, voucherRecurrent, "Tạm ứng 50% hợp đồng mua bò giống"))
	b.disburse(StepDuongDucPayment, payment(duongDuc, 120*million, ledger.KindPayment, date(2023, time.October, 20),
		ddPayee, office, voucherRecurrent, "Thanh toán: bò giống đã bàn giao cho hộ nghèo"))
	b.disburse(StepHuongSonPayment, payment(huongSon, 130*million, ledger.KindPayment, date(2023, time.December, 5),
		hsPayee, office, voucherRecurrent, "Thanh toán hỗ trợ bò giống cho hộ nghèo"))
	settleDate := date(2023, time.December, 10)
	b.disburse(StepXuanHuongPayment, payment(xuanHuong, 60*million, ledger.KindPayment, settleDate,
		xhPayee, office, voucherRecurrent, "Thanh toán phần còn lại của hợp đồng mua bò giống"))
	b.add(settleDate, StepXuanHuongSettlement, &ledger.SettleAdvance{Amount: 60 * million, EffectiveDate: settleDate,
		Voucher: ledger.Voucher{Office: office, Type: voucherSettlement, Date: settleDate},
		Note:    "Thu hồi tạm ứng: bò giống đã bàn giao, tạm ứng chuyển thành thanh toán"}).RefStep = StepXuanHuongAdvance
	reverseDate := date(2023, time.December, 18)
	b.add(reverseDate, StepDuongDucReversal, &ledger.Reverse{Amount: 12 * million, EffectiveDate: reverseDate,
		Reason: "Giảm chi: một hộ không đủ điều kiện hưởng hỗ trợ (ineligible household)"}).RefStep = StepDuongDucPayment
	b.disburse(StepDuongDucRepayment, payment(duongDuc, 12*million, ledger.KindPayment, date(2023, time.December, 22),
		ddPayee, office, voucherRecurrent, "Thanh toán lại cho hộ đủ điều kiện thay thế"))
	return b.sorted()
}
