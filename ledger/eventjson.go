package ledger

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/google/uuid"
)

// MarshalJSON renders an event as the API, exports and NATS messages show it:
// position, id, type, effective_date, recorded_at, data and metadata exactly as hashed,
// prev_hash and hash in hex.
func (e *Event) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(make([]byte, 0, 512)), nil
}

// AppendJSON appends the JSON form of e to b.
func (e *Event) AppendJSON(b []byte) []byte {
	b = append(b, `{"position":`...)
	b = strconv.AppendInt(b, e.Position, 10)
	b = append(b, `,"id":"`...)
	b = appendUUID(b, e.ID)
	b = append(b, `","type":`...)
	b = appendString(b, string(e.Type))
	b = append(b, `,"effective_date":"`...)
	b = e.EffectiveDate.AppendTo(b)
	b = append(b, `","recorded_at":"`...)
	b = e.RecordedAt.UTC().AppendFormat(b, recordedAtLayout)
	b = append(b, `","data":`...)
	b = appendData(b, &e.Data)
	b = append(b, `,"metadata":`...)
	b = AppendCanonicalMeta(b, &e.Meta)
	b = append(b, `,"prev_hash":"`...)
	b = hex.AppendEncode(b, e.PrevHash[:])
	b = append(b, `","hash":"`...)
	b = hex.AppendEncode(b, e.Hash[:])
	return append(b, `"}`...)
}

// eventJSON is the decoding shape of the JSON form.
type eventJSON struct {
	Position      int64     `json:"position"`
	ID            uuid.UUID `json:"id"`
	Type          string    `json:"type"`
	EffectiveDate Date      `json:"effective_date"`
	RecordedAt    string    `json:"recorded_at"`
	Data          EventData `json:"data"`
	Metadata      Metadata  `json:"metadata"`
	PrevHash      string    `json:"prev_hash"`
	Hash          string    `json:"hash"`
}

// UnmarshalJSON decodes the JSON form of an event (exports, NATS messages).
func (e *Event) UnmarshalJSON(b []byte) error {
	var j eventJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	t, err := parseRecordedAt(j.RecordedAt)
	if err != nil {
		return err
	}
	typ, ok := ParseEventType(j.Type)
	if !ok {
		return fmt.Errorf("type: unknown event type %q", j.Type)
	}
	*e = Event{Position: j.Position, ID: j.ID, Type: typ, EffectiveDate: j.EffectiveDate, RecordedAt: t,
		Data: j.Data, Meta: j.Metadata}
	if err := decodeHash(&e.PrevHash, j.PrevHash); err != nil {
		return fmt.Errorf("prev_hash: %w", err)
	}
	if err := decodeHash(&e.Hash, j.Hash); err != nil {
		return fmt.Errorf("hash: %w", err)
	}
	return nil
}

func decodeHash(dst *[32]byte, s string) error {
	if hex.DecodedLen(len(s)) != 32 {
		return fmt.Errorf("want 64 hex digits, got %d", len(s))
	}
	_, err := hex.Decode(dst[:], []byte(s))
	return err
}
