package ledger

// Targets are dated data like deadlines: `target.set` records a progress target for a
// scope — a unit subtree (or every unit), a program, a plan year, optionally a source —
// as a disbursement rate to reach by a date, with the document that set it (chỉ tiêu,
// kế hoạch giải ngân). Several targets of one scope with different dates make a
// schedule; a later target of the same scope and date revises it. Reports carry the
// target in force; the dashboard draws each at its date. A target moves no money.

// TargetRateMax is the highest target rate, in hundredths of a percent: 100 %.
const TargetRateMax = 10000

// Target is the payload of target.set.
type Target struct {
	Unit     string `json:"unit,omitempty"` // a unit subtree; "" every unit
	Program  string `json:"program"`
	Year     int    `json:"year"`             // the plan year whose capital it measures
	Source   string `json:"source,omitempty"` // one source; "" every source
	RateBP   int64  `json:"rate_bp"`          // hundredths of a percent: 9500 is 95.00 %
	By       Date   `json:"by"`
	Document string `json:"document"`
}

// SetTarget records a progress target. Admins record it.
type SetTarget struct {
	Unit          string `json:"unit"`
	Program       string `json:"program"`
	Year          int    `json:"year"`
	Source        string `json:"source"`
	RateBP        int64  `json:"rate_bp"`
	By            Date   `json:"by"`
	Document      string `json:"document"`
	EffectiveDate Date   `json:"effective_date"`
}

func (c *SetTarget) Validate() error {
	if err := validateScope(c.Program, c.Year, "", c.Source, c.Unit); err != nil {
		return err
	}
	if c.RateBP <= 0 || c.RateBP > TargetRateMax {
		return invalid("rate_bp", "must be a rate in hundredths of a percent, 1 to %d (100 %%), got %d", TargetRateMax, c.RateBP)
	}
	if err := checkDate(c.By, "by"); err != nil {
		return err
	}
	if c.By < MakeDate(c.Year, 1, 1) {
		return invalid("by", "must not be before plan year %d begins, got %s", c.Year, c.By)
	}
	return firstErr(checkText(c.Document, "document", true), checkDate(c.EffectiveDate, "effective_date"))
}

// decideTarget checks a SetTarget against the catalog and returns the event's data.
func (s *State) decideTarget(cmd *SetTarget) (EventType, Date, EventData, error) {
	c := &s.Catalog
	switch {
	case c.Programs[cmd.Program] == nil:
		return "", 0, EventData{}, unknownRef("program", "no program %q", cmd.Program)
	case cmd.Source != "" && c.Sources[cmd.Source] == nil:
		return "", 0, EventData{}, unknownRef("source", "no capital source %q", cmd.Source)
	case cmd.Unit != "" && c.Units[cmd.Unit] == nil:
		return "", 0, EventData{}, unknownRef("unit", "no administrative unit %q", cmd.Unit)
	}
	t := Target{Unit: cmd.Unit, Program: cmd.Program, Year: cmd.Year, Source: cmd.Source, RateBP: cmd.RateBP, By: cmd.By,
		Document: cmd.Document}
	return TypeTargetSet, cmd.EffectiveDate, EventData{Target: &t}, nil
}
