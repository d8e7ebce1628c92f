package checker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// problemsShown bounds how many problems of one kind a Report lists (it counts them all).
const problemsShown = 10

// Report is what Check found in the store.
type Report struct {
	Events   int64 // events in the store
	Keyless  int64 // events recorded without an idempotency key (not by this checker)
	Access   int64 // access events (token created, revoked): the server's own records
	Acked    int   // requests acknowledged
	Failed   int   // requests refused with a 4xx
	Unknown  int   // requests whose outcome the client never learnt
	Lost     int   // acknowledged events missing from the store
	Dup      int   // idempotency keys stored more than once
	Extra    int   // events stored for a key the checker never sent or saw refused
	Problems []string
}

// OK reports whether the store passed every check.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Err returns nil when the store passed, else an error listing the problems.
func (r *Report) Err() error {
	if r.OK() {
		return nil
	}
	return errors.New("checker: " + strings.Join(r.Problems, "; "))
}

func (r *Report) String() string {
	return fmt.Sprintf("%d events (%d without key); requests: %d acknowledged, %d failed, %d unknown; lost %d, duplicated %d, unexpected %d; %d problems",
		r.Events, r.Keyless, r.Acked, r.Failed, r.Unknown, r.Lost, r.Dup, r.Extra, len(r.Problems))
}

// problem adds a finding, keeping at most problemsShown of each kind.
func (r *Report) problem(kind string, counts map[string]int, format string, args ...any) {
	counts[kind]++
	if counts[kind] <= problemsShown {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	} else if counts[kind] == problemsShown+1 {
		r.Problems = append(r.Problems, kind+": more not shown")
	}
}

// sums is the checker's own fold of one line, independent of ledger.State.
// It folds the postings of each event (ledger.Postings, the one definition of what an
// event does) by summing gross flows and available deltas itself.
type sums struct {
	flows     [ledger.FlowCount]int64 // gross amounts by flow
	available int64                   // Σ available deltas
}

// Check reads the whole store and checks it against the recorded requests:
//
//   - positions are 1..N without gap and every prev_hash/hash links (ledger.ChainHash);
//   - every event id an acknowledgement named is stored, under the request's key (no lost
//     acknowledged event);
//   - no idempotency key is stored twice (no duplicate), and no event carries a key the
//     checker never sent or saw refused with a 4xx (no unexpected event); events without
//     a key are counted in Report.Keyless for the caller to judge;
//   - per line, folding the amounts of the events itself: available = allocated +
//     transferred in − transferred out − cancelled − disbursed + reversed ≥ 0 after every
//     event that touches the line (docs/domain.md, rule 2);
//   - in total over all lines, Σ transferred in = Σ transferred out (a transfer moves
//     money, never makes it) and Σ available = Σ allocated − Σ cancelled − (Σ disbursed −
//     Σ reversed); and for every line the ledger.LineBalance of a ledger.State fold of
//     the same events has the same Allocated, TransferredIn, TransferredOut, Cancelled,
//     Disbursed, Reversed and Available() as the checker's own fold.
//
// It returns the report and the folded state (for CompareLive), or an error when the
// store cannot be read.
func Check(ctx context.Context, st *pgstore.Store, reqs []*Request) (*Report, *ledger.State, error) {
	rep := &Report{}
	counts := map[string]int{}
	byKey := map[string]*Request{}
	for _, r := range reqs {
		byKey[r.Key] = r
		switch o, _, _ := r.Outcome(); o {
		case Acked:
			rep.Acked++
		case Failed:
			rep.Failed++
		default:
			rep.Unknown++
		}
	}
	keyOf := map[string]string{} // event id → idempotency key
	stored := map[string]int{}   // key → events stored under it
	lines := map[ledger.Line]*sums{}
	line := func(l *ledger.Line) *sums {
		s := lines[*l]
		if s == nil {
			s = &sums{}
			lines[*l] = s
		}
		return s
	}
	state := &ledger.State{}
	stateBroken := false
	var prev [32]byte
	var buf []byte
	var pos int64
	var postings [ledger.PostingsMax]ledger.Posting
	err := st.ReadFrom(ctx, 0, func(e *ledger.Event) error {
		pos++
		rep.Events++
		if e.Position != pos {
			rep.problem("position", counts, "position %d where %d was expected (gap or disorder)", e.Position, pos)
			pos = e.Position
		}
		if e.PrevHash != prev {
			rep.problem("chain", counts, "position %d: prev_hash does not link to the previous event", e.Position)
		}
		var h [32]byte
		h, buf = ledger.ChainHash(buf, e.PrevHash, e)
		if h != e.Hash {
			rep.problem("chain", counts, "position %d: stored hash differs from ChainHash", e.Position)
		}
		prev = e.Hash
		id := e.ID.String()
		k := e.Meta.IdempotencyKey
		keyOf[id] = k
		switch r := byKey[k]; {
		case e.Type == ledger.TypeTokenCreated || e.Type == ledger.TypeTokenRevoked:
			// Access events are the server's record of its tokens, under keys of its
			// own, not requests of the workload.
			rep.Access++
		case k == "":
			rep.Keyless++
		case r == nil:
			rep.Extra++
			rep.problem("unexpected", counts, "position %d: key %q was never sent", e.Position, k)
		default:
			if o, _, _ := r.Outcome(); o == Failed {
				rep.Extra++
				rep.problem("unexpected", counts, "position %d: key %q was refused, yet stored", e.Position, k)
			}
		}
		if k != "" {
			stored[k]++
		}
		for _, p := range e.Postings(postings[:0]) {
			s := line(&p.Line)
			s.flows[p.Flow] += p.Amount
			s.available += p.AvailableDelta()
			if s.available < 0 {
				rep.problem("negative", counts, "position %d: line %s available %d < 0", e.Position, p.Line.ID(), s.available)
			}
		}
		if !stateBroken {
			stateBroken = !applySafely(state, e)
			if stateBroken {
				rep.problem("fold", counts, "position %d: ledger.State refused the event (invariant)", e.Position)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read the store: %w", err)
	}
	for k, n := range stored {
		if r := byKey[k]; r != nil && n > r.commands() {
			rep.Dup++
			rep.problem("duplicate", counts, "key %q: %d events stored for a request of %d commands", k, n, r.commands())
		}
	}
	for _, r := range reqs {
		o, _, ids := r.Outcome()
		if o != Acked {
			continue
		}
		for _, id := range ids {
			k, ok := keyOf[id]
			switch {
			case !ok:
				rep.Lost++
				rep.problem("lost", counts, "acknowledged event %s (key %q) is not in the store", id, r.Key)
			case k != r.Key:
				rep.problem("lost", counts, "acknowledged event %s is stored under key %q, not %q", id, k, r.Key)
			}
		}
	}
	var tot sums
	for l, s := range lines {
		for f := range tot.flows {
			tot.flows[f] += s.flows[f]
		}
		tot.available += s.available
		if stateBroken {
			continue
		}
		b := state.Line(l)
		if b == nil || b.Flows != s.flows || b.Available() != s.available {
			rep.problem("fold", counts, "line %s: ledger.State %+v differs from the checker's fold %+v", l.ID(), b, *s)
		}
	}
	if in, out := tot.flows[ledger.FlowTransferIn], tot.flows[ledger.FlowTransferOut]; in != out {
		rep.problem("total", counts, "Σ transferred in %d ≠ Σ transferred out %d", in, out)
	}
	f := &tot.flows
	if want := f[ledger.FlowAllocation] - f[ledger.FlowCancellation] - (f[ledger.FlowDisbursement] - f[ledger.FlowReversal]); tot.available != want {
		rep.problem("total", counts, "Σ available %d ≠ Σ allocated − Σ cancelled − Σ net disbursed = %d", tot.available, want)
	}
	if !stateBroken && state.LineCount() != len(lines) {
		rep.problem("fold", counts, "ledger.State has %d lines, the checker's fold %d", state.LineCount(), len(lines))
	}
	return rep, state, nil
}

// applySafely folds e into s and reports false when the fold's invariant panicked: the
// checker reports a broken store, it does not crash on one.
func applySafely(s *ledger.State, e *ledger.Event) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	s.Apply(e)
	return true
}

// CheckAll opens the store at dbURL, runs Check on rec's requests and, when c is not nil,
// CompareLive against the server behind c; the live differences join the report's
// problems.
func CheckAll(ctx context.Context, dbURL string, c *Client, rec *Recorder) (*Report, error) {
	st, err := pgstore.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	rep, state, err := Check(ctx, st, rec.Requests())
	if err != nil {
		return nil, err
	}
	if c != nil {
		diffs, err := CompareLive(ctx, c, st, state)
		if err != nil {
			return nil, err
		}
		rep.Problems = append(rep.Problems, diffs...)
	}
	return rep, nil
}
