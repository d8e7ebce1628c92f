package api

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/vnntp/ledger/ledger"
)

// decodeMaxDepth bounds the nesting of JSON values the decoder will walk. Commands are at
// most three objects deep; the bound only stops a hostile body from exhausting the stack.
const decodeMaxDepth = 32

// The decoder below is a strict JSON reader for request bodies, written over the whole
// body held in memory rather than on json.Decoder's token stream: it allocates nothing
// per token or member, which keeps /v1/batch decoding well inside the per-event budget of
// the bulk path (docs/benchmarks.md), and it knows the request field path at every point, so
// every error names the field ("commands[3].line.unit"). What it rejects that
// encoding/json accepts: unknown fields, duplicate keys, keys that differ only in case,
// trailing data, numbers with a fraction or exponent (or out of range) where an integer
// is expected, invalid UTF-8. A JSON null leaves the field at its zero value, the same as
// absent; Validate then says which required field is missing. FuzzDecodeStrict checks
// that whatever it accepts, encoding/json decodes to the same value.

// pathElem is one step of the position of a value in the request: an object member or
// an array element.
type pathElem struct {
	name  string // member name; "" for an array element
	index int    // array index when name == ""
}

// formatPath renders a path as the request field it names: commands[3].line.unit.
func formatPath(path []pathElem) string {
	var b strings.Builder
	for _, e := range path {
		if e.name == "" {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(e.index))
			b.WriteByte(']')
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(e.name)
	}
	return b.String()
}

// decoder reads one JSON document held in data. path is the position of the value being
// decoded, kept as a stack so that descending allocates nothing; it is formatted only
// when an error needs it.
type decoder struct {
	data  []byte
	pos   int
	depth int
	path  []pathElem
	// strs, when set, interns the short strings decoded: the commands of one batch
	// repeat their line's codes, kind, payee and voucher office and type, which then
	// cost one copy each instead of one per command. At most internMax entries.
	strs map[string]string
}

// Limits of string interning in batches (decoder.strs).
const (
	// internMaxLen is the longest string interned: codes and names, not notes.
	internMaxLen = 64
	// internMax bounds the entries of one batch's table. The repeated strings come in
	// the first commands; unique ones (voucher numbers) would only fill it, so it is
	// small: a few kilobytes.
	internMax = 128
)

// intern returns s as a string, interned when d interns.
func (d *decoder) intern(s []byte) string {
	if d.strs == nil || len(s) > internMaxLen {
		return string(s)
	}
	if v, ok := d.strs[string(s)]; ok {
		return v
	}
	v := string(s)
	if len(d.strs) < internMax {
		d.strs[v] = v
	}
	return v
}

func (d *decoder) push(e pathElem) { d.path = append(d.path, e) }
func (d *decoder) pop()            { d.path = d.path[:len(d.path)-1] }

// fail returns an invalid_argument error naming the current path.
func (d *decoder) fail(format string, args ...any) error {
	return &ledger.Error{Code: ledger.CodeInvalidArgument, Field: formatPath(d.path), Message: fmt.Sprintf(format, args...)}
}

// decodeStrict decodes the JSON object in data into v, a pointer to a struct.
func decodeStrict(data []byte, v any) error {
	d := &decoder{data: data}
	if err := d.begin(); err != nil {
		return err
	}
	if err := d.object(reflect.ValueOf(v).Elem(), ""); err != nil {
		return err
	}
	return d.end()
}

// begin checks that the document is a JSON object.
func (d *decoder) begin() error {
	d.skipSpace()
	if d.pos == len(d.data) {
		return d.fail("the request body is empty; a JSON object is expected")
	}
	if d.data[d.pos] != '{' {
		return d.fail("must be a JSON object")
	}
	return nil
}

// end checks that nothing but white space follows the document.
func (d *decoder) end() error {
	d.skipSpace()
	if d.pos != len(d.data) {
		return d.fail("unexpected data after the JSON value at byte %d", d.pos)
	}
	return nil
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// syntax reports malformed JSON at the current position.
func (d *decoder) syntax(what string) error {
	if d.pos >= len(d.data) {
		return d.fail("malformed JSON: unexpected end of input, expected %s", what)
	}
	return d.fail("malformed JSON at byte %d: expected %s, found %q", d.pos, what, d.data[d.pos])
}

// expect consumes c after white space, or reports what was expected.
func (d *decoder) expect(c byte, what string) error {
	d.skipSpace()
	if d.pos >= len(d.data) || d.data[d.pos] != c {
		return d.syntax(what)
	}
	d.pos++
	return nil
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// valueKind is how the decoder fills a Go type, decided once per struct field.
type valueKind uint8

const (
	kindUnsupported valueKind = iota
	kindJSONUnmarshaler
	kindTextUnmarshaler
	kindString
	kindBool
	kindInt
	kindStruct
	kindSlice
)

// decodeArrayMax bounds the elements of one JSON array in a command (the changes of a
// reorganisation, a change's units); the body limit bounds the whole request.
const decodeArrayMax = 1000

func kindOf(t reflect.Type) valueKind {
	pt := reflect.PointerTo(t)
	switch {
	case pt.Implements(jsonUnmarshalerType):
		return kindJSONUnmarshaler
	case pt.Implements(textUnmarshalerType):
		return kindTextUnmarshaler
	}
	switch t.Kind() {
	case reflect.String:
		return kindString
	case reflect.Bool:
		return kindBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return kindInt
	case reflect.Struct:
		return kindStruct
	case reflect.Slice:
		return kindSlice
	}
	return kindUnsupported
}

// value decodes the next JSON value into v.
func (d *decoder) value(v reflect.Value) error {
	return d.valueOf(v, kindOf(v.Type()))
}

// valueOf decodes the next JSON value into v, of kind k.
func (d *decoder) valueOf(v reflect.Value, k valueKind) error {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return d.syntax("a value")
	}
	c := d.data[d.pos]
	if c == 'n' {
		// null: leave the zero value, as if the member were absent.
		return d.literal("null")
	}
	switch k {
	case kindJSONUnmarshaler:
		start := d.pos
		if err := d.skipValue(); err != nil {
			return err
		}
		return d.fieldError(v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(d.data[start:d.pos]))
	case kindTextUnmarshaler:
		if c != '"' {
			return d.wrongType("a string")
		}
		s, err := d.strBytes()
		if err != nil {
			return err
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText(s); err != nil {
			return d.fail("is not valid: %v", err)
		}
		return nil
	case kindString:
		if c != '"' {
			return d.wrongType("a string")
		}
		s, err := d.strBytes()
		if err != nil {
			return err
		}
		v.SetString(d.intern(s))
		return nil
	case kindBool:
		switch c {
		case 't':
			v.SetBool(true)
			return d.literal("true")
		case 'f':
			v.SetBool(false)
			return d.literal("false")
		}
		return d.wrongType("true or false")
	case kindInt:
		if c != '-' && (c < '0' || c > '9') {
			return d.wrongType("a JSON integer")
		}
		lit, whole, err := d.number()
		if err != nil {
			return err
		}
		if !whole {
			return d.fail("must be a whole number (a JSON integer without fraction or exponent), got %s", lit)
		}
		n, err := strconv.ParseInt(string(lit), 10, 64)
		if err != nil || v.OverflowInt(n) {
			return d.fail("is out of range, got %s", lit)
		}
		v.SetInt(n)
		return nil
	case kindStruct:
		if c != '{' {
			return d.wrongType("a JSON object")
		}
		return d.object(v, "")
	case kindSlice:
		if c != '[' {
			return d.wrongType("a JSON array")
		}
		return d.array(v)
	}
	// Only a new command type with a field kind this decoder lacks gets here; the tests
	// decode every command type, so this is a bug, not bad input.
	panic(fmt.Sprintf("api: strict decoder does not support %s at %s", v.Type(), formatPath(d.path)))
}

// array decodes a JSON array into the slice v, at most decodeArrayMax elements.
func (d *decoder) array(v reflect.Value) error {
	if d.depth++; d.depth > decodeMaxDepth {
		return d.fail("is nested too deeply")
	}
	defer func() { d.depth-- }()
	d.pos++ // '['
	d.skipSpace()
	v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return nil
	}
	elem := kindOf(v.Type().Elem())
	for i := 0; ; i++ {
		if i == decodeArrayMax {
			return d.fail("holds more than %d elements", decodeArrayMax)
		}
		v.Set(reflect.Append(v, reflect.New(v.Type().Elem()).Elem()))
		d.push(pathElem{index: i})
		if err := d.valueOf(v.Index(i), elem); err != nil {
			return err
		}
		d.pop()
		if done, err := d.next(']'); done || err != nil {
			return err
		}
	}
}

// fieldError gives an error from a field's own UnmarshalJSON (ledger.Date) the field path.
func (d *decoder) fieldError(err error) error {
	if err == nil {
		return nil
	}
	var le *ledger.Error
	if errors.As(err, &le) {
		return ledger.WithFieldPrefix(err, formatPath(d.path))
	}
	return d.fail("%v", err)
}

// wrongType reports a value of the wrong JSON type at d.pos.
func (d *decoder) wrongType(want string) error {
	var got string
	switch c := d.data[d.pos]; {
	case c == '"':
		got = "a string"
	case c == '{':
		got = "an object"
	case c == '[':
		got = "an array"
	case c == 't' || c == 'f':
		got = "a boolean"
	case c == '-' || c >= '0' && c <= '9':
		got = "a number"
	default:
		return d.syntax("a value")
	}
	return d.fail("must be %s, got %s", want, got)
}

// object decodes a JSON object into the struct v. skip, if not "", is a member name the
// caller has already read and that the struct does not have (a batch command's "type").
func (d *decoder) object(v reflect.Value, skip string) error {
	if d.depth++; d.depth > decodeMaxDepth {
		return d.fail("is nested too deeply")
	}
	defer func() { d.depth-- }()
	d.pos++ // '{'
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return nil
	}
	return d.members(v, skip, 0)
}

// skipBit marks, in members' seen set, the member skip as seen.
const skipBit = 1 << 63

// objectAfterSkip decodes into v the rest of an object whose first member, skip, the
// caller has consumed: d.pos is just after its value.
func (d *decoder) objectAfterSkip(v reflect.Value, skip string) error {
	if d.depth++; d.depth > decodeMaxDepth {
		return d.fail("is nested too deeply")
	}
	defer func() { d.depth-- }()
	if done, err := d.next('}'); done || err != nil {
		return err
	}
	return d.members(v, skip, skipBit)
}

// members decodes the members of an object into v, from the one at d.pos to the
// closing '}'; seen holds the members already consumed.
func (d *decoder) members(v reflect.Value, skip string, seen uint64) error {
	info := structInfoOf(v.Type()) // bit i of seen: member i; structInfoOf keeps structs at ≤ 63 members
	for {
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return d.syntax("a member name in double quotes")
		}
		key, err := d.strBytes()
		if err != nil {
			return err
		}
		if err := d.expect(':', "':' after a member name"); err != nil {
			return err
		}
		if i, ok := info.index[string(key)]; ok {
			d.push(pathElem{name: info.names[i]})
			if seen&(1<<i) != 0 {
				return d.fail("appears more than once")
			}
			seen |= 1 << i
			if err := d.valueOf(v.FieldByIndex(info.fields[i]), info.kinds[i]); err != nil {
				return err
			}
		} else if skip != "" && string(key) == skip {
			d.push(pathElem{name: skip})
			if seen&skipBit != 0 {
				return d.fail("appears more than once")
			}
			seen |= skipBit
			if err := d.skipValue(); err != nil {
				return err
			}
		} else {
			d.push(pathElem{name: string(key)})
			return d.fail("is not a known field")
		}
		d.pop()
		if done, err := d.next('}'); done || err != nil {
			return err
		}
	}
}

// next consumes the ',' between members or elements, or the closer; done reports the
// closer.
func (d *decoder) next(closer byte) (done bool, err error) {
	d.skipSpace()
	if d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ',':
			d.pos++
			return false, nil
		case closer:
			d.pos++
			return true, nil
		}
	}
	return false, d.syntax("',' or '" + string(closer) + "'")
}

// literal consumes the literal word (true, false, null).
func (d *decoder) literal(word string) error {
	if len(d.data)-d.pos < len(word) || string(d.data[d.pos:d.pos+len(word)]) != word {
		return d.syntax("a value")
	}
	d.pos += len(word)
	return nil
}

// number consumes a JSON number and returns its text and whether it is an integer (no
// fraction, no exponent).
func (d *decoder) number() (lit []byte, whole bool, err error) {
	start := d.pos
	whole = true
	if d.pos < len(d.data) && d.data[d.pos] == '-' {
		d.pos++
	}
	switch {
	case d.pos < len(d.data) && d.data[d.pos] == '0':
		d.pos++
	case d.pos < len(d.data) && d.data[d.pos] >= '1' && d.data[d.pos] <= '9':
		d.digits()
	default:
		return nil, false, d.syntax("a digit")
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		whole = false
		d.pos++
		if d.digits() == 0 {
			return nil, false, d.syntax("a digit after '.'")
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		whole = false
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if d.digits() == 0 {
			return nil, false, d.syntax("a digit in the exponent")
		}
	}
	return d.data[start:d.pos], whole, nil
}

func (d *decoder) digits() int {
	n := 0
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
		n++
	}
	return n
}

// str consumes a JSON string and returns its value.
func (d *decoder) str() (string, error) {
	b, err := d.strBytes()
	return string(b), err
}

// strBytes consumes a JSON string and returns its bytes, which alias data when the
// string holds no escape. It rejects control characters and invalid UTF-8; a lone
// surrogate escape becomes U+FFFD, as in encoding/json (and the ledger's text checks
// then refuse it).
func (d *decoder) strBytes() ([]byte, error) {
	d.pos++ // opening quote
	start := d.pos
	// Fast path: no escapes.
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if c == '"' {
			s := d.data[start:d.pos]
			d.pos++
			if !utf8.Valid(s) {
				return nil, d.fail("must be valid UTF-8")
			}
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return nil, d.syntax("no control character inside a string")
		}
		d.pos++
	}
	b := append([]byte(nil), d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			if !utf8.Valid(b) {
				return nil, d.fail("must be valid UTF-8")
			}
			return b, nil
		case c < 0x20:
			return nil, d.syntax("no control character inside a string")
		case c != '\\':
			b = append(b, c)
			d.pos++
			continue
		}
		d.pos++
		if d.pos >= len(d.data) {
			break
		}
		e := d.data[d.pos]
		d.pos++
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return nil, d.syntax("four hex digits after \\u")
			}
			if utf16.IsSurrogate(r) {
				if save := d.pos; d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
					d.pos += 2
					r2, ok := d.hex4()
					if !ok {
						return nil, d.syntax("four hex digits after \\u")
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						b = utf8.AppendRune(b, dec)
						continue
					}
					d.pos = save
				}
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
		default:
			d.pos--
			return nil, d.syntax("a valid escape sequence")
		}
	}
	return nil, d.syntax("the closing '\"' of a string")
}

func (d *decoder) hex4() (rune, bool) {
	if d.pos+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	d.pos += 4
	return r, true
}

// skipValue consumes any JSON value, checking its syntax, with bounded nesting.
func (d *decoder) skipValue() error {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return d.syntax("a value")
	}
	switch c := d.data[d.pos]; {
	case c == '"':
		_, err := d.strBytes()
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		_, _, err := d.number()
		return err
	case c == '{' || c == '[':
		if d.depth++; d.depth > decodeMaxDepth {
			return d.fail("is nested too deeply")
		}
		defer func() { d.depth-- }()
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		d.pos++
		d.skipSpace()
		if d.pos < len(d.data) && d.data[d.pos] == closer {
			d.pos++
			return nil
		}
		for {
			if c == '{' {
				d.skipSpace()
				if d.pos >= len(d.data) || d.data[d.pos] != '"' {
					return d.syntax("a member name in double quotes")
				}
				if _, err := d.strBytes(); err != nil {
					return err
				}
				if err := d.expect(':', "':' after a member name"); err != nil {
					return err
				}
			}
			if err := d.skipValue(); err != nil {
				return err
			}
			if done, err := d.next(closer); done || err != nil {
				return err
			}
		}
	}
	return d.syntax("a value")
}

// structInfo maps the JSON member names of a struct, including those promoted from
// anonymous embedded structs (RegisterUnit{Unit{…, Validity{…}}}), to field indexes.
type structInfo struct {
	fields [][]int
	names  []string
	kinds  []valueKind
	index  map[string]int
}

var structInfos sync.Map // reflect.Type → *structInfo

func structInfoOf(t reflect.Type) *structInfo {
	if v, ok := structInfos.Load(t); ok {
		return v.(*structInfo)
	}
	info := &structInfo{index: map[string]int{}}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			idx := append(append([]int(nil), prefix...), i)
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				walk(f.Type, idx)
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if _, dup := info.index[name]; dup {
				// encoding/json would silently drop both; a command type must not do that.
				panic(fmt.Sprintf("api: %s has two fields named %q", t, name))
			}
			info.index[name] = len(info.fields)
			info.fields = append(info.fields, idx)
			info.names = append(info.names, name)
			info.kinds = append(info.kinds, kindOf(f.Type))
		}
	}
	walk(t, nil)
	if len(info.fields) > 63 {
		panic(fmt.Sprintf("api: %s has more than 63 JSON fields", t))
	}
	v, _ := structInfos.LoadOrStore(t, info)
	return v.(*structInfo)
}
