package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
)

// Header names of the idempotency protocol (docs/design.md §4).
const (
	headerIdempotencyKey = "Idempotency-Key"
	headerReplayed       = "Idempotent-Replayed"
)

// commandKind ties a write route and a batch command type to a ledger command.
type commandKind struct {
	path      string // the route of the single-command write
	batchType string // the "type" of the command in POST /v1/batch; "" when not allowed there
	new       func() ledger.Command
}

// commandKinds lists every single-command write. Catalog registrations are not batch
// types: reference data is registered one entry at a time, by an admin.
var commandKinds = []*commandKind{
	{"/v1/catalog/programs", "", func() ledger.Command { return new(ledger.RegisterProgram) }},
	{"/v1/catalog/projects", "", func() ledger.Command { return new(ledger.RegisterProject) }},
	{"/v1/catalog/units", "", func() ledger.Command { return new(ledger.RegisterUnit) }},
	{"/v1/catalog/sources", "", func() ledger.Command { return new(ledger.RegisterSource) }},
	{"/v1/allocations", "allocation", func() ledger.Command { return new(ledger.Allocate) }},
	{"/v1/transfers", "transfer", func() ledger.Command { return new(ledger.Transfer) }},
	{"/v1/carryovers", "carryover", func() ledger.Command { return new(ledger.CarryOver) }},
	{"/v1/cancellations", "cancellation", func() ledger.Command { return new(ledger.Cancel) }},
	{"/v1/disbursements", "disbursement", func() ledger.Command { return new(ledger.Disburse) }},
	{"/v1/settlements", "settlement", func() ledger.Command { return new(ledger.SettleAdvance) }},
	{"/v1/reversals", "reversal", func() ledger.Command { return new(ledger.Reverse) }},
	{"/v1/catalog/reorganizations", "", func() ledger.Command { return new(ledger.Reorganize) }},
	{"/v1/contracts", "contract", func() ledger.Command { return new(ledger.SignContract) }},
	{"/v1/contract-amendments", "contract_amendment", func() ledger.Command { return new(ledger.AmendContract) }},
	{"/v1/advance-limits", "", func() ledger.Command { return new(ledger.SetAdvanceLimit) }},
	{"/v1/deadlines", "", func() ledger.Command { return new(ledger.SetDeadline) }},
	{"/v1/extensions", "", func() ledger.Command { return new(ledger.ExtendDeadline) }},
	{"/v1/targets", "", func() ledger.Command { return new(ledger.SetTarget) }},
}

// batchKinds maps a batch command "type" to its kind; batchTypeList names them for errors.
var batchKinds, batchTypeList = func() (map[string]*commandKind, string) {
	m := map[string]*commandKind{}
	var names []string
	for _, k := range commandKinds {
		if k.batchType != "" {
			m[k.batchType] = k
			names = append(names, k.batchType)
		}
	}
	return m, strings.Join(names, ", ")
}()

// handleWrite serves the single-command write of kind k: strict decode, Validate, submit
// as an atomic request, answer 201 with the stored event.
func (s *Server) handleWrite(k *commandKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		key, err := idempotencyKey(c)
		if err != nil {
			return err
		}
		body, err := readBody(c, s.cfg.BodyMaxBytes)
		if err != nil {
			return err
		}
		cmd := k.new()
		if err := decodeStrict(body, cmd); err != nil {
			return err
		}
		if err := cmd.Validate(); err != nil {
			return err
		}
		req := newRequest(c, key, true, cmd)
		if key != "" {
			req.Hash = fingerprint(k.path, cmd)
		}
		res, err := s.submit(c, req)
		if err != nil {
			return err
		}
		if res.Err != nil {
			return res.Err
		}
		events, err := s.resultEvents(c, res, 1)
		if err != nil {
			return err
		}
		e := events[0]
		c.Response().Header().Set(echo.HeaderLocation, "/v1/events/"+e.ID.String())
		buf := answerBuffers.Get().(*[]byte)
		defer answerBuffers.Put(buf)
		*buf = e.AppendJSON((*buf)[:0])
		return c.Blob(http.StatusCreated, echo.MIMEApplicationJSON, *buf)
	}
}

// answerBuffers holds the buffers single writes encode their answer in: the response
// copies the bytes, so a buffer serves the next request (one allocation of the answer's
// size fewer per write, and less garbage for the collector, whose cycles show in the
// write path's p99).
var answerBuffers = sync.Pool{New: func() any { b := make([]byte, 0, answerBufferBytes); return &b }}

// answerBufferBytes is the first capacity of an answer buffer: one event's JSON form.
const answerBufferBytes = 1024

// submit hands req to the writer, bounded by submitTimeout.
func (s *Server) submit(c echo.Context, req *ledger.Request) (*ledger.Result, error) {
	ctx, cancel := context.WithTimeout(c.Request().Context(), submitTimeout)
	defer cancel()
	res, err := s.cfg.Writer.Submit(ctx, req)
	if err != nil {
		// The request may have been queued, even committed: only a retry with the same
		// key can tell the client.
		return nil, errOutcomeUnknown
	}
	return res, nil
}

// resultEvents returns the events of a successful result: the new ones, or for a replay
// the original ones read back from the store (marking the response as replayed). want
// is the number of events expected.
func (s *Server) resultEvents(c echo.Context, res *ledger.Result, want int) ([]*ledger.Event, error) {
	if !res.Replayed {
		return res.Events, nil
	}
	events, err := s.cfg.Events.EventsRange(c.Request().Context(), res.First, res.Last)
	if err != nil {
		if ledger.Code(err) == ledger.CodeInternal {
			return nil, fmt.Errorf("read replayed events %d..%d: %w", res.First, res.Last, err)
		}
		return nil, err
	}
	if len(events) != want || int64(len(events)) != res.Last-res.First+1 {
		return nil, fmt.Errorf("replay of key: store returned %d events for positions %d..%d, want %d",
			len(events), res.First, res.Last, want)
	}
	c.Response().Header().Set(headerReplayed, "true")
	return events, nil
}

// meta is the metadata recorded with every event of a request: who (the token's name
// and role), through which client (User-Agent), and which request.
func meta(c echo.Context, key string) ledger.Metadata {
	return ledger.Metadata{Actor: actorOf(c), Client: clientOf(c), RequestID: requestIDOf(c), IdempotencyKey: key}
}

// idempotencyKey returns the request's Idempotency-Key, "" when none, or an
// invalid_argument error naming the header.
func idempotencyKey(c echo.Context) (string, error) {
	vals := c.Request().Header.Values(headerIdempotencyKey)
	switch {
	case len(vals) == 0:
		return "", nil
	case len(vals) > 1:
		return "", invalidArg(headerIdempotencyKey, "must be given once")
	case !visibleASCII(vals[0], IdempotencyKeyMaxLen):
		return "", invalidArg(headerIdempotencyKey,
			fmt.Sprintf("must be 1 to %d printable ASCII characters without spaces", IdempotencyKeyMaxLen))
	}
	return vals[0], nil
}

// fingerprint is the request hash stored with an Idempotency-Key: the route and the
// decoded command(s) re-encoded, so that white space, member order and escapes in the
// body do not make a retry a conflict.
func fingerprint(route string, v any) [32]byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Command types are plain data; failing to encode one is a bug.
		panic(fmt.Sprintf("api: encode request fingerprint: %v", err))
	}
	h := sha256.New()
	h.Write([]byte(route))
	h.Write([]byte{'\n'})
	h.Write(b)
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// mimeJSONUTF8 is the JSON content type with the charset many clients add.
const mimeJSONUTF8 = "application/json; charset=UTF-8"

// readBody checks the content type and reads the body, at most maxBytes.
func readBody(c echo.Context, maxBytes int64) ([]byte, error) {
	r := c.Request()
	// The Content-Type every client sends is recognised without parsing it (and
	// allocating its parameters).
	if ct := r.Header.Get(echo.HeaderContentType); ct != echo.MIMEApplicationJSON && ct != mimeJSONUTF8 {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || mt != echo.MIMEApplicationJSON {
			return nil, &statusError{http.StatusUnsupportedMediaType, "Content-Type must be application/json"}
		}
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			return nil, &statusError{http.StatusUnsupportedMediaType, "the request body must be UTF-8"}
		}
	}
	tooLarge := func() error {
		return &ledger.Error{Code: ledger.CodePayloadTooLarge, Message: fmt.Sprintf("the request body exceeds %d bytes", maxBytes)}
	}
	if r.ContentLength > maxBytes {
		return nil, tooLarge()
	}
	body := http.MaxBytesReader(c.Response().Writer, r.Body, maxBytes)
	var err error
	var out []byte
	if r.ContentLength > 0 {
		// net/http ends the body at Content-Length: one read of exactly that many bytes,
		// into a buffer of exactly that size.
		// A body cut short is an error (io.ErrUnexpectedEOF, or io.EOF before any byte).
		out = make([]byte, r.ContentLength)
		if _, err = io.ReadFull(body, out); err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	} else {
		var buf bytes.Buffer
		_, err = buf.ReadFrom(body)
		out = buf.Bytes()
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge()
	case err != nil && err != io.EOF:
		return nil, invalidArg("", "could not read the request body: "+err.Error())
	}
	return out, nil
}

// statusError is a transport-level refusal with its own HTTP status (415); see
// problemWithStatus.
type statusError struct {
	status int
	detail string
}

func (e *statusError) Error() string { return e.detail }

// batchRequest is a decoded POST /v1/batch body.
type batchRequest struct {
	kinds    []*commandKind
	commands []ledger.Command
	atomic   bool
}

// MarshalJSON is the fingerprint form of a batch.
func (b *batchRequest) MarshalJSON() ([]byte, error) {
	type typed struct {
		Type    string         `json:"type"`
		Command ledger.Command `json:"command"`
	}
	cs := make([]typed, len(b.commands))
	for i, c := range b.commands {
		cs[i] = typed{b.kinds[i].batchType, c}
	}
	return json.Marshal(struct {
		Atomic   bool    `json:"atomic"`
		Commands []typed `json:"commands"`
	}{b.atomic, cs})
}

// decodeBatch strictly decodes {"commands":[{"type":…, …}], "atomic":bool}. atomic
// defaults to true: a partly applied batch must be asked for, never a surprise.
func decodeBatch(data []byte) (*batchRequest, error) {
	br := &batchRequest{atomic: true}
	d := &decoder{data: data, strs: make(map[string]string, internMax/16)}
	if err := d.begin(); err != nil {
		return nil, err
	}
	var seenCommands, seenAtomic bool
	d.pos++ // '{'
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return nil, invalidArg("commands", "at least one command is required")
	}
	for done := false; !done; {
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.syntax("a member name in double quotes")
		}
		name, err := d.str()
		if err != nil {
			return nil, err
		}
		if err := d.expect(':', "':' after a member name"); err != nil {
			return nil, err
		}
		d.push(pathElem{name: name})
		switch name {
		case "commands":
			if seenCommands {
				return nil, d.fail("appears more than once")
			}
			seenCommands = true
			if err := d.batchCommands(br); err != nil {
				return nil, err
			}
		case "atomic":
			if seenAtomic {
				return nil, d.fail("appears more than once")
			}
			seenAtomic = true
			if err := d.value(reflect.ValueOf(&br.atomic).Elem()); err != nil {
				return nil, err
			}
		default:
			return nil, d.fail("is not a known field")
		}
		d.pop()
		if done, err = d.next('}'); err != nil {
			return nil, err
		}
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	if len(br.commands) == 0 {
		return nil, invalidArg("commands", "at least one command is required")
	}
	return br, nil
}

// batchCommands decodes the commands array. Each element's "type" may stand anywhere
// in it, so the element is scanned once for its type, then decoded into that command.
func (d *decoder) batchCommands(br *batchRequest) error {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return d.syntax("a value")
	}
	switch d.data[d.pos] {
	case 'n':
		return d.literal("null")
	case '[':
	default:
		return d.wrongType("an array of commands")
	}
	d.pos++
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return nil
	}
	for i := 0; ; i++ {
		if i == BatchMaxCommands {
			return &ledger.Error{Code: ledger.CodePayloadTooLarge, Field: "commands",
				Message: fmt.Sprintf("a batch holds at most %d commands", BatchMaxCommands)}
		}
		d.push(pathElem{index: i})
		k, cmd, err := d.typedCommand()
		if err != nil {
			return err
		}
		br.kinds = append(br.kinds, k)
		br.commands = append(br.commands, cmd)
		d.pop()
		if done, err := d.next(']'); done || err != nil {
			return err
		}
	}
}

// typedCommand decodes the command object at d.pos, whose "type" member (anywhere in
// it) names its kind: the object is scanned once for its type, then decoded into that
// command.
func (d *decoder) typedCommand() (*commandKind, ledger.Command, error) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return nil, nil, d.syntax("a command object")
	}
	if d.data[d.pos] != '{' {
		return nil, nil, d.wrongType("a JSON object")
	}
	start := d.pos
	if k, cmd, ok := d.leadingType(); ok {
		return k, cmd, nil
	}
	typ, found, err := d.scanType()
	if err != nil {
		return nil, nil, err
	}
	d.push(pathElem{name: "type"})
	if !found {
		return nil, nil, d.fail("is required: one of %s", batchTypeList)
	}
	k := batchKinds[typ]
	if k == nil {
		return nil, nil, d.fail("must be one of %s, got %q", batchTypeList, typ)
	}
	d.pop()
	cmd := k.new()
	end := d.pos
	d.pos = start
	if err := d.object(reflect.ValueOf(cmd).Elem(), "type"); err != nil {
		return nil, nil, err
	}
	if d.pos != end {
		panic("api: batch element decoded to another end than it was scanned to")
	}
	return k, cmd, nil
}

// leadingType is the one-pass decode of the usual command object, whose first member is
// its "type": it reads the type, then decodes the rest of the object into that command.
// On any error it restores the decoder and reports !ok, and typedCommand decodes the
// object the general way, which names the error as it always has.
func (d *decoder) leadingType() (*commandKind, ledger.Command, bool) {
	start, depth, path := d.pos, d.depth, len(d.path)
	fail := func() (*commandKind, ledger.Command, bool) {
		d.pos, d.depth, d.path = start, depth, d.path[:path]
		return nil, nil, false
	}
	d.pos++ // '{'
	d.skipSpace()
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return fail()
	}
	if name, err := d.strBytes(); err != nil || string(name) != "type" {
		return fail()
	}
	if d.expect(':', "") != nil {
		return fail()
	}
	d.skipSpace()
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return fail()
	}
	typ, err := d.str()
	if err != nil {
		return fail()
	}
	k := batchKinds[typ]
	if k == nil {
		return fail()
	}
	cmd := k.new()
	if d.objectAfterSkip(reflect.ValueOf(cmd).Elem(), "type") != nil {
		return fail()
	}
	return k, cmd, true
}

// scanType consumes the object at d.pos and returns the string value of its top-level
// "type" member. Duplicates and everything else are checked by the decode that follows.
func (d *decoder) scanType() (typ string, found bool, err error) {
	d.pos++ // '{'
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return "", false, nil
	}
	for {
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return "", false, d.syntax("a member name in double quotes")
		}
		name, err := d.strBytes()
		if err != nil {
			return "", false, err
		}
		if err := d.expect(':', "':' after a member name"); err != nil {
			return "", false, err
		}
		d.skipSpace()
		if string(name) == "type" && !found {
			d.push(pathElem{name: "type"})
			if d.pos >= len(d.data) {
				return "", false, d.syntax("a value")
			}
			if d.data[d.pos] != '"' {
				return "", false, d.wrongType("a string")
			}
			if typ, err = d.str(); err != nil {
				return "", false, err
			}
			d.pop()
			found = true
		} else if err := d.skipValue(); err != nil {
			return "", false, err
		}
		if done, err := d.next('}'); done || err != nil {
			return typ, found, err
		}
	}
}

// batchResult is one entry of a non-atomic batch answer: the event recorded for
// commands[index], or the problem that refused it.
type batchResult struct {
	Index int           `json:"index"`
	Event *ledger.Event `json:"event,omitempty"`
	Error *problem      `json:"error,omitempty"`
}

// rejection is a refused command of a non-atomic batch, by its index in the request.
type rejection struct {
	index int
	err   error
}

// handleBatch serves POST /v1/batch. An atomic batch is recorded whole or refused with
// the first error. A non-atomic batch records what it can, and the answer lists every
// command with its event or its problem, in request order.
func (s *Server) handleBatch(c echo.Context) error {
	key, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	if isJSONLines(c) {
		return s.handleBatchStream(c, key)
	}
	body, err := readBody(c, s.cfg.BatchBodyMaxBytes)
	if err != nil {
		return err
	}
	br, err := decodeBatch(body)
	if err != nil {
		return err
	}
	// Every command goes to the writer, which validates each one, checks the principal's
	// scope over every line (a command outside it refuses the whole batch, atomic or
	// not: it is an authorization failure of the request) and names refusals by their
	// index in the request.
	cmds := br.commands
	if br.atomic {
		// Shape first, as for a single write: the first malformed command refuses the
		// batch before anything is checked against the ledger.
		for i, cmd := range cmds {
			if err := cmd.Validate(); err != nil {
				return ledger.WithFieldPrefix(err, "commands["+strconv.Itoa(i)+"]")
			}
		}
	}
	req := newRequest(c, key, br.atomic, cmds...)
	if key != "" {
		req.Hash = fingerprint(c.Path(), br)
	}
	res, err := s.submit(c, req)
	if err != nil {
		return err
	}
	refused := make([]rejection, 0, len(res.Rejections))
	for _, r := range res.Rejections {
		refused = append(refused, rejection{r.Index, r.Err})
	}
	if res.Err != nil {
		err := res.Err
		if len(cmds) == 1 && isCommandError(err) {
			// The writer names no index for a request of one command.
			err = ledger.WithFieldPrefix(err, "commands[0]")
			if !br.atomic {
				return refusedWhole([]rejection{{0, err}})
			}
		}
		if !br.atomic && len(refused) == len(cmds) {
			return refusedWhole(refused)
		}
		return err
	}
	events, err := s.resultEvents(c, res, len(cmds)-len(res.Rejections))
	if err != nil {
		return err
	}
	b := make([]byte, 0, 64+len(events)*768)
	if br.atomic {
		b = append(b, `{"events":[`...)
		for i, e := range events {
			if i > 0 {
				b = append(b, ',')
			}
			b = e.AppendJSON(b)
		}
		b = append(b, "]}"...)
		return c.Blob(http.StatusCreated, echo.MIMEApplicationJSON, b)
	}
	sort.Slice(refused, func(a, b int) bool { return refused[a].index < refused[b].index })
	b = append(b, `{"recorded":`...)
	b = strconv.AppendInt(b, int64(len(events)), 10)
	b = append(b, `,"refused":`...)
	b = strconv.AppendInt(b, int64(len(refused)), 10)
	b = append(b, `,"results":[`...)
	next, ev := 0, 0
	for i := range br.commands {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		if next < len(refused) && refused[next].index == i {
			pb, err := json.Marshal(problemFor(refused[next].err))
			if err != nil {
				return err
			}
			b = append(append(append(b, `,"error":`...), pb...), '}')
			next++
			continue
		}
		if ev >= len(events) {
			return fmt.Errorf("batch answer: %d events for %d accepted commands", len(events), len(br.commands)-len(refused))
		}
		b = append(events[ev].AppendJSON(append(b, `,"event":`...)), '}')
		ev++
	}
	b = append(b, "]}"...)
	return c.Blob(http.StatusCreated, echo.MIMEApplicationJSON, b)
}

// refusedWhole is the answer to a non-atomic batch none of whose commands was recorded:
// the problem of the first refusal, listing every refusal in "errors".
func refusedWhole(refused []rejection) error {
	sort.Slice(refused, func(a, b int) bool { return refused[a].index < refused[b].index })
	p := problemFor(refused[0].err)
	p.Errors = make([]batchResult, len(refused))
	for i, r := range refused {
		p.Errors[i] = batchResult{Index: r.index, Error: problemFor(r.err)}
	}
	return &problemError{p}
}

// problemError carries a ready-made problem to the error handler.
type problemError struct{ p *problem }

func (e *problemError) Error() string { return e.p.Detail }

// isCommandError reports whether err refuses one command (as opposed to the request:
// idempotency conflict, unavailable, internal).
func isCommandError(err error) bool {
	switch ledger.Code(err) {
	case ledger.CodeInvalidArgument, ledger.CodeUnknownReference, ledger.CodeInsufficientFunds, ledger.CodeNotFound:
		return true
	}
	return false
}
