package ledger

import (
	"errors"

	"github.com/vnntp/ledger/ledger/snapcodec"
)

// EncodeSnapshot appends the whole state to e, deterministically: two States folded
// from the same events encode to the same bytes.
func (s *State) EncodeSnapshot(e *snapcodec.Encoder) {
	e.Section("ledger.State")
	// TODO(snapshot codec): every field.
}

// DecodeSnapshot makes s, a zero State, the state EncodeSnapshot wrote. It returns
// d's first error; s is unusable after an error.
func (s *State) DecodeSnapshot(d *snapcodec.Decoder) error {
	d.Section("ledger.State")
	if d.Err() == nil {
		return errors.New("ledger.State snapshot decoding is not written yet")
	}
	return d.Err()
}
