package projections

import (
	"errors"

	"github.com/vnntp/ledger/ledger/snapcodec"
)

// EncodeSnapshot appends the projection to e, deterministically, under its read lock.
func (b *Balances) EncodeSnapshot(e *snapcodec.Encoder) {
	e.Section("projections.Balances")
	// TODO(snapshot codec)
}

// DecodeSnapshot makes b, a zero Balances not yet in use, the projection EncodeSnapshot
// wrote, its Position the snapshot's.
func (b *Balances) DecodeSnapshot(d *snapcodec.Decoder) error {
	d.Section("projections.Balances")
	if d.Err() == nil {
		return errors.New("projections.Balances snapshot decoding is not written yet")
	}
	return d.Err()
}

// EncodeSnapshot appends the projection to e, deterministically, under its read lock.
func (p *Progress) EncodeSnapshot(e *snapcodec.Encoder) {
	e.Section("projections.Progress")
	// TODO(snapshot codec)
}

// DecodeSnapshot makes p, a zero Progress not yet in use, the projection EncodeSnapshot
// wrote, its Position the snapshot's.
func (p *Progress) DecodeSnapshot(d *snapcodec.Decoder) error {
	d.Section("projections.Progress")
	if d.Err() == nil {
		return errors.New("projections.Progress snapshot decoding is not written yet")
	}
	return d.Err()
}
