package checker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
	"github.com/vnntp/ledger/projections"
)

// Limits of the comparison of a live server with a rebuild.
const (
	linesPage   = 1000 // api.LinesPageMax
	rebuildFeed = 1024 // events per Progress.Apply, like the sequencer's sync chunk
)

// progressGroupings are the reports compared: the leaders' district × project report,
// the national one by province and source, and one by plan year.
var progressGroupings = [][]projections.Dimension{
	{projections.GroupDistrict, projections.GroupProject},
	{projections.GroupProvince, projections.GroupSource},
	{projections.GroupYear},
}

// CompareLive checks that the server behind c shows what a rebuild of the store shows:
// GET /v1/head equals the store's head; every line of GET /v1/lines (all pages) has the
// balances of state, a fold of the same store (from Check), and no line is missing; and
// GET /v1/progress for every program, at the head position and grouped as in
// progressGroupings, equals projections.Progress rebuilt from the store, field for field.
// The server must be idle (no write in flight). It returns the differences found, or an
// error when a request fails.
func CompareLive(ctx context.Context, c *Client, st *pgstore.Store, state *ledger.State) ([]string, error) {
	var diffs []string
	var head struct {
		Position int64 `json:"position"`
	}
	if err := c.Get(ctx, "/v1/head", &head); err != nil {
		return nil, err
	}
	if head.Position != state.Head {
		diffs = append(diffs, fmt.Sprintf("server head %d, store head %d", head.Position, state.Head))
	}

	seen := 0
	for after := ""; ; {
		var page struct {
			Lines []struct {
				ID             string `json:"id"`
				Allocated      int64  `json:"allocated"`
				TransferredIn  int64  `json:"transferred_in"`
				TransferredOut int64  `json:"transferred_out"`
				Cancelled      int64  `json:"cancelled"`
				Disbursed      int64  `json:"disbursed"`
				Reversed       int64  `json:"reversed"`
				Available      int64  `json:"available"`
			} `json:"lines"`
			Next *string `json:"next"`
		}
		if err := c.Get(ctx, fmt.Sprintf("/v1/lines?limit=%d&after=%s", linesPage, url.QueryEscape(after)), &page); err != nil {
			return nil, err
		}
		for _, l := range page.Lines {
			seen++
			id, err := ledger.ParseLineID(l.ID)
			if err != nil {
				return nil, fmt.Errorf("GET /v1/lines: line id %q: %w", l.ID, err)
			}
			b := state.Line(id)
			if b == nil || b.Allocated() != l.Allocated || b.TransferredIn() != l.TransferredIn || b.TransferredOut() != l.TransferredOut ||
				b.Cancelled() != l.Cancelled || b.Disbursed() != l.Disbursed || b.Reversed() != l.Reversed || b.Available() != l.Available {
				diffs = append(diffs, fmt.Sprintf("line %s: server %+v, rebuild %+v", l.ID, l, b))
			}
		}
		if page.Next == nil {
			break
		}
		after = *page.Next
	}
	if seen != state.LineCount() {
		diffs = append(diffs, fmt.Sprintf("server shows %d lines, rebuild has %d", seen, state.LineCount()))
	}

	progress, err := Rebuild(ctx, st)
	if err != nil {
		return nil, err
	}
	if state.Head == 0 {
		return diffs, nil
	}
	for program := range state.Catalog.Programs {
		for _, g := range progressGroupings {
			q := projections.Query{Program: program, GroupBy: g, At: state.Head}
			want, err := progress.Query(q)
			if err != nil {
				return nil, fmt.Errorf("rebuilt progress %v: %w", q, err)
			}
			wantJSON, _ := json.Marshal(want)
			var got []byte
			path := fmt.Sprintf("/v1/progress?program=%s&group_by=%s&at=%d", url.QueryEscape(program), projections.FormatDimensions(g), state.Head)
			if err := c.Get(ctx, path, &got); err != nil {
				return nil, err
			}
			var gv, wv any
			if err := json.Unmarshal(got, &gv); err != nil {
				return nil, fmt.Errorf("GET %s: %w", path, err)
			}
			_ = json.Unmarshal(wantJSON, &wv)
			if !reflect.DeepEqual(gv, wv) {
				diffs = append(diffs, fmt.Sprintf("GET %s differs from the rebuild:\nserver  %s\nrebuild %s", path, got, wantJSON))
			}
		}
	}
	return diffs, nil
}

// Rebuild folds the whole store into a fresh progress projection, as a server does at
// start.
func Rebuild(ctx context.Context, st *pgstore.Store) (*projections.Progress, error) {
	p := &projections.Progress{}
	chunk := make([]*ledger.Event, 0, rebuildFeed)
	err := st.ReadFrom(ctx, 0, func(e *ledger.Event) error {
		if chunk = append(chunk, e); len(chunk) == rebuildFeed {
			p.Apply(chunk)
			chunk = make([]*ledger.Event, 0, rebuildFeed)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rebuild progress: %w", err)
	}
	p.Apply(chunk)
	return p, nil
}
