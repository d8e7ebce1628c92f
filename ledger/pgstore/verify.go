package pgstore

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/vnntp/ledger/ledger"
)

// verifyProgressEvery is how many events pass between two Progress calls of Verify.
const verifyProgressEvery = 10_000

// verifyColumns is eventColumns plus the typed columns that must agree with the data.
const verifyColumns = eventColumns + `, amount, line, counter_line, original_id, voucher_office, voucher_type, voucher_number, voucher_date, voucher_key`

// Verify checks the stored chain from opt.From to opt.To (0: the head when Verify
// starts): gapless positions, every link, every hash over the stored content (read with
// no unknown member tolerated), the typed columns against the data, and every signed
// checkpoint in the range (signature with a registered key, hash equal to the chain's).
// It stops at the first finding, which the report names (OK false). The error is for a
// store that cannot be read, wrapped.
//
// It is the check behind `ledger verify` and GET /v1/verify. It reads at
// ReadPageEvents per query and is safe to run beside a live writer: the checkpoints are
// read before the head, so none of them lies beyond the head it checks up to.
func (s *Store) Verify(ctx context.Context, opt ledger.VerifyOptions) (ledger.VerifyReport, error) {
	first := max(opt.From, 1)
	keys, err := s.SigningKeys(ctx)
	if err != nil {
		return ledger.VerifyReport{}, err
	}
	pubs := make(map[string]ed25519.PublicKey, len(keys))
	for _, k := range keys {
		pubs[k.KeyID] = k.PublicKey
	}
	cps, err := s.checkpointsRange(ctx, first, opt.To)
	if err != nil {
		return ledger.VerifyReport{}, err
	}
	last := opt.To
	if last == 0 {
		if last, _, err = s.Head(ctx); err != nil {
			return ledger.VerifyReport{}, err
		}
	}
	prev := ledger.GenesisHash
	if first > 1 {
		var h []byte
		err := s.pool.QueryRow(ctx, `SELECT hash FROM events WHERE position = $1`, first-1).Scan(&h)
		if errors.Is(err, pgx.ErrNoRows) {
			v := ledger.NewVerifier(first, prev, opt.To, nil, nil)
			_ = v.Fail(first-1, ledger.FindingMissingPosition, fmt.Sprintf("no event at position %d, before the range to check", first-1))
			return v.Report(), nil
		}
		if err != nil {
			return ledger.VerifyReport{}, fmt.Errorf("verify: read position %d: %w", first-1, err)
		}
		copy(prev[:], h)
	}
	v := ledger.NewVerifier(first, prev, opt.To, cps, pubs)
	var d verifyDecoder
	after, n := first-1, int64(0)
	for after < last {
		read := 0
		rows, err := s.pool.Query(ctx, `SELECT `+verifyColumns+` FROM events WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3`,
			after, last, ReadPageEvents)
		if err != nil {
			return ledger.VerifyReport{}, fmt.Errorf("verify: read events after %d: %w", after, err)
		}
		for rows.Next() {
			read++
			e, err := d.scan(rows)
			if err != nil {
				rows.Close()
				return ledger.VerifyReport{}, fmt.Errorf("verify: %w", err)
			}
			after = e.Position
			var finding error
			if d.bad != "" && e.Position == v.Next() {
				finding = v.Fail(e.Position, ledger.FindingHashMismatch, d.bad)
			} else if finding = v.Add(e); finding == nil {
				if msg := d.columnMismatch(e); msg != "" {
					finding = v.Fail(e.Position, ledger.FindingColumnMismatch, msg)
				}
			}
			if finding != nil {
				rows.Close()
				return v.Report(), nil
			}
			if n++; opt.Progress != nil && n%verifyProgressEvery == 0 {
				opt.Progress(e.Position, last)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return ledger.VerifyReport{}, fmt.Errorf("verify: read events after %d: %w", after, err)
		}
		if read < ReadPageEvents {
			break
		}
	}
	if opt.Progress != nil {
		opt.Progress(v.Next()-1, last)
	}
	_ = v.Finish()
	return v.Report(), nil
}

// verifyDecoder turns rows of verifyColumns into events, strictly: a member of data or
// metadata that the event format does not have is a finding (bad), because the hash
// check could not see it. The typed columns are kept for columnMismatch.
type verifyDecoder struct {
	effective, recorded        time.Time
	data, meta, prevHash, hash pgtype.DriverBytes
	amount                     pgtype.Int8
	line, counterLine          pgtype.Text
	originalID                 pgtype.UUID
	vOffice, vType, vNumber    pgtype.Text
	vDate                      pgtype.Date
	vKey                       pgtype.Text // NULL for events recorded before migration 00008
	bad                        string
}

func (d *verifyDecoder) scan(rows pgx.Rows) (*ledger.Event, error) {
	e := new(ledger.Event)
	if err := rows.Scan(&e.Position, &e.ID, &e.Type, &d.effective, &d.recorded, &d.data, &d.meta, &d.prevHash, &d.hash,
		&d.amount, &d.line, &d.counterLine, &d.originalID, &d.vOffice, &d.vType, &d.vNumber, &d.vDate, &d.vKey); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	e.EffectiveDate = ledger.DateOf(d.effective)
	e.RecordedAt = d.recorded.UTC()
	d.bad = ""
	if err := strictUnmarshal(d.data, &e.Data); err != nil {
		d.bad = fmt.Sprintf("stored data does not decode as event data: %v", err)
	} else if err := strictUnmarshal(d.meta, &e.Meta); err != nil {
		d.bad = fmt.Sprintf("stored metadata does not decode: %v", err)
	}
	if len(d.prevHash) != len(e.PrevHash) || len(d.hash) != len(e.Hash) {
		d.bad = fmt.Sprintf("hashes must have %d bytes", len(e.Hash))
	}
	copy(e.PrevHash[:], d.prevHash)
	copy(e.Hash[:], d.hash)
	return e, nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// columnMismatch compares the typed columns with what the writer derives from the data
// (insert.go, inserter.encodeEvents) and describes the first difference, or returns "".
func (d *verifyDecoder) columnMismatch(e *ledger.Event) string {
	data := &e.Data
	var wantAmount int64
	var wantLine, wantCounter string
	if l := e.MainLine(); l != nil {
		wantAmount, wantLine = data.Amount, l.ID()
	}
	if data.To != nil {
		wantCounter = data.To.ID()
	}
	if got := nullInt(d.amount); got != wantAmount {
		return fmt.Sprintf("column amount is %d, the data says %d", got, wantAmount)
	}
	if got := nullText(d.line); got != wantLine {
		return fmt.Sprintf("column line is %q, the data says %q", got, wantLine)
	}
	if got := nullText(d.counterLine); got != wantCounter {
		return fmt.Sprintf("column counter_line is %q, the data says %q", got, wantCounter)
	}
	var wantOriginal string
	if data.EventID != "" {
		if id, err := uuid.Parse(data.EventID); err == nil {
			wantOriginal = id.String()
		}
	}
	gotOriginal := ""
	if d.originalID.Valid {
		gotOriginal = uuid.UUID(d.originalID.Bytes).String()
	}
	if gotOriginal != wantOriginal {
		return fmt.Sprintf("column original_id is %q, the data says %q", gotOriginal, wantOriginal)
	}
	var vo ledger.Voucher
	if data.Voucher != nil {
		vo = *data.Voucher
	}
	var gotDate ledger.Date
	if d.vDate.Valid {
		gotDate = ledger.DateOf(d.vDate.Time)
	}
	if nullText(d.vOffice) != vo.Office || nullText(d.vType) != vo.Type || nullText(d.vNumber) != vo.Number || gotDate != vo.Date {
		return fmt.Sprintf("voucher columns (%q, %q, %q, %s) differ from the data's voucher (%q, %q, %q, %s)",
			nullText(d.vOffice), nullText(d.vType), nullText(d.vNumber), gotDate, vo.Office, vo.Type, vo.Number, vo.Date)
	}
	// voucher_key is the voucher's identity; events recorded before it existed keep NULL.
	if d.vKey.Valid && (data.Voucher == nil || d.vKey.String != data.Voucher.Identity()) {
		return fmt.Sprintf("column voucher_key is %q, the data's voucher has identity %q", d.vKey.String, vo.Identity())
	}
	return ""
}

func nullInt(v pgtype.Int8) int64 {
	if !v.Valid {
		return 0
	}
	return v.Int64
}

func nullText(v pgtype.Text) string {
	if !v.Valid {
		return ""
	}
	return v.String
}
