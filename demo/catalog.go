package demo

import (
	"time"

	"github.com/vnntp/ledger/ledger"
)

// Program and capital source codes of the scenario.
const (
	program = "GNBV"

	srcCentralInvestment = "NSTW-DTPT"
	srcCentralRecurrent  = "NSTW-SN"
	srcLocalInvestment   = "NSDP-DTPT"
	srcLocalRecurrent    = "NSDP-SN"
	srcOther             = "KHAC"
	// srcCounterpart is the province's counterpart funds (vốn đối ứng), the 22.16 bn of
	// C1 that the 3 % check compares with the 738.64 bn of central capital. It is
	// recurrent because the demo spends it on production support (DA3), next to the
	// central recurrent capital it matches.
	srcCounterpart = "NSDP-DU"
)

// Validity of the catalog entries.
var (
	// programFrom is the date of QĐ 90/QĐ-TTg (18/01/2022), which approved the program and
	// its component projects.
	programFrom = date(2022, time.January, 18)
	// catalogFrom starts the validity of sources and units at the program period
	// (2021–2025); the demo does not model the units' earlier history.
	catalogFrom = date(2021, time.January, 1)
	// unitsTo ends the validity of every demo unit: from 1 July 2025 the district level
	// was abolished and provinces and communes merged (docs/domain.md §3), so the code 24 and
	// these districts may not be used for later events.
	unitsTo = date(2025, time.June, 30)
)

// Unit ids (the GSO codes of the units as they were in 2022–2024).
const (
	unitBacKan     = "06"
	unitBacKanTP   = "058"
	unitPacNam     = "060"
	unitBaBe       = "061"
	unitNganSon    = "062"
	unitBachThong  = "063"
	unitChoDon     = "064"
	unitChoMoi     = "065"
	unitNaRi       = "066"
	unitXuanLa     = "01873"
	unitNghienLoan = "01882"

	unitBacGiang  = "24"
	unitLangGiang = "217"
	unitXuanHuong = "07429"
	unitDuongDuc  = "07408"
	unitHuongSon  = "07387"
)

// units lists the administrative units of the demo, parents first.
var units = []ledger.Unit{
	{ID: unitBacKan, Name: "Tỉnh Bắc Kạn", Level: ledger.LevelProvince},
	{ID: unitBacKanTP, Name: "Thành phố Bắc Kạn", Level: ledger.LevelDistrict, Parent: unitBacKan},
	{ID: unitPacNam, Name: "Huyện Pác Nặm", Level: ledger.LevelDistrict, Parent: unitBacKan},
	{ID: unitBaBe, Name: "Huyện Ba Bể", Level: ledger.LevelDistrict, Parent: unitBacKan},
	{ID: unitNganSon, Name: "Huyện Ngân Sơn", Level: ledger.LevelDistrict, Parent: unitBacKan},
	{ID: unitBachThong, Name: "Huyện Bạch Thông", Level: ledger.LevelDistrict, Parent: unitBacKan},
	{ID: unitChoDon, Name: "Huyện Chợ Đồn", Level: ledger.LevelDistrict, Parent: unitBacKan},
	{ID: unitChoMoi, Name: "Huyện Chợ Mới", Level: ledger.LevelDistrict, Parent: unitBacKan},
	{ID: unitNaRi, Name: "Huyện Na Rì", Level: ledger.LevelDistrict, Parent: unitBacKan},
	{ID: unitXuanLa, Name: "Xã Xuân La", Level: ledger.LevelCommune, Parent: unitPacNam},
	{ID: unitNghienLoan, Name: "Xã Nghiên Loan", Level: ledger.LevelCommune, Parent: unitPacNam},
	{ID: unitBacGiang, Name: "Tỉnh Bắc Giang", Level: ledger.LevelProvince},
	{ID: unitLangGiang, Name: "Huyện Lạng Giang", Level: ledger.LevelDistrict, Parent: unitBacGiang},
	{ID: unitXuanHuong, Name: "Xã Xuân Hương", Level: ledger.LevelCommune, Parent: unitLangGiang},
	{ID: unitDuongDuc, Name: "Xã Dương Đức", Level: ledger.LevelCommune, Parent: unitLangGiang},
	{ID: unitHuongSon, Name: "Xã Hương Sơn", Level: ledger.LevelCommune, Parent: unitLangGiang},
}

// projects is the project tree of QĐ 90/QĐ-TTg, parents first. Names are data: later
// decisions rename projects, the codes stay.
var projects = []ledger.Project{
	{Code: "DA1", Name: "Hỗ trợ đầu tư phát triển hạ tầng kinh tế - xã hội các huyện nghèo, các xã đặc biệt khó khăn vùng bãi ngang, ven biển và hải đảo"},
	{Code: "DA1.TDA1", Parent: "DA1", Name: "Hỗ trợ đầu tư phát triển hạ tầng kinh tế - xã hội các huyện nghèo"},
	{Code: "DA1.TDA2", Parent: "DA1", Name: "Hỗ trợ đầu tư phát triển hạ tầng kinh tế - xã hội các xã đặc biệt khó khăn vùng bãi ngang, ven biển và hải đảo"},
	{Code: "DA2", Name: "Đa dạng hóa sinh kế, phát triển mô hình giảm nghèo"},
	{Code: "DA3", Name: "Hỗ trợ phát triển sản xuất, cải thiện dinh dưỡng"},
	{Code: "DA3.TDA1", Parent: "DA3", Name: "Hỗ trợ phát triển sản xuất trong lĩnh vực nông nghiệp"},
	{Code: "DA3.TDA2", Parent: "DA3", Name: "Cải thiện dinh dưỡng"},
	{Code: "DA4", Name: "Phát triển giáo dục nghề nghiệp, việc làm bền vững"},
	{Code: "DA4.TDA1", Parent: "DA4", Name: "Phát triển giáo dục nghề nghiệp vùng nghèo, vùng khó khăn"},
	{Code: "DA4.TDA2", Parent: "DA4", Name: "Hỗ trợ người lao động đi làm việc ở nước ngoài theo hợp đồng"},
	{Code: "DA4.TDA3", Parent: "DA4", Name: "Hỗ trợ việc làm bền vững"},
	{Code: "DA5", Name: "Hỗ trợ nhà ở cho hộ nghèo, hộ cận nghèo trên địa bàn các huyện nghèo"},
	{Code: "DA6", Name: "Truyền thông và giảm nghèo về thông tin"},
	{Code: "DA6.TDA1", Parent: "DA6", Name: "Giảm nghèo về thông tin"},
	{Code: "DA6.TDA2", Parent: "DA6", Name: "Truyền thông về giảm nghèo đa chiều"},
	{Code: "DA7", Name: "Nâng cao năng lực và giám sát, đánh giá Chương trình"},
	{Code: "DA7.TDA1", Parent: "DA7", Name: "Nâng cao năng lực thực hiện Chương trình"},
	{Code: "DA7.TDA2", Parent: "DA7", Name: "Giám sát, đánh giá"},
}

// sources are the capital sources of docs/domain.md §3 and the counterpart source.
var sources = []ledger.Source{
	{Code: srcCentralInvestment, Name: "Ngân sách trung ương - vốn đầu tư phát triển", Budget: ledger.BudgetCentral, Nature: ledger.NatureInvestment},
	{Code: srcCentralRecurrent, Name: "Ngân sách trung ương - vốn sự nghiệp", Budget: ledger.BudgetCentral, Nature: ledger.NatureRecurrent},
	{Code: srcLocalInvestment, Name: "Ngân sách địa phương - vốn đầu tư phát triển", Budget: ledger.BudgetLocal, Nature: ledger.NatureInvestment},
	{Code: srcLocalRecurrent, Name: "Ngân sách địa phương - vốn sự nghiệp", Budget: ledger.BudgetLocal, Nature: ledger.NatureRecurrent},
	// KHAC must have a nature; mobilised funds of the program pay for production and
	// training, so the demo calls them recurrent. No demo line uses it.
	{Code: srcOther, Name: "Nguồn vốn huy động hợp pháp khác", Budget: ledger.BudgetOther, Nature: ledger.NatureRecurrent},
	{Code: srcCounterpart, Name: "Ngân sách địa phương - vốn đối ứng", Budget: ledger.BudgetLocal, Nature: ledger.NatureRecurrent, Counterpart: true},
}

// catalogSteps registers the program, its projects, the sources and the units.
func catalogSteps() []Step {
	steps := []Step{{Name: "catalog/program/" + program, Command: &ledger.RegisterProgram{Program: ledger.Program{
		Code: program, Name: "Chương trình mục tiêu quốc gia giảm nghèo bền vững giai đoạn 2021-2025",
		Validity: ledger.Validity{ValidFrom: programFrom}}}}}
	for _, p := range projects {
		p.Program = program
		p.ValidFrom = programFrom
		steps = append(steps, Step{Name: "catalog/project/" + p.Code, Command: &ledger.RegisterProject{Project: p}})
	}
	for _, s := range sources {
		s.ValidFrom = catalogFrom
		steps = append(steps, Step{Name: "catalog/source/" + s.Code, Command: &ledger.RegisterSource{Source: s}})
	}
	for _, u := range units {
		u.Code = u.ID // unit ids are the GSO codes of the time
		u.Validity = ledger.Validity{ValidFrom: catalogFrom, ValidTo: unitsTo}
		steps = append(steps, Step{Name: "catalog/unit/" + u.ID, Command: &ledger.RegisterUnit{Unit: u}})
	}
	return steps
}

// unitName returns the registered name of a demo unit.
func unitName(id string) string {
	for _, u := range units {
		if u.ID == id {
			return u.Name
		}
	}
	panic("demo: unknown unit " + id)
}
