package pgstore

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/vnntp/ledger/ledger"
)

// Reading events back is dominated by decoding their data and metadata: encoding/json
// goes through reflection for every field. decodeData and decodeMeta parse the few shapes
// an event can have directly, and hand anything unexpected (an unknown member, a float,
// a null) to encoding/json, so they never decide differently from it; a test checks both
// on every event type, in PostgreSQL's jsonb text form and in the canonical one.

var errSlowPath = errors.New("not a shape the fast decoder knows")

func decodeData(b []byte, d *ledger.EventData) error {
	p := scanner{b: b}
	if err := p.data(d); err != nil || !p.end() {
		*d = ledger.EventData{}
		return json.Unmarshal(b, d)
	}
	return nil
}

func decodeMeta(b []byte, m *ledger.Metadata) error {
	p := scanner{b: b}
	err := p.object(func(key []byte) error {
		switch string(key) {
		case "actor":
			return p.str(&m.Actor)
		case "client":
			return p.str(&m.Client)
		case "idempotency_key":
			return p.str(&m.IdempotencyKey)
		case "request_id":
			return p.str(&m.RequestID)
		}
		return errSlowPath
	})
	if err != nil || !p.end() {
		*m = ledger.Metadata{}
		return json.Unmarshal(b, m)
	}
	return nil
}

// scanner reads JSON from b; every method returns errSlowPath on anything unexpected.
type scanner struct {
	b []byte
	i int
}

func (p *scanner) ws() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\n' || p.b[p.i] == '\t' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *scanner) end() bool { p.ws(); return p.i == len(p.b) }

func (p *scanner) lit(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// object calls member for every key, positioned at its value.
func (p *scanner) object(member func(key []byte) error) error {
	if !p.lit('{') {
		return errSlowPath
	}
	if p.lit('}') {
		return nil
	}
	for {
		key, err := p.rawString()
		if err != nil || !p.lit(':') {
			return errSlowPath
		}
		if err := member(key); err != nil {
			return err
		}
		if p.lit(',') {
			continue
		}
		if p.lit('}') {
			return nil
		}
		return errSlowPath
	}
}

// rawString returns the bytes of a string without escapes (keys never have any).
func (p *scanner) rawString() ([]byte, error) {
	if !p.lit('"') {
		return nil, errSlowPath
	}
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			return p.b[start : p.i-1], nil
		case c == '\\' || c < 0x20:
			return nil, errSlowPath
		}
		p.i++
	}
	return nil, errSlowPath
}

func (p *scanner) str(dst *string) error {
	if !p.lit('"') {
		return errSlowPath
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := p.b[start:p.i]
			p.i++
			if !utf8.Valid(s) {
				return errSlowPath
			}
			*dst = string(s)
			return nil
		}
		if c == '\\' {
			return p.escaped(start, dst)
		}
		if c < 0x20 {
			return errSlowPath
		}
		p.i++
	}
	return errSlowPath
}

// escaped finishes a string that has escapes, from its start.
func (p *scanner) escaped(start int, dst *string) error {
	out := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			if !utf8.Valid(out) {
				return errSlowPath
			}
			*dst = string(out)
			return nil
		case c < 0x20:
			return errSlowPath
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.b) {
			return errSlowPath
		}
		e := p.b[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return errSlowPath
			}
			if utf16.IsSurrogate(r) {
				if p.i+1 >= len(p.b) || p.b[p.i] != '\\' || p.b[p.i+1] != 'u' {
					return errSlowPath // a lone surrogate: encoding/json's U+FFFD rules apply
				}
				p.i += 2
				r2, ok := p.hex4()
				if !ok {
					return errSlowPath
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return errSlowPath
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return errSlowPath
		}
	}
	return errSlowPath
}

func (p *scanner) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(v), true
}

func (p *scanner) int(dst *int64) error {
	p.ws()
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	if p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		return errSlowPath
	}
	digits := p.b[start:p.i]
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || (len(digits) > 1 && digits[0] == '0') {
		return errSlowPath // not a JSON integer (leading zero): encoding/json refuses it
	}
	v, err := strconv.ParseInt(string(p.b[start:p.i]), 10, 64)
	if err != nil {
		return errSlowPath
	}
	*dst = v
	return nil
}

func (p *scanner) intField(dst *int) error {
	var v int64
	if err := p.int(&v); err != nil {
		return err
	}
	*dst = int(v)
	return nil
}

func (p *scanner) date(dst *ledger.Date) error {
	var s string
	if err := p.str(&s); err != nil {
		return err
	}
	d, err := ledger.ParseDate(s, "")
	if err != nil {
		return errSlowPath
	}
	*dst = d
	return nil
}

func (p *scanner) line(dst **ledger.Line) error {
	if *dst != nil {
		return errSlowPath // a repeated key: encoding/json merges into the first value
	}
	l := new(ledger.Line)
	*dst = l
	return p.object(func(key []byte) error {
		switch string(key) {
		case "program":
			return p.str(&l.Program)
		case "project":
			return p.str(&l.Project)
		case "source":
			return p.str(&l.Source)
		case "unit":
			return p.str(&l.Unit)
		case "year":
			return p.intField(&l.Year)
		}
		return errSlowPath
	})
}

func (p *scanner) data(d *ledger.EventData) error {
	return p.object(func(key []byte) error {
		switch string(key) {
		case "advance_reversed":
			return p.int(&d.AdvanceReversed)
		case "amount":
			return p.int(&d.Amount)
		case "decision":
			return p.str(&d.Decision)
		case "event_id":
			return p.str(&d.EventID)
		case "from":
			return p.line(&d.From)
		case "into_year":
			return p.intField(&d.IntoYear)
		case "kind":
			return p.str(&d.Kind)
		case "line":
			return p.line(&d.Line)
		case "note":
			return p.str(&d.Note)
		case "payee":
			return p.str(&d.Payee)
		case "reason":
			return p.str(&d.Reason)
		case "contract":
			return p.str(&d.Contract)
		case "contractor":
			return p.str(&d.Contractor)
		case "document":
			return p.str(&d.Document)
		case "number":
			return p.str(&d.Number)
		case "previous_value":
			return p.int(&d.PreviousValue)
		case "to":
			return p.line(&d.To)
		case "voucher":
			if d.Voucher != nil {
				return errSlowPath
			}
			v := new(ledger.Voucher)
			d.Voucher = v
			return p.object(func(key []byte) error {
				switch string(key) {
				case "date":
					return p.date(&v.Date)
				case "number":
					return p.str(&v.Number)
				case "office":
					return p.str(&v.Office)
				case "type":
					return p.str(&v.Type)
				}
				return errSlowPath
			})
		}
		return errSlowPath // catalog entries: rare, left to encoding/json
	})
}
