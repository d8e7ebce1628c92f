package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// The canonical encoding of an event is specified in docs/hash-chain.md: a JSON object
// with keys in byte order, no white space, integers only, every non-ASCII or control
// character escaped as \uXXXX, and zero values (empty strings, 0, false, null) omitted.
// It is what Python's json.dumps(obj, sort_keys=True, separators=(",", ":")) prints for
// the same object, so an auditor can re-verify the chain without this code.

// recordedAtLayout is the canonical form of recorded_at: UTC, always six fractional digits.
const recordedAtLayout = "2006-01-02T15:04:05.000000Z"

// appendRecordedAt appends t in recordedAtLayout, as t.UTC().AppendFormat would, without
// the layout interpreter for years 0 to 9999 (every event of the ledger's life).
func appendRecordedAt(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, recordedAtLayout)
	}
	h, mi, s := t.Clock()
	us := t.Nanosecond() / 1000
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+s/10), byte('0'+s%10), '.')
	for div := 100000; div > 0; div /= 10 {
		b = append(b, byte('0'+us/div%10))
	}
	return append(b, 'Z')
}

// AppendCanonical appends the canonical bytes of e (everything but the hashes) to b.
func AppendCanonical(b []byte, e *Event) []byte {
	b = append(b, `{"data":`...)
	b = appendData(b, &e.Data)
	b = append(b, `,"effective_date":"`...)
	b = e.EffectiveDate.AppendTo(b)
	b = append(b, `","id":"`...)
	b = appendUUID(b, e.ID)
	b = append(b, '"')
	b = append(b, `,"metadata":`...)
	b = AppendCanonicalMeta(b, &e.Meta)
	b = append(b, `,"position":`...)
	b = strconv.AppendInt(b, e.Position, 10)
	b = append(b, `,"recorded_at":"`...)
	b = appendRecordedAt(b, e.RecordedAt)
	b = append(b, `","type":`...)
	b = appendString(b, string(e.Type))
	return append(b, '}')
}

// ChainHash returns SHA-256(prev || canonical) using buf as scratch space; it returns the
// (possibly grown) buffer for reuse.
func ChainHash(buf []byte, prev [32]byte, e *Event) ([32]byte, []byte) {
	buf = append(buf[:0], prev[:]...)
	buf = AppendCanonical(buf, e)
	return sha256.Sum256(buf), buf
}

// AppendCanonicalData appends the canonical bytes of d, as stored in the data column.
func AppendCanonicalData(b []byte, d *EventData) []byte { return appendData(b, d) }

// AppendCanonicalMeta appends the canonical bytes of m, as stored in the metadata column.
func AppendCanonicalMeta(b []byte, m *Metadata) []byte {
	o := object{b: b}
	o.str("actor", m.Actor)
	o.str("client", m.Client)
	o.str("idempotency_key", m.IdempotencyKey)
	o.str("request_id", m.RequestID)
	return o.end()
}

func appendData(b []byte, d *EventData) []byte {
	o := object{b: b}
	if a := d.AdvanceLimit; a != nil {
		o.key("advance_limit")
		ao := object{b: o.b}
		ao.str("nature", a.Nature)
		ao.str("program", a.Program)
		ao.int("share_bp", a.ShareBP)
		o.b = ao.end()
	}
	o.int("advance_reversed", d.AdvanceReversed)
	o.int("amount", int64(d.Amount))
	o.str("contract", d.Contract)
	o.str("contractor", d.Contractor)
	if dl := d.Deadline; dl != nil {
		o.key("deadline")
		do := object{b: o.b}
		do.str("legal_basis", dl.LegalBasis)
		do.str("nature", dl.Nature)
		do.str("program", dl.Program)
		do.str("source", dl.Source)
		do.str("unit", dl.Unit)
		do.date("until", dl.Until)
		do.int("year", int64(dl.Year))
		o.b = do.end()
	}
	o.str("decision", d.Decision)
	o.str("document", d.Document)
	o.str("event_id", d.EventID)
	if d.From != nil {
		o.key("from")
		o.b = appendLine(o.b, d.From)
	}
	o.int("into_year", int64(d.IntoYear))
	o.str("kind", d.Kind)
	if d.Line != nil {
		o.key("line")
		o.b = appendLine(o.b, d.Line)
	}
	o.str("note", d.Note)
	o.str("number", d.Number)
	o.str("payee", d.Payee)
	o.int("previous_value", d.PreviousValue)
	if p := d.Program; p != nil {
		o.key("program")
		po := object{b: o.b}
		po.str("code", p.Code)
		po.str("name", p.Name)
		po.date("valid_from", p.ValidFrom)
		po.date("valid_to", p.ValidTo)
		o.b = po.end()
	}
	if p := d.Project; p != nil {
		o.key("project")
		po := object{b: o.b}
		po.str("code", p.Code)
		po.str("name", p.Name)
		po.str("parent", p.Parent)
		po.str("program", p.Program)
		po.date("valid_from", p.ValidFrom)
		po.date("valid_to", p.ValidTo)
		o.b = po.end()
	}
	o.str("reason", d.Reason)
	if r := d.Reconciliation; r != nil {
		o.key("reconciliation")
		ro := object{b: o.b}
		ro.int("amount_differences", int64(r.AmountDifferences))
		ro.int("date_differences", int64(r.DateDifferences))
		ro.str("file_sha256", r.FileSHA256)
		ro.date("from", r.From)
		ro.int("ledger_only", int64(r.LedgerOnly))
		ro.int("ledger_position", r.LedgerPosition)
		ro.int("matched", int64(r.Matched))
		ro.str("office", r.Office)
		ro.int("statement_rows", int64(r.StatementRows))
		ro.date("to", r.To)
		ro.int("treasury_only", int64(r.TreasuryOnly))
		o.b = ro.end()
	}
	if r := d.Reorganization; r != nil {
		o.key("reorganization")
		o.b = appendReorganization(o.b, r)
	}
	if s := d.Source; s != nil {
		o.key("source")
		so := object{b: o.b}
		so.str("budget", s.Budget)
		so.str("code", s.Code)
		if s.Counterpart {
			so.key("counterpart")
			so.b = append(so.b, "true"...)
		}
		so.str("name", s.Name)
		so.str("nature", s.Nature)
		so.date("valid_from", s.ValidFrom)
		so.date("valid_to", s.ValidTo)
		o.b = so.end()
	}
	if tg := d.Target; tg != nil {
		o.key("target")
		to := object{b: o.b}
		to.date("by", tg.By)
		to.str("document", tg.Document)
		to.str("program", tg.Program)
		to.int("rate_bp", tg.RateBP)
		to.str("source", tg.Source)
		to.str("unit", tg.Unit)
		to.int("year", int64(tg.Year))
		o.b = to.end()
	}
	if d.To != nil {
		o.key("to")
		o.b = appendLine(o.b, d.To)
	}
	if t := d.Token; t != nil {
		o.key("token")
		to := object{b: o.b}
		to.str("expires_at", t.ExpiresAt)
		to.str("id", t.ID)
		to.str("name", t.Name)
		to.str("role", t.Role)
		to.str("unit", t.Unit)
		o.b = to.end()
	}
	if u := d.Unit; u != nil {
		o.key("unit")
		uo := object{b: o.b}
		uo.str("code", u.Code)
		uo.str("id", u.ID)
		uo.str("level", string(u.Level))
		uo.str("name", u.Name)
		uo.str("parent", u.Parent)
		uo.date("valid_from", u.ValidFrom)
		uo.date("valid_to", u.ValidTo)
		o.b = uo.end()
	}
	if v := d.Voucher; v != nil {
		o.key("voucher")
		vo := object{b: o.b}
		vo.date("date", v.Date)
		vo.str("number", v.Number)
		vo.str("office", v.Office)
		vo.str("type", v.Type)
		o.b = vo.end()
	}
	return o.end()
}

// appendReorganization writes {changes: [{history, kind, predecessors, successors}],
// legal_basis, levels}; empty arrays are omitted like every zero value.
func appendReorganization(b []byte, r *Reorganization) []byte {
	strs := func(o *object, k string, ss []string) {
		if len(ss) == 0 {
			return
		}
		o.key(k)
		o.b = append(o.b, '[')
		for i, s := range ss {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			o.b = appendString(o.b, s)
		}
		o.b = append(o.b, ']')
	}
	o := object{b: b}
	if len(r.Changes) > 0 {
		o.key("changes")
		o.b = append(o.b, '[')
		for i := range r.Changes {
			c := &r.Changes[i]
			if i > 0 {
				o.b = append(o.b, ',')
			}
			co := object{b: o.b}
			co.str("history", c.History)
			co.str("kind", string(c.Kind))
			strs(&co, "predecessors", c.Predecessors)
			strs(&co, "successors", c.Successors)
			o.b = co.end()
		}
		o.b = append(o.b, ']')
	}
	o.str("legal_basis", r.LegalBasis)
	levels := make([]string, len(r.Levels))
	for i, l := range r.Levels {
		levels[i] = string(l)
	}
	strs(&o, "levels", levels)
	return o.end()
}

func appendLine(b []byte, l *Line) []byte {
	o := object{b: b}
	o.str("program", l.Program)
	o.str("project", l.Project)
	o.str("source", l.Source)
	o.str("unit", l.Unit)
	o.int("year", int64(l.Year))
	return o.end()
}

// object writes the members of one JSON object; callers add keys in byte order.
type object struct {
	b    []byte
	open bool
}

func (o *object) key(k string) {
	if o.open {
		o.b = append(o.b, ',')
	} else {
		o.b = append(o.b, '{')
		o.open = true
	}
	o.b = append(o.b, '"')
	o.b = append(o.b, k...)
	o.b = append(o.b, '"', ':')
}

func (o *object) str(k, v string) {
	if v != "" {
		o.key(k)
		o.b = appendString(o.b, v)
	}
}

func (o *object) int(k string, v int64) {
	if v != 0 {
		o.key(k)
		o.b = strconv.AppendInt(o.b, v, 10)
	}
}

func (o *object) date(k string, d Date) {
	if d != 0 {
		o.key(k)
		o.b = append(o.b, '"')
		o.b = d.AppendTo(o.b)
		o.b = append(o.b, '"')
	}
}

func (o *object) end() []byte {
	if !o.open {
		return append(o.b, '{', '}')
	}
	return append(o.b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string the way Python's json.dumps does with
// ensure_ascii: printable ASCII as is, \" \\ \b \f \n \r \t, everything else \uXXXX in
// lower-case hex (surrogate pairs above U+FFFF). Invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	// Runs of printable ASCII other than '"' and '\\' are copied as they stand; every
	// other byte or rune is escaped exactly as a rune-by-rune loop would (invalid UTF-8
	// becomes \ufffd, as ranging over the string gives U+FFFD).
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				b = append(b, '\\', '"')
			case '\\':
				b = append(b, '\\', '\\')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = appendU(b, rune(c))
			}
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r > 0xffff {
				r -= 0x10000
				b = appendU(b, 0xd800+(r>>10))
				b = appendU(b, 0xdc00+(r&0x3ff))
			} else {
				b = appendU(b, r)
			}
			i += size
		}
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

func appendUUID(b []byte, id [16]byte) []byte {
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

// Canonicalize re-encodes any JSON document (objects, arrays, strings, integers, true,
// false, null) in the canonical form, dropping zero-valued object members. Verifiers use
// it on data read back from the store; it rejects non-integer numbers.
func Canonicalize(doc []byte) ([]byte, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the JSON value")
	}
	return appendValue(nil, v)
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case string:
		if !utf8.ValidString(v) {
			return nil, fmt.Errorf("invalid UTF-8 in %q", v)
		}
		return appendString(b, v), nil
	case json.Number:
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("non-integer number %s", v)
		}
		return strconv.AppendInt(b, n, 10), nil
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k, e := range v {
			if !isZeroJSON(e) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, v[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return nil, fmt.Errorf("unexpected JSON value %T", v)
}

func isZeroJSON(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case string:
		return v == ""
	case json.Number:
		return v == "0" || v == "-0"
	}
	return false
}

// FormatRecordedAt returns t in the canonical recorded_at form.
func FormatRecordedAt(t time.Time) string { return t.UTC().Format(recordedAtLayout) }
