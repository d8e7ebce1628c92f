package demo

import (
	"time"

	"github.com/vnntp/ledger/ledger"
)

// C1 — Bắc Kạn (province 06), plan years 2022–2024, reported as of 31/05/2024.
//
// Published [pub]: total plan 760.80 bn, of which Ngân Sơn 219.94 and Pác Nặm 232.18;
// disbursed 478.93 bn by 31/05/2024 (62.95 %). Every other C1 figure of docs/domain.md §7 is
// [filled], and the tables below reproduce all of them to the đồng.
//
// How the figures become events (choices of the demo):
//   - The province assigns each plan year's capital directly to the district lines, by
//     one decision per year (2022-06-10, 2023-01-16, 2024-01-15).
//   - Pác Nặm passes part of its 2023 DA3 capital down to two communes (sub-allocation
//     2023-04-10); the Pác Nặm figures are of the district's whole subtree, as the
//     province reports them.
//   - Each line's disbursements follow one schedule per plan year (c1Schedule), so that
//     2022 capital is spent partly in 2023 and 2023 capital partly in 2024.
//   - Capital unspent at the end of 2022 and of 2023 is carried over into the next year
//     (2023-01-05, 2024-01-05); nothing is cancelled, since cancelling would change the
//     published plan.
//   - Three disbursements dated June 2024 (c1AfterReport) come after the report date: a
//     report as of 31/05/2024 must leave them out; as of 30/06/2024 Bắc Kạn has disbursed
//     486.43 bn.

// c1Years are the plan years of C1, the columns of the tables below.
var c1Years = [3]int{2022, 2023, 2024}

// c1Row is one line of a poor district for each plan year: project, source, and the
// plan and the amount disbursed by 31/05/2024, in centi-billions (0.01 tỷ đồng).
type c1Row struct {
	project string
	source  string
	plan    [3]int64
	paid    [3]int64
}

// nganSonRows are Ngân Sơn's (062) lines. Project totals are the published-style table
// of docs/domain.md §7 (DA1 investment 150.00 / 105.00, …, DA7 2.94 / 1.00); the split over
// plan years is [filled] so that the years add up to 70.00 / 72.00 / 77.94 planned and
// 68.00 / 60.00 / 14.00 disbursed. DA1 investment is central investment capital (NSTW-DTPT),
// DA1 maintenance and the other projects central recurrent capital (NSTW-SN).
var nganSonRows = []c1Row{
	{"DA1.TDA1", srcCentralInvestment, [3]int64{4800, 4900, 5300}, [3]int64{4700, 4700, 1100}},
	{"DA1.TDA1", srcCentralRecurrent, [3]int64{150, 150, 200}, [3]int64{150, 150, 100}},
	{"DA2", srcCentralRecurrent, [3]int64{500, 500, 500}, [3]int64{500, 200, 100}},
	{"DA3", srcCentralRecurrent, [3]int64{800, 800, 900}, [3]int64{700, 600, 100}},
	{"DA4", srcCentralRecurrent, [3]int64{300, 300, 400}, [3]int64{300, 200, 0}},
	{"DA5", srcCentralRecurrent, [3]int64{300, 400, 300}, [3]int64{300, 100, 0}},
	{"DA6", srcCentralRecurrent, [3]int64{60, 60, 80}, [3]int64{60, 40, 0}},
	{"DA7", srcCentralRecurrent, [3]int64{90, 90, 114}, [3]int64{90, 10, 0}},
}

// pacNamRows are Pác Nặm's (060) lines, chosen like nganSonRows: years 74.00 / 76.00 /
// 82.18 planned and 72.00 / 63.00 / 15.00 disbursed; projects DA1 investment 160.00 /
// 110.00, …, DA7 3.00 / 2.00. The DA3 2023 row is the district's subtree: the communes'
// shares (pacNamCommunes) are passed down and paid there.
var pacNamRows = []c1Row{
	{"DA1.TDA1", srcCentralInvestment, [3]int64{5100, 5300, 5600}, [3]int64{5000, 5000, 1000}},
	{"DA1.TDA1", srcCentralRecurrent, [3]int64{150, 150, 200}, [3]int64{150, 150, 100}},
	{"DA2", srcCentralRecurrent, [3]int64{500, 500, 600}, [3]int64{500, 300, 100}},
	{"DA3", srcCentralRecurrent, [3]int64{800, 900, 900}, [3]int64{700, 600, 200}},
	{"DA4", srcCentralRecurrent, [3]int64{300, 300, 400}, [3]int64{300, 200, 0}},
	{"DA5", srcCentralRecurrent, [3]int64{400, 300, 300}, [3]int64{400, 0, 0}},
	{"DA6", srcCentralRecurrent, [3]int64{60, 70, 88}, [3]int64{60, 40, 0}},
	{"DA7", srcCentralRecurrent, [3]int64{90, 80, 130}, [3]int64{90, 10, 100}},
}

// communeShare is capital a district passes down to a commune from one of its lines, and
// what the commune paid of it by 31/05/2024, in centi-billions.
type communeShare struct {
	commune string
	plan    int64
	paid    int64
}

// pacNamCommunes are the shares of Pác Nặm's 2023 DA3 line (9.00 planned, 6.00 paid)
// given to Xuân La and Nghiên Loan [filled]; the district keeps 6.50 and pays 4.20.
var pacNamCommunes = []communeShare{
	{unitXuanLa, 150, 100},
	{unitNghienLoan, 100, 80},
}

// c1Other is what one of the other six districts holds in one plan year, in
// centi-billions: central recurrent capital, spread over projects by c1OtherShares, and
// counterpart funds (NSDP-DU), all on DA3.
type c1Other struct {
	unit            string
	year            int
	centralPlan     int64
	counterpartPlan int64
	centralPaid     int64
	counterpartPaid int64
}

// c1Others spreads the "other units" row of docs/domain.md §7 (plan 96.00 / 102.00 / 110.68,
// disbursed 90.00 / 80.00 / 16.93) over the six districts that are not poor districts.
// DA1 and DA5 serve poor districts only, so these districts hold DA2, DA3, DA4, DA6 and
// DA7. The whole counterpart of the province (22.16 bn: 7.00 / 7.40 / 7.76, disbursed 6.00
// / 5.50 / 1.20) sits here, which leaves 286.52 bn of central capital, and with the poor
// districts' 452.12 the published 738.64. The spread [filled] follows the districts'
// weight in the program — Na Rì 25 %, Ba Bể 22 %, Chợ Đồn 18 %, Bạch Thông 15 %,
// Chợ Mới 14 %, TP Bắc Kạn 6 % — apportioned by largest remainder; disbursement shares
// lean a little towards Chợ Mới and TP Bắc Kạn and away from Ba Bể, so that the
// districts' rates differ as they do in practice.
var c1Others = []c1Other{
	{unitBacKanTP, 2022, 534, 42, 521, 37},
	{unitBaBe, 2022, 1958, 154, 1764, 126},
	{unitBachThong, 2022, 1335, 105, 1285, 92},
	{unitChoDon, 2022, 1602, 126, 1529, 109},
	{unitChoMoi, 2022, 1246, 98, 1226, 88},
	{unitNaRi, 2022, 2225, 175, 2075, 148},

	{unitBacKanTP, 2023, 568, 44, 477, 35},
	{unitBaBe, 2023, 2081, 163, 1527, 113},
	{unitBachThong, 2023, 1419, 111, 1147, 85},
	{unitChoDon, 2023, 1703, 133, 1341, 99},
	{unitChoMoi, 2023, 1324, 104, 1103, 81},
	{unitNaRi, 2023, 2365, 185, 1855, 137},

	{unitBacKanTP, 2024, 617, 46, 110, 8},
	{unitBaBe, 2024, 2264, 171, 299, 23},
	{unitBachThong, 2024, 1544, 116, 252, 19},
	{unitChoDon, 2024, 1853, 140, 283, 22},
	{unitChoMoi, 2024, 1441, 109, 252, 19},
	{unitNaRi, 2024, 2573, 194, 377, 29},
}

// c1OtherShares splits the other districts' central capital over projects, in percent;
// the rounding remainder (whole millions) goes to DA3, the largest.
var c1OtherShares = []struct {
	project string
	percent int64
}{{"DA2", 30}, {"DA3", 40}, {"DA4", 15}, {"DA6", 5}, {"DA7", 10}}

// tranche is a share of a line's disbursements paid on a date; the last tranche of a
// schedule takes the rest.
type tranche struct {
	date    ledger.Date
	percent int64
}

// c1Schedule is when each plan year's capital is paid out [filled]. 2022 capital was
// assigned late (June 2022) and finished in 2023 after its carry-over; 2023 capital
// partly in April 2024.
var c1Schedule = map[int][]tranche{
	2022: {{date(2022, time.September, 15), 40}, {date(2022, time.December, 15), 35}, {date(2023, time.May, 15), 25}},
	2023: {{date(2023, time.July, 14), 40}, {date(2023, time.December, 14), 40}, {date(2024, time.April, 15), 20}},
	2024: {{date(2024, time.April, 12), 60}, {date(2024, time.May, 24), 40}},
}

// c1Decisions are the province's allocation decisions, one per plan year (numbers
// invented).
var c1Decisions = map[int]struct {
	date     ledger.Date
	decision string
}{
	2022: {date(2022, time.June, 10), "QĐ 1045/QĐ-UBND ngày 10/06/2022 của UBND tỉnh Bắc Kạn"},
	2023: {date(2023, time.January, 16), "QĐ 85/QĐ-UBND ngày 16/01/2023 của UBND tỉnh Bắc Kạn"},
	2024: {date(2024, time.January, 15), "QĐ 102/QĐ-UBND ngày 15/01/2024 của UBND tỉnh Bắc Kạn"},
}

// c1AfterReport are Bắc Kạn disbursements dated after the report date 31/05/2024: 7.50 bn
// that an as-of-31/05/2024 report must not count.
var c1AfterReport = []struct {
	unit, project, source string
	year                  int
	date                  ledger.Date
	amount                int64 // centi-billions
}{
	{unitNganSon, "DA1.TDA1", srcCentralInvestment, 2024, date(2024, time.June, 14), 300},
	{unitPacNam, "DA1.TDA1", srcCentralInvestment, 2024, date(2024, time.June, 21), 400},
	{unitBaBe, "DA3", srcCentralRecurrent, 2024, date(2024, time.June, 27), 50},
}

// treasuryOffices maps a district to the State Treasury office that pays for it and for
// its communes (codes invented; the provincial office serves the city).
var treasuryOffices = map[string]string{
	unitBacKanTP: "KBNN-BK", unitPacNam: "KBNN-PN", unitBaBe: "KBNN-BB", unitNganSon: "KBNN-NS",
	unitBachThong: "KBNN-BT", unitChoDon: "KBNN-CD", unitChoMoi: "KBNN-CM", unitNaRi: "KBNN-NR",
	unitXuanLa: "KBNN-PN", unitNghienLoan: "KBNN-PN", unitLangGiang: "KBNN-LG",
	unitXuanHuong: "KBNN-LG", unitDuongDuc: "KBNN-LG", unitHuongSon: "KBNN-LG",
}

// Treasury voucher forms: C3-01 withdraws investment capital, C2-02a withdraws a
// recurrent budget estimate, C2-03 settles an advance.
const (
	voucherInvestment = "C3-01"
	voucherRecurrent  = "C2-02a"
	voucherSettlement = "C2-03"
)

func voucherType(source string) string {
	if source == srcCentralInvestment || source == srcLocalInvestment {
		return voucherInvestment
	}
	return voucherRecurrent
}

// payees name who is paid from a project's lines.
var payees = map[string]string{
	"DA1.TDA1/" + srcCentralInvestment: "Nhà thầu thi công công trình hạ tầng giao thông, thủy lợi",
	"DA1.TDA1/" + srcCentralRecurrent:  "Đơn vị duy tu, bảo dưỡng công trình hạ tầng",
	"DA2":                              "Hộ tham gia mô hình đa dạng hóa sinh kế",
	"DA3":                              "Hộ nghèo, hộ cận nghèo tham gia dự án hỗ trợ sản xuất",
	"DA4":                              "Cơ sở giáo dục nghề nghiệp đào tạo lao động nông thôn",
	"DA5":                              "Hộ nghèo được hỗ trợ xây dựng, sửa chữa nhà ở",
	"DA6":                              "Đơn vị thực hiện truyền thông giảm nghèo",
	"DA7":                              "Đơn vị tổ chức tập huấn, giám sát, đánh giá",
}

func payee(project, source, unit string) string {
	p, ok := payees[project+"/"+source]
	if !ok {
		p = payees[project]
	}
	return p + ", " + unitName(unit)
}

func gnbv(year int, source, project, unit string) ledger.Line {
	return ledger.Line{Program: program, Year: year, Source: source, Project: project, Unit: unit}
}

// c1Steps returns case C1 in date order.
func c1Steps() []Step {
	b := newBuilder("c1/")
	// pay disburses amount (đồng) of line l by its plan year's schedule.
	pay := func(l ledger.Line, amount int64) {
		tranches := c1Schedule[l.Year]
		rest := amount
		for i, t := range tranches {
			part := share(amount, t.percent)
			if i == len(tranches)-1 {
				part = rest
			}
			if part == 0 {
				continue
			}
			rest -= part
			b.disburse("", payment(l, part, ledger.KindPayment, t.date, payee(l.Project, l.Source, l.Unit),
				treasuryOffices[l.Unit], voucherType(l.Source), ""))
		}
	}
	allocate := func(l ledger.Line, amount int64) {
		d := c1Decisions[l.Year]
		b.allocate(l, amount, d.date, d.decision, "")
	}

	for _, district := range []struct {
		unit string
		rows []c1Row
	}{{unitNganSon, nganSonRows}, {unitPacNam, pacNamRows}} {
		for _, r := range district.rows {
			for i, y := range c1Years {
				l := gnbv(y, r.source, r.project, district.unit)
				allocate(l, r.plan[i]*centiBillion)
				paid := r.paid[i] * centiBillion
				if district.unit == unitPacNam && r.project == "DA3" && y == 2023 {
					for _, c := range pacNamCommunes {
						to := gnbv(y, r.source, r.project, c.commune)
						b.suballocate(l, to, c.plan*centiBillion, date(2023, time.April, 10),
							"QĐ 640/QĐ-UBND ngày 10/04/2023 của UBND huyện Pác Nặm",
							"Phân bổ vốn hỗ trợ phát triển sản xuất cho xã")
						pay(to, c.paid*centiBillion)
						paid -= c.paid * centiBillion
					}
				}
				pay(l, paid)
			}
		}
	}

	for _, o := range c1Others {
		central, centralPaid := o.centralPlan*centiBillion, o.centralPaid*centiBillion
		planLeft, paidLeft := central, centralPaid
		for _, s := range c1OtherShares {
			if s.project == "DA3" {
				continue // DA3 takes its share and the rounding remainder, below
			}
			plan, paid := share(central, s.percent), share(centralPaid, s.percent)
			l := gnbv(o.year, srcCentralRecurrent, s.project, o.unit)
			allocate(l, plan)
			pay(l, paid)
			planLeft -= plan
			paidLeft -= paid
		}
		l := gnbv(o.year, srcCentralRecurrent, "DA3", o.unit)
		allocate(l, planLeft)
		pay(l, paidLeft)

		l = gnbv(o.year, srcCounterpart, "DA3", o.unit)
		allocate(l, o.counterpartPlan*centiBillion)
		pay(l, o.counterpartPaid*centiBillion)
	}

	b.carryOvers(2022, date(2023, time.January, 5), "QĐ 12/QĐ-UBND ngày 05/01/2023 của UBND tỉnh Bắc Kạn (chuyển nguồn)",
		"Chuyển nguồn vốn năm 2022 chưa giải ngân sang năm 2023")
	b.carryOvers(2023, date(2024, time.January, 5), "QĐ 09/QĐ-UBND ngày 05/01/2024 của UBND tỉnh Bắc Kạn (chuyển nguồn)",
		"Chuyển nguồn vốn năm 2023 chưa giải ngân sang năm 2024")

	for _, a := range c1AfterReport {
		l := gnbv(a.year, a.source, a.project, a.unit)
		b.disburse("", payment(l, a.amount*centiBillion, ledger.KindPayment, a.date, payee(l.Project, l.Source, l.Unit),
			treasuryOffices[l.Unit], voucherType(l.Source),
			"Giải ngân sau ngày báo cáo 31/05/2024: không tính vào số liệu 478,93 tỷ đồng"))
	}
	return b.sorted()
}

// share returns percent of amount, rounded down to whole millions of đồng.
func share(amount, percent int64) int64 { return amount / million * percent / 100 * million }
