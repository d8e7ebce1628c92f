package demo

import (
	"strconv"
	"time"

	"github.com/vnntp/ledger/ledger"
)

// c12DeadlineSteps records the disbursement deadlines of C1's and C2's plan years
// (2022–2024) as the law and the National Assembly set them, so that the demo shows
// capital that lapses. They come last, after C4: recorded later, with their effective
// dates in the past, they leave every C1/C2 event valid (each was recorded before its
// line had a deadline, and every one is dated within it anyway), keep the positions and
// hashes of C1 and C2, and change no published figure — no C1 or C2 report date is past
// a deadline.
func c12DeadlineSteps() []Step {
	law := "Luật Đầu tư công 39/2019/QH14, Điều 68 (đến 31/01 năm sau)"
	// [filled]: the extensions of national-target-program capital by the National
	// Assembly (Resolutions 104/2023/QH15, 111/2024/QH15), recorded as in force from the
	// start of the year after the plan year, so that carried-over capital stays usable.
	extension := "Nghị quyết 104/2023/QH15 và 111/2024/QH15 của Quốc hội (kéo dài thời gian giải ngân vốn chương trình mục tiêu quốc gia đến 31/12/2024)"
	var steps []Step
	for _, year := range []int{2022, 2023, 2024} {
		steps = append(steps, Step{Name: "deadline/" + strconv.Itoa(year), Command: &ledger.SetDeadline{Program: program, Year: year,
			Until: date(year+1, time.January, 31), LegalBasis: law, EffectiveDate: date(year, time.January, 1)}})
	}
	for _, year := range []int{2022, 2023} {
		steps = append(steps, Step{Name: "deadline/" + strconv.Itoa(year) + "/extended", Command: &ledger.ExtendDeadline{Program: program,
			Year: year, Until: date(2024, time.December, 31), LegalBasis: extension, EffectiveDate: date(year+1, time.January, 2)}})
	}
	return steps
}
