package api

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"
	"github.com/vnntp/ledger/ledger"
)

// memStore is a TEST DOUBLE for the handler tests of this package only: a minimal
// in-memory ledger.Store and EventReader, so the handlers run against a real
// *ledger.Sequencer without a database. It is not an event store: the real one is
// ledger/pgstore, and the integration tests against PostgreSQL come from the lead
// (cmd/ledger). It keeps only what the sequencer and the handlers need.
type memStore struct {
	mu     sync.Mutex
	events []*ledger.Event
	keys   []ledger.KeyRecord
	// failAppend, when set, makes Append fail without storing anything (a store that is
	// down), and failRead makes the readers fail.
	failAppend error
	failRead   error
}

var _ ledger.Store = (*memStore)(nil)
var _ EventReader = (*memStore)(nil)

func (m *memStore) Append(_ context.Context, events []*ledger.Event, keys []ledger.KeyRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAppend != nil {
		return m.failAppend
	}
	for i, e := range events {
		if e.Position != int64(len(m.events)+i+1) {
			return fmt.Errorf("memStore: position %d does not follow %d", e.Position, len(m.events)+i)
		}
	}
	m.events = append(m.events, events...)
	m.keys = append(m.keys, keys...)
	return nil
}

func (m *memStore) snapshot() ([]*ledger.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failRead != nil {
		return nil, m.failRead
	}
	return m.events[:len(m.events):len(m.events)], nil
}

func (m *memStore) ReadFrom(_ context.Context, after int64, fn func(*ledger.Event) error) error {
	evs, err := m.snapshot()
	if err != nil {
		return err
	}
	for _, e := range evs {
		if e.Position > after {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memStore) ReadKeys(_ context.Context, after int64, fn func(ledger.KeyRecord) error) error {
	m.mu.Lock()
	keys := m.keys[:len(m.keys):len(m.keys)]
	m.mu.Unlock()
	for _, k := range keys {
		if k.First > after {
			if err := fn(k); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memStore) Events(_ context.Context, after int64, limit int) ([]*ledger.Event, error) {
	evs, err := m.snapshot()
	if err != nil {
		return nil, err
	}
	var out []*ledger.Event
	for _, e := range evs {
		if e.Position > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memStore) EventsRange(_ context.Context, first, last int64) ([]*ledger.Event, error) {
	evs, err := m.snapshot()
	if err != nil {
		return nil, err
	}
	var out []*ledger.Event
	for _, e := range evs {
		if e.Position >= first && e.Position <= last {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memStore) Event(_ context.Context, id uuid.UUID) (*ledger.Event, error) {
	evs, err := m.snapshot()
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		if e.ID == id {
			return e, nil
		}
	}
	return nil, ledger.ErrNotFound
}

func (m *memStore) LineEvents(_ context.Context, lineID string, after int64, limit int) ([]*ledger.Event, error) {
	evs, err := m.snapshot()
	if err != nil {
		return nil, err
	}
	var out []*ledger.Event
	for _, e := range evs {
		d := &e.Data
		touches := d.Line != nil && d.Line.ID() == lineID || d.From != nil && d.From.ID() == lineID ||
			d.To != nil && d.To.ID() == lineID
		if touches && e.Position > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

var errStoreDown = errors.New("memStore: connection refused (simulated)")
