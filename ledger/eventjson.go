package ledger

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/google/uuid"
)

// MarshalJSON renders an event as the API, exports and NATS messages show it:
// position, id, type, effective_date, recorded_at, data and metadata with the members of
// their canonical encoding (docs/hash-chain.md §2) but non-ASCII text written as UTF-8
// ("QĐ 102", not "Q\u0110 102"), prev_hash and hash in hex. Decoding it and re-encoding
// canonically gives the hashed bytes back.
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
	b = appendRecordedAt(b, e.RecordedAt)
	b = append(b, `","data":`...)
	start := len(b)
	b = appendData(b, &e.Data)
	b = append(b, `,"metadata":`...)
	b = AppendCanonicalMeta(b, &e.Meta)
	b = append(b[:start], unescapeNonASCII(b[start:])...)
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

// unescapeNonASCII rewrites, in place, every \uXXXX escape of canonical JSON text that
// stands for a printable character beyond ASCII as that character in UTF-8, and returns
// the shortened slice. Escapes of ASCII and C1 control characters (below U+00A0), of U+2028 and U+2029 (line
// separators that break JavaScript string literals) and of unpaired surrogates stay as
// they are; so do \\ and \". A UTF-8 encoding is never longer than its escape, so the
// output never overtakes the input.
func unescapeNonASCII(b []byte) []byte {
	// Everything before the first backslash stays where it is.
	w := bytes.IndexByte(b, '\\')
	if w < 0 {
		return b
	}
	for r := w; r < len(b); {
		if b[r] != '\\' || r+1 >= len(b) {
			b[w] = b[r]
			w, r = w+1, r+1
			continue
		}
		if b[r+1] != 'u' {
			b[w], b[w+1] = b[r], b[r+1]
			w, r = w+2, r+2
			continue
		}
		c, ok := hex4(b, r+2)
		if !ok { // not canonical output; leave it alone
			b[w], b[w+1] = b[r], b[r+1]
			w, r = w+2, r+2
			continue
		}
		n := 6
		if c >= 0xd800 && c < 0xdc00 {
			lo, ok2 := rune(0), false
			if r+12 <= len(b) && b[r+6] == '\\' && b[r+7] == 'u' {
				lo, ok2 = hex4(b, r+8)
			}
			if ok2 && lo >= 0xdc00 && lo < 0xe000 {
				c, n = 0x10000+(c-0xd800)<<10+(lo-0xdc00), 12
			} else {
				ok = false
			}
		}
		if !ok || c < 0xa0 || c == 0x2028 || c == 0x2029 || (c >= 0xdc00 && c < 0xe000) {
			w += copy(b[w:], b[r:r+6])
			r += 6
			continue
		}
		w += utf8.EncodeRune(b[w:], c)
		r += n
	}
	return b[:w]
}

// hex4 reads the four hex digits at b[i:i+4].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var c rune
	for _, d := range b[i : i+4] {
		switch {
		case d >= '0' && d <= '9':
			c = c<<4 | rune(d-'0')
		case d >= 'a' && d <= 'f':
			c = c<<4 | rune(d-'a'+10)
		case d >= 'A' && d <= 'F':
			c = c<<4 | rune(d-'A'+10)
		default:
			return 0, false
		}
	}
	return c, true
}
