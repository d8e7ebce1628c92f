package ledger

import (
	"bufio"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
)

// Export formats of `ledger export` and GET /v1/events/export.
const (
	// ExportJSONL is one event per line in its JSON form ((*Event).MarshalJSON): what
	// `ledger import` restores and tools/verify_chain.py re-verifies.
	ExportJSONL = "jsonl"
	// ExportCSV is one event per row with ExportCSVColumns, for spreadsheets. The data and
	// metadata columns hold the canonical JSON, so the row keeps everything that was hashed
	// (unchanged: it starts with "{"). Every other text cell is neutralised against
	// formulas (NeutraliseCSVText); the file starts with UTF8BOM unless asked not to.
	ExportCSV = "csv"
)

// exportBufferBytes is the write buffer of an Exporter: large enough that a stream of
// events costs few writes, small enough for an HTTP response.
const exportBufferBytes = 64 << 10

// ExportCSVColumns is the header row of a CSV export.
var ExportCSVColumns = []string{"position", "id", "type", "effective_date", "recorded_at", "line", "counter_line", "amount",
	"kind", "event_id", "into_year", "decision", "payee", "voucher_office", "voucher_type", "voucher_number", "voucher_date",
	"note", "reason", "actor", "request_id", "data", "metadata", "prev_hash", "hash"}

// exportCSVTextColumns are the columns of ExportCSVColumns that hold free or catalog text:
// the ones neutralised against formulas. The others are numbers, dates, ids, hex hashes
// and canonical JSON, which cannot start with a formula character.
var exportCSVTextColumns = []int{5, 6, 8, 9, 11, 12, 13, 14, 15, 17, 18, 19, 20}

// Exporter writes events in an export format. It buffers: call Flush at the end. It is
// not safe for concurrent use.
type Exporter struct {
	format string
	bw     *bufio.Writer
	cw     *csv.Writer
	buf    []byte
	row    []string
	n      int64
}

// NewExporter returns an Exporter writing format (ExportJSONL or ExportCSV) to w; a CSV
// export starts with UTF8BOM when bom is true (bom is ignored for JSONL), then the header
// row. It returns an invalid_argument *Error on field "format" for another format.
func NewExporter(w io.Writer, format string, bom bool) (*Exporter, error) {
	x := &Exporter{format: format, bw: bufio.NewWriterSize(w, exportBufferBytes)}
	switch format {
	case ExportJSONL:
	case ExportCSV:
		if bom {
			_, _ = x.bw.WriteString(UTF8BOM) // a write error surfaces at Flush
		}
		x.cw = csv.NewWriter(x.bw)
		x.row = make([]string, len(ExportCSVColumns))
		if err := x.cw.Write(ExportCSVColumns); err != nil {
			return nil, err
		}
	default:
		return nil, invalid("format", "%q is not %s or %s", format, ExportJSONL, ExportCSV)
	}
	return x, nil
}

// Write writes one event. It returns the writer's error.
func (x *Exporter) Write(e *Event) error {
	x.n++
	if x.cw == nil {
		x.buf = e.AppendJSON(x.buf[:0])
		x.buf = append(x.buf, '\n')
		_, err := x.bw.Write(x.buf)
		return err
	}
	d := &e.Data
	r := x.row
	clear(r)
	r[0] = strconv.FormatInt(e.Position, 10)
	r[1] = e.ID.String()
	r[2] = string(e.Type)
	r[3] = e.EffectiveDate.String()
	r[4] = FormatRecordedAt(e.RecordedAt)
	if l := e.MainLine(); l != nil {
		r[5] = l.ID()
	}
	if d.To != nil {
		r[6] = d.To.ID()
	}
	if d.Amount != 0 {
		r[7] = strconv.FormatInt(d.Amount, 10)
	}
	r[8], r[9] = d.Kind, d.EventID
	if d.IntoYear != 0 {
		r[10] = strconv.Itoa(d.IntoYear)
	}
	r[11], r[12] = d.Decision, d.Payee
	if v := d.Voucher; v != nil {
		r[13], r[14], r[15] = v.Office, v.Type, v.Number
		if v.Date != 0 {
			r[16] = v.Date.String()
		}
	}
	r[17], r[18] = d.Note, d.Reason
	r[19], r[20] = e.Meta.Actor, e.Meta.RequestID
	r[21] = string(AppendCanonicalData(x.buf[:0], d))
	r[22] = string(AppendCanonicalMeta(x.buf[:0], &e.Meta))
	r[23], r[24] = hex.EncodeToString(e.PrevHash[:]), hex.EncodeToString(e.Hash[:])
	for _, i := range exportCSVTextColumns {
		r[i] = NeutraliseCSVText(r[i])
	}
	return x.cw.Write(r)
}

// Count returns how many events were written.
func (x *Exporter) Count() int64 { return x.n }

// Flush writes what is buffered and returns the first write error.
func (x *Exporter) Flush() error {
	if x.cw != nil {
		x.cw.Flush()
		if err := x.cw.Error(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	if err := x.bw.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// ExportLineMaxBytes bounds one line of a JSONL export when it is read back. An event's
// JSON form is far smaller: its free texts are bounded when the command is validated.
const ExportLineMaxBytes = 1 << 20

// ReadJSONL calls fn with each event of a JSONL export read from r, in file order. Blank
// lines are skipped. It returns fn's first error unwrapped, or an invalid_argument *Error
// naming the line number of a line that does not decode.
func ReadJSONL(r io.Reader, fn func(*Event) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, exportBufferBytes), ExportLineMaxBytes)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		e := new(Event)
		if err := e.UnmarshalJSON(line); err != nil {
			return invalid("line "+strconv.Itoa(n), "not an exported event: %v", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read export after line %d: %w", n, err)
	}
	return nil
}
