package dashboard

import (
	"strconv"
	"strings"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/projections"
	"github.com/vnntp/ledger/report"
)

// dashWords are the words of the dashboard in one language. Each field is a phrase shown
// as it is; the templates never build sentences from pieces, so translations stay whole.
type dashWords struct {
	Lang, OtherLang report.Lang
	OtherLangName   string

	Title, Overview, Trend, Lines, LineEvents, SignIn, SignOut, SignedInAs, Token, TokenHelp string
	BadToken, SignInNote, Everything, Scope                                                  string

	AsOf, NoLimit, PlanYear, ExecYear, Basis, BasisPlan, BasisExec, Year, AllYears     string
	Program, AllPrograms, Source, AllSources, Apply, Print, Live, LiveOff, Target      string
	Plan, Disbursed, Available, Rate, Position, HeadHash, ComputedAt, RatesByUnit      string
	RatesByProject, Matrix, MatrixHelp, Counterpart, Province, Central, Required, Pass string
	Yes, No, NoRows, Legend, CounterpartAmt, CounterpartRate                           string

	TrendTitle, TrendCumulative, TrendTargetNone, TrendTargetLine, Month, TargetPct string
	TrendPickYear, OnTrack, Behind, TargetBy                                        string

	LinesTitle, LinesAtHead, Line, Unit, Project, Events, TooMany                 string
	When, Recorded, Who, Document, Amount, Running, Type, Back, MoreEvents, Payee string

	Error, ErrorHint string

	Today, PeriodEnds, LaterNote, DatePattern string
	// Effects names what an event did to a line, in the legend of its colours.
	Effects map[effect]string
	// UnitsView labels the view of units (units=recorded or current) and its choices.
	UnitsView, UnitsRecorded, UnitsCurrent string
	// The commitments panel (contracts and advances), shown once the ledger holds a contract.
	Commitments, CommitmentsHelp, Committed, CommitmentRate, AdvancesOut, OldestAdvance, AdvancesOver90 string

	// The officers' Excel import.
	Import, ImportHelp, ImportTemplate, ImportFile, ImportSubmit, ImportDone, ImportRefused string
	ImportBadForm, ImportEmpty, ImportUnknown, Row, Kind, Voucher                           string
	// Deadlines (docs/domain.md, rule 7): lapsing capital and the lines whose deadline is near.
	Lapsing, LapsingHelp, NearDeadlines, NearDeadlinesHelp, Deadline, DaysLeft, LegalBasis string

	// EventTypes names the event types shown on a line.
	EventTypes map[ledger.EventType]string
	// Levels names unit levels as the heading of a by-unit ranking.
	Levels map[ledger.Level]string
}

var dashVI = &dashWords{
	Lang: report.LangVI, OtherLang: report.LangEN, OtherLangName: "English",
	Title: "Tiến độ giải ngân", Overview: "Tổng quan", Trend: "Diễn biến", Lines: "Dòng vốn",
	LineEvents: "Các sự kiện của dòng vốn", SignIn: "Đăng nhập", SignOut: "Đăng xuất",
	SignedInAs: "Đăng nhập với tư cách", Token: "Mã truy cập",
	TokenHelp:  "Dán mã truy cập do quản trị viên cấp. Mã được giữ trong cookie của phiên này, không bao giờ nằm trong địa chỉ trang.",
	BadToken:   "Mã truy cập không hợp lệ, đã bị thu hồi hoặc đã hết hạn.",
	SignInNote: "Phạm vi xem do mã truy cập quyết định: lãnh đạo một huyện chỉ thấy huyện đó.",
	Everything: "Toàn bộ sổ cái", Scope: "Phạm vi",
	AsOf: "Tính đến hết ngày", NoLimit: "không giới hạn", PlanYear: "Năm kế hoạch", ExecYear: "Năm thực hiện",
	Basis: "Cơ sở", BasisPlan: "Theo năm kế hoạch", BasisExec: "Theo năm thực hiện", Year: "Năm", AllYears: "mọi năm",
	Program: "Chương trình", AllPrograms: "mọi chương trình", Source: "Nguồn vốn", AllSources: "mọi nguồn vốn",
	Apply: "Xem", Print: "In", Live: "Tự cập nhật khi sổ cái có sự kiện mới", LiveOff: "Mất kết nối cập nhật",
	Target: "Mục tiêu (%)",
	Plan:   "Kế hoạch vốn", Disbursed: "Đã giải ngân", Available: "Còn lại", Rate: "Tỷ lệ giải ngân",
	Position: "vị trí sổ cái", HeadHash: "mã băm", ComputedAt: "Số liệu tính tại",
	RatesByUnit: "Tỷ lệ giải ngân theo đơn vị", RatesByProject: "Tỷ lệ giải ngân theo dự án",
	Matrix: "Đơn vị × dự án", MatrixHelp: "Màu theo tỷ lệ giải ngân; ô trống: không có kế hoạch.",
	Counterpart: "Kiểm tra vốn đối ứng", Province: "Tỉnh", Central: "Vốn ngân sách trung ương",
	Required: "Đối ứng tối thiểu", Pass: "Đạt", Yes: "đạt", No: "không đạt", NoRows: "Không có số liệu.",
	Legend: "Chú giải", CounterpartAmt: "Vốn đối ứng", CounterpartRate: "Tỷ lệ đối ứng",
	TrendTitle: "Giải ngân lũy kế so với kế hoạch", TrendCumulative: "Số liệu cuối mỗi tháng",
	TrendTargetNone: "Sổ cái chưa ghi sự kiện mục tiêu nào cho phạm vi này; nhập một tỷ lệ mục tiêu để vẽ điểm mục tiêu tại ngày cuối.",
	TrendTargetLine: "Mục tiêu (tại ngày của nó)", Month: "Tháng", TargetPct: "Mục tiêu",
	TrendPickYear: "Sổ cái có mục tiêu giải ngân; chọn một năm kế hoạch để xem chúng, mỗi mục tiêu là một điểm tại ngày của nó.",
	OnTrack:       "đúng tiến độ", Behind: "chậm so với mục tiêu", TargetBy: "Mục tiêu giải ngân",
	LinesTitle: "Các dòng vốn", LinesAtHead: "Số dư tại đầu sổ cái (không áp dụng ngày tính đến)",
	Line: "Dòng vốn", Unit: "Đơn vị", Project: "Dự án", Events: "Sự kiện",
	TooMany: "Chỉ hiện một phần; thu hẹp bộ lọc để xem hết.",
	When:    "Ngày hiệu lực", Recorded: "Ghi sổ lúc", Who: "Người ghi", Document: "Chứng từ / quyết định",
	Amount: "Số tiền", Running: "Còn lại sau sự kiện", Type: "Loại", Back: "Quay lại", MoreEvents: "Xem tiếp",
	Lapsing: "Vốn quá hạn giải ngân", LapsingHelp: "Vốn còn lại trên các dòng đã hết thời hạn giải ngân, chờ hủy dự toán.",
	NearDeadlines: "Sắp hết thời hạn giải ngân", NearDeadlinesHelp: "Các dòng còn vốn lớn nhất có thời hạn giải ngân trong 90 ngày tới.",
	Deadline: "Thời hạn", DaysLeft: "Còn (ngày)", LegalBasis: "Căn cứ",
	Payee: "Đơn vị nhận",
	Error: "Không thể hiển thị trang", ErrorHint: "Kiểm tra bộ lọc rồi thử lại.",
	Effects: map[effect]string{effectPlanUp: "tăng vốn", effectPlanDown: "giảm vốn", effectSpent: "giải ngân",
		effectReturned: "thu hồi", effectCarried: "chuyển nguồn", effectSettled: "thanh toán tạm ứng"},
	DatePattern: "dd/mm/yyyy", Today: "Hôm nay", PeriodEnds: "Kỳ báo cáo", LaterNote: "Sự kiện in nhạt có ngày hiệu lực sau ngày tính đến: chưa tính vào số liệu trên.",
	UnitsView: "Đơn vị hành chính", UnitsRecorded: "như đã ghi sổ (đơn vị cũ)", UnitsCurrent: "đơn vị hiện hành (quy đổi về đơn vị kế thừa)",
	Commitments:     "Cam kết chi và dư ứng",
	CommitmentsHelp: "Vốn chưa ký hợp đồng là dấu hiệu sớm nhất của giải ngân chậm; dư ứng tính đến ngày báo cáo.",
	Committed:       "Đã cam kết (hợp đồng)", CommitmentRate: "Tỷ lệ cam kết", AdvancesOut: "Dư ứng",
	OldestAdvance: "Tạm ứng lâu nhất (ngày)", AdvancesOver90: "Dư ứng quá 90 ngày",
	Import:         "Nhập giải ngân từ Excel",
	ImportHelp:     "Tải mẫu, điền mỗi dòng một khoản giải ngân rồi tải lên: ghi tất cả các dòng hoặc không ghi dòng nào.",
	ImportTemplate: "Tải mẫu Excel", ImportFile: "Tệp Excel đã điền", ImportSubmit: "Tải lên và ghi sổ",
	ImportDone: "Đã ghi sổ các khoản giải ngân dưới đây.", ImportRefused: "Không ghi dòng nào:",
	ImportBadForm: "Hãy chọn tệp Excel đã điền (tối đa 32 MiB).", ImportEmpty: "Tệp không có dòng giải ngân nào.",
	ImportUnknown: "Chưa rõ kết quả ghi sổ; tải lên lại cùng tệp để biết.", Row: "Dòng", Kind: "Loại", Voucher: "Chứng từ",
	EventTypes: map[ledger.EventType]string{
		ledger.TypeAllocated: "Giao vốn", ledger.TypeTransferred: "Điều chuyển",
		ledger.TypeCarriedOver: "Chuyển nguồn", ledger.TypeCancelled: "Hủy dự toán",
		ledger.TypeDisbursed: "Giải ngân", ledger.TypeAdvanceSettled: "Thanh toán tạm ứng",
		ledger.TypeReversed:          "Thu hồi / đảo",
		ledger.TypeProgramRegistered: "Đăng ký chương trình", ledger.TypeProjectRegistered: "Đăng ký dự án",
		ledger.TypeUnitRegistered: "Đăng ký đơn vị", ledger.TypeSourceRegistered: "Đăng ký nguồn vốn",
		ledger.TypeTokenCreated: "Cấp mã truy cập", ledger.TypeTokenRevoked: "Thu hồi mã truy cập",
		ledger.TypeUnitReorganized: "Sắp xếp đơn vị hành chính",
		ledger.TypeContractSigned:  "Ký hợp đồng", ledger.TypeContractAmended: "Điều chỉnh hợp đồng",
		ledger.TypeAdvanceLimitSet: "Mức tạm ứng tối đa", ledger.TypeReconciliationCompleted: "Đối chiếu với Kho bạc",
		ledger.TypeDeadlineSet: "Thời hạn giải ngân", ledger.TypeDeadlineExtended: "Kéo dài thời gian giải ngân",
		ledger.TypeTargetSet: "Chỉ tiêu giải ngân",
	},
	Levels: map[ledger.Level]string{
		"": "Tỉnh", ledger.LevelProvince: "Huyện", ledger.LevelDistrict: "Xã", ledger.LevelCommune: "Xã",
	},
}

var dashEN = &dashWords{
	Lang: report.LangEN, OtherLang: report.LangVI, OtherLangName: "Tiếng Việt",
	Title: "Disbursement progress", Overview: "Overview", Trend: "Trend", Lines: "Budget lines",
	LineEvents: "Events of the budget line", SignIn: "Sign in", SignOut: "Sign out",
	SignedInAs: "Signed in as", Token: "Access token",
	TokenHelp:  "Paste the access token your administrator gave you. It is kept in this session's cookie, never in a page address.",
	BadToken:   "The access token is unknown, revoked or expired.",
	SignInNote: "The token decides what you see: a district's leader sees that district only.",
	Everything: "The whole ledger", Scope: "Scope",
	AsOf: "As of", NoLimit: "no limit", PlanYear: "Plan year", ExecYear: "Execution year",
	Basis: "Basis", BasisPlan: "By plan year", BasisExec: "By execution year", Year: "Year", AllYears: "every year",
	Program: "Program", AllPrograms: "every program", Source: "Capital source", AllSources: "every source",
	Apply: "Show", Print: "Print", Live: "Updates itself when the ledger records an event", LiveOff: "Live updates lost",
	Target: "Target (%)",
	Plan:   "Plan", Disbursed: "Disbursed", Available: "Available", Rate: "Disbursement rate",
	Position: "ledger position", HeadHash: "hash", ComputedAt: "Computed at",
	RatesByUnit: "Disbursement rate by unit", RatesByProject: "Disbursement rate by project",
	Matrix: "Unit × project", MatrixHelp: "Coloured by disbursement rate; empty: no plan.",
	Counterpart: "Counterpart funds check", Province: "Province", Central: "Central budget",
	Required: "Required", Pass: "Pass", Yes: "yes", No: "NO", NoRows: "No figures.",
	Legend: "Legend", CounterpartAmt: "Counterpart funds", CounterpartRate: "Counterpart ratio",
	TrendTitle: "Cumulative disbursement against plan", TrendCumulative: "Figures at each month end",
	TrendTargetNone: "The ledger records no target for this scope; enter a target rate to draw a target point at the last date.",
	TrendTargetLine: "Target (at its date)", Month: "Month", TargetPct: "Target",
	TrendPickYear: "The ledger records disbursement targets; choose a plan year to see them, each a point at its date.",
	OnTrack:       "on track", Behind: "behind target", TargetBy: "Disbursement target",
	LinesTitle: "Budget lines", LinesAtHead: "Balances at the ledger head (the as-of date does not apply)",
	Line: "Budget line", Unit: "Unit", Project: "Project", Events: "Events",
	TooMany: "Only part is shown; narrow the filters to see everything.",
	When:    "Effective date", Recorded: "Recorded at", Who: "Recorded by", Document: "Voucher / decision",
	Amount: "Amount", Running: "Available after", Type: "Type", Back: "Back", MoreEvents: "More",
	Lapsing: "Capital past its deadline", LapsingHelp: "Available on lines whose disbursement deadline has passed, until it is cancelled.",
	NearDeadlines: "Disbursement deadlines coming up", NearDeadlinesHelp: "The biggest balances whose disbursement deadline is within the next 90 days.",
	Deadline: "Deadline", DaysLeft: "Days left", LegalBasis: "Legal basis",
	Payee: "Payee",
	Error: "The page cannot be shown", ErrorHint: "Check the filters and try again.",
	Effects: map[effect]string{effectPlanUp: "capital in", effectPlanDown: "capital out", effectSpent: "disbursed",
		effectReturned: "returned", effectCarried: "carried over", effectSettled: "advance settled"},
	DatePattern: "yyyy-mm-dd", Today: "Today", PeriodEnds: "Report dates", LaterNote: "Events in grey take effect after the as-of date: the figures above leave them out.",
	UnitsView: "Units", UnitsRecorded: "as recorded (former units)", UnitsCurrent: "current units (restated onto successors)",
	Commitments:     "Commitments and outstanding advances",
	CommitmentsHelp: "Capital not yet under contract is the earliest warning of slow disbursement; advances are outstanding on the as-of date.",
	Committed:       "Committed (contracts)", CommitmentRate: "Commitment rate", AdvancesOut: "Advances outstanding",
	OldestAdvance: "Oldest advance (days)", AdvancesOver90: "Advances over 90 days",
	Import:         "Disbursements from Excel",
	ImportHelp:     "Download the template, fill one disbursement per row and upload it: every row is recorded, or none.",
	ImportTemplate: "Download the Excel template", ImportFile: "The filled workbook", ImportSubmit: "Upload and record",
	ImportDone: "The disbursements below are recorded.", ImportRefused: "Nothing was recorded:",
	ImportBadForm: "Choose the filled Excel workbook (at most 32 MiB).", ImportEmpty: "The workbook has no disbursement rows.",
	ImportUnknown: "The outcome is unknown; upload the same workbook again to find out.", Row: "Row", Kind: "Kind", Voucher: "Voucher",
	EventTypes: map[ledger.EventType]string{
		ledger.TypeAllocated: "Allocation", ledger.TypeTransferred: "Transfer",
		ledger.TypeCarriedOver: "Carry-over", ledger.TypeCancelled: "Cancellation",
		ledger.TypeDisbursed: "Disbursement", ledger.TypeAdvanceSettled: "Advance settled",
		ledger.TypeReversed:          "Reversal",
		ledger.TypeProgramRegistered: "Program registered", ledger.TypeProjectRegistered: "Project registered",
		ledger.TypeUnitRegistered: "Unit registered", ledger.TypeSourceRegistered: "Source registered",
		ledger.TypeTokenCreated: "Access token created", ledger.TypeTokenRevoked: "Access token revoked",
		ledger.TypeUnitReorganized: "Units reorganised",
		ledger.TypeContractSigned:  "Contract signed", ledger.TypeContractAmended: "Contract amended",
		ledger.TypeAdvanceLimitSet: "Advance limit set", ledger.TypeReconciliationCompleted: "Treasury reconciliation",
		ledger.TypeDeadlineSet: "Disbursement deadline", ledger.TypeDeadlineExtended: "Deadline extended",
		ledger.TypeTargetSet: "Disbursement target",
	},
	Levels: map[ledger.Level]string{
		"": "Province", ledger.LevelProvince: "District", ledger.LevelDistrict: "Commune", ledger.LevelCommune: "Commune",
	},
}

// wordsOf returns the words of lang (report.LangVI for anything else).
func wordsOf(lang report.Lang) *dashWords {
	if lang == report.LangEN {
		return dashEN
	}
	return dashVI
}

// formatCount writes a count with the language's thousands separator.
func formatCount(n int64, lang report.Lang) string { return report.FormatDong(n, lang) }

// parsePercent reads a target such as "95", "95.5" or "95,5" (either decimal mark) as
// hundredths of a percent, the unit of projections.Rate; ok is false for anything else or
// a value outside 0..targetPercentMax.
func parsePercent(s string) (projections.Rate, bool) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	whole, frac, _ := strings.Cut(strings.Replace(s, ",", ".", 1), ".")
	if whole == "" || len(whole) > 3 || len(frac) > 2 {
		return 0, false
	}
	w, err := strconv.Atoi(whole)
	if err != nil || w < 0 {
		return 0, false
	}
	f := 0
	if frac != "" {
		if f, err = strconv.Atoi(frac); err != nil || f < 0 {
			return 0, false
		}
		if len(frac) == 1 {
			f *= 10
		}
	}
	v := projections.Rate(w*100 + f)
	if v > targetPercentMax*100 {
		return 0, false
	}
	return v, true
}
