package demo

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/vnntp/ledger/ledger"
)

// Amounts in đồng.
const (
	million = 1_000_000
	// centiBillion is 0.01 tỷ đồng, the precision of the published C1 figures; the C1
	// tables are written in this unit so that they read like the report (760.80 → 76080).
	centiBillion = 10_000_000
)

// loadBatchMax bounds the commands Load sends in one atomic request. Batching keeps the
// load of a few hundred steps to a handful of commits; a bound keeps each request small
// next to the sequencer's own limit (ledger.BatchMaxEvents).
const loadBatchMax = 256

// Report dates of the scenario.
var (
	// C1AsOf is the business date of the published Bắc Kạn figures (478.93 of 760.80 bn).
	C1AsOf = ledger.MakeDate(2024, time.May, 31)
	// C2AsOf is the business date of the Lạng Giang figures (execution year 2023).
	C2AsOf = ledger.MakeDate(2023, time.December, 31)
)

// Step is one request of the scenario: a command, and whether it must be refused.
type Step struct {
	// Name is unique in the scenario; errors and RefStep use it.
	Name    string
	Command ledger.Command
	// WantCode is the error code the step must be refused with; "" means it must succeed.
	WantCode string
	// RefStep names an earlier step whose first event id Load puts into the command's
	// EventID (a settlement or a reversal refers to the disbursement it corrects), or
	// into its Contract (a disbursement or an amendment names its contract).
	RefStep string
}

// Steps returns the whole scenario in order: the catalog, then C1, C2, C3 and C4, then
// the deadlines of C1's and C2's plan years. Each call builds new commands, so a caller
// may change them.
func Steps() []Step {
	steps := append(StepsBeforeC4(), c4DemoSteps()...)
	steps = append(steps, c12DeadlineSteps()...)
	numberVouchers(steps)
	return steps
}

// StepsBeforeC4 returns the scenario up to and including case C3, a prefix of Steps: one
// program, as the tests of C1 to C3 were written for (with the 2026–2035 program of C4,
// a report by project must name its program).
func StepsBeforeC4() []Step {
	steps := append(StepsBeforeC3(), c3Steps()...)
	numberVouchers(steps)
	return steps
}

// StepsBeforeC3 returns the scenario as it was before case C3 (the catalog, C1 and C2),
// a prefix of Steps: the golden reports pin the reports of that history byte for byte.
func StepsBeforeC3() []Step {
	var steps []Step
	steps = append(steps, catalogSteps()...)
	steps = append(steps, c1Steps()...)
	steps = append(steps, c2Steps()...)
	numberVouchers(steps)
	return steps
}

// Load submits every step through submit, in order, and checks each outcome: a step must
// succeed, or be refused with its WantCode. Consecutive steps that must succeed go in
// atomic batches of at most loadBatchMax commands. It fills the EventID of settlements
// and reversals from the results of their RefStep. submit is, for example, a sequencer's
// Submit; an error names the step.
func Load(ctx context.Context, submit func(context.Context, *ledger.Request) (*ledger.Result, error)) error {
	return LoadSteps(ctx, submit, Steps())
}

// LoadSteps submits steps as Load submits the whole scenario.
func LoadSteps(ctx context.Context, submit func(context.Context, *ledger.Request) (*ledger.Result, error), steps []Step) error {
	ids := make(map[string]uuid.UUID, len(steps))
	var pending []int // indexes into steps of the batch being built
	pendingNames := map[string]bool{}

	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		req := &ledger.Request{Atomic: true, Meta: ledger.Metadata{Actor: "demo", Client: "demo"}}
		for _, i := range pending {
			req.Commands = append(req.Commands, steps[i].Command)
		}
		res, err := submit(ctx, req)
		if err == nil && res.Err != nil {
			err = res.Err
			if k, ok := failedIndex(res.Err); ok && k < len(pending) {
				return fmt.Errorf("demo step %q: %w", steps[pending[k]].Name, err)
			}
		}
		if err != nil {
			return fmt.Errorf("demo steps %q..%q: %w", steps[pending[0]].Name, steps[pending[len(pending)-1]].Name, err)
		}
		if len(res.Events) != len(pending) {
			return fmt.Errorf("demo steps %q..%q: %d events recorded for %d commands",
				steps[pending[0]].Name, steps[pending[len(pending)-1]].Name, len(res.Events), len(pending))
		}
		for k, i := range pending {
			ids[steps[i].Name] = res.Events[k].ID
		}
		pending = pending[:0]
		clear(pendingNames)
		return nil
	}

	for i := range steps {
		st := &steps[i]
		if st.RefStep != "" && pendingNames[st.RefStep] {
			if err := flush(); err != nil {
				return err
			}
		}
		if st.RefStep != "" {
			id, ok := ids[st.RefStep]
			if !ok {
				return fmt.Errorf("demo step %q: refers to %q, which recorded no event before it", st.Name, st.RefStep)
			}
			st.Command = WithRef(st.Command, id)
		}
		// A step that must be refused may be refused by Validate itself (a handover to
		// another project): the writer validates it again and answers with the code.
		if err := st.Command.Validate(); err != nil && st.WantCode == "" {
			return fmt.Errorf("demo step %q: %w", st.Name, err)
		}
		if st.WantCode == "" {
			pending = append(pending, i)
			pendingNames[st.Name] = true
			if len(pending) == loadBatchMax {
				if err := flush(); err != nil {
					return err
				}
			}
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		res, err := submit(ctx, &ledger.Request{Commands: []ledger.Command{st.Command}, Meta: ledger.Metadata{Actor: "demo", Client: "demo"}})
		if err != nil {
			return fmt.Errorf("demo step %q: %w", st.Name, err)
		}
		if res.Err == nil {
			return fmt.Errorf("demo step %q: must be refused with %s, but was recorded", st.Name, st.WantCode)
		}
		if got := ledger.Code(res.Err); got != st.WantCode {
			return fmt.Errorf("demo step %q: must be refused with %s, got %s: %w", st.Name, st.WantCode, got, res.Err)
		}
	}
	return flush()
}

// WithRef returns a copy of a command that refers to the event id of its RefStep (a
// settlement, a reversal, a disbursement or amendment naming its contract); other
// commands are returned as they are. Replays of the steps outside Load use it.
func WithRef(c ledger.Command, id uuid.UUID) ledger.Command {
	switch c := c.(type) {
	case *ledger.SettleAdvance:
		cc := *c
		cc.EventID = id
		return &cc
	case *ledger.Reverse:
		cc := *c
		cc.EventID = id
		return &cc
	case *ledger.Disburse: // a disbursement names its contract
		cc := *c
		cc.Contract = id
		return &cc
	case *ledger.AmendContract:
		cc := *c
		cc.Contract = id
		return &cc
	}
	return c
}

// failedIndex reads the index of the refused command of a batch from the error's field,
// which the sequencer prefixes with "commands[i]".
func failedIndex(err error) (int, bool) {
	rest, ok := strings.CutPrefix(ledger.Field(err), "commands[")
	if !ok {
		return 0, false
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return 0, false
	}
	k, convErr := strconv.Atoi(rest[:end])
	return k, convErr == nil
}

// numberVouchers gives every voucher without a number the next number of its treasury
// office and year, in step order. Numbering after the steps are in date order makes the
// numbers of an office grow with their dates, as a real register's do.
func numberVouchers(steps []Step) {
	next := map[string]int{}
	for i := range steps {
		var v *ledger.Voucher
		switch c := steps[i].Command.(type) {
		case *ledger.Disburse:
			v = &c.Voucher
		case *ledger.SettleAdvance:
			v = &c.Voucher
		}
		if v == nil || v.Number != "" {
			continue
		}
		key := v.Office + "/" + strconv.Itoa(v.Date.Year())
		next[key]++
		v.Number = fmt.Sprintf("%d-%05d", v.Date.Year(), next[key])
	}
}

// builder collects the dated steps of one case and what each line holds, so that
// carry-overs can carry exactly what is unspent at the end of a year.
type builder struct {
	prefix string
	steps  []datedStep
	lines  map[ledger.Line]*lineTotals
	order  []ledger.Line // lines in the order first touched, for a deterministic output
}

type datedStep struct {
	date ledger.Date
	step Step
}

// lineTotals is what the builder knows of a line: its plan and its payments by date.
type lineTotals struct {
	plan     int64
	payments []datedAmount
}

type datedAmount struct {
	date   ledger.Date
	amount int64
}

func newBuilder(prefix string) *builder {
	return &builder{prefix: prefix, lines: map[ledger.Line]*lineTotals{}}
}

func (b *builder) line(l ledger.Line) *lineTotals {
	t := b.lines[l]
	if t == nil {
		t = &lineTotals{}
		b.lines[l] = t
		b.order = append(b.order, l)
	}
	return t
}

// add appends a step named name and returns it, to set WantCode or RefStep at once.
func (b *builder) add(d ledger.Date, name string, c ledger.Command) *Step {
	b.steps = append(b.steps, datedStep{date: d, step: Step{Name: name, Command: c}})
	return &b.steps[len(b.steps)-1].step
}

func (b *builder) allocate(l ledger.Line, amount int64, d ledger.Date, decision, note string) {
	b.line(l).plan += amount
	b.add(d, b.prefix+"allocate/"+l.ID(), &ledger.Allocate{Line: l, Amount: amount, EffectiveDate: d, Decision: decision, Note: note})
}

func (b *builder) suballocate(from, to ledger.Line, amount int64, d ledger.Date, decision, note string) {
	b.line(from).plan -= amount
	b.line(to).plan += amount
	b.add(d, b.prefix+"suballocate/"+to.ID(), &ledger.Transfer{From: from, To: to, Amount: amount, Kind: ledger.KindSuballocation,
		EffectiveDate: d, Decision: decision, Note: note})
}

// disburse adds a disbursement step named name (or, when name is "", named after its
// line and date).
func (b *builder) disburse(name string, c *ledger.Disburse) {
	t := b.line(c.Line)
	t.payments = append(t.payments, datedAmount{c.EffectiveDate, c.Amount})
	if name == "" {
		name = b.prefix + "disburse/" + c.EffectiveDate.String() + "/" + c.Line.ID()
	}
	b.add(c.EffectiveDate, name, c)
}

// payment returns a disbursement command; its voucher gets a number from numberVouchers.
func payment(l ledger.Line, amount int64, kind ledger.DisbursementKind, d ledger.Date, payee, office, voucherType, note string) *ledger.Disburse {
	return &ledger.Disburse{Line: l, Amount: amount, Kind: kind, EffectiveDate: d, Payee: payee,
		Voucher: ledger.Voucher{Office: office, Type: voucherType, Date: d}, Note: note}
}

// carryOvers carries the capital of every plan-year-year line still unspent at the end
// of that year into the next year, on date d, each line on its own event.
func (b *builder) carryOvers(year int, d ledger.Date, decision, note string) {
	yearEnd := ledger.MakeDate(year, time.December, 31)
	for _, l := range b.order {
		if l.Year != year {
			continue
		}
		t := b.lines[l]
		unspent := t.plan
		for _, p := range t.payments {
			if p.date <= yearEnd {
				unspent -= p.amount
			}
		}
		if unspent > 0 {
			b.add(d, b.prefix+"carry-over/"+l.ID(), &ledger.CarryOver{Line: l, Amount: unspent, IntoYear: year + 1, EffectiveDate: d,
				Decision: decision, Note: note})
		}
	}
}

// sorted returns the steps in date order; steps of the same date keep the order they
// were added in, so a settlement added after its advance stays after it.
func (b *builder) sorted() []Step {
	sort.SliceStable(b.steps, func(i, j int) bool { return b.steps[i].date < b.steps[j].date })
	out := make([]Step, len(b.steps))
	for i, s := range b.steps {
		out[i] = s.step
	}
	return out
}

func date(y int, m time.Month, d int) ledger.Date { return ledger.MakeDate(y, m, d) }
