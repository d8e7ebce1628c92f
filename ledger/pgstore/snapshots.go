package pgstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Snapshot storage limits (migration 00010).
const (
	// SnapshotChunkBytes is the size of the pieces a snapshot's bytes are stored in:
	// PostgreSQL holds at most 1 GB in one value, and smaller pieces keep the memory of
	// one round trip small.
	SnapshotChunkBytes = 16 << 20
	// SnapshotsKept is how many snapshots SaveSnapshot leaves, the new one included: the
	// one before stays as a fallback should the newest not verify.
	SnapshotsKept = 2
)

// SnapshotInfo describes a stored snapshot; the bytes are read with SnapshotData.
type SnapshotInfo struct {
	ID          int64
	Position    int64    // the last event folded into it
	Hash        [32]byte // the chain hash of that event
	Format      int      // the layout version of the bytes
	Fingerprint [32]byte // of the Go types the bytes were encoded from
	Checksum    [32]byte // SHA-256 of the bytes
	Size        int64
	TakenAt     time.Time
	Duration    time.Duration // taking it: folding and encoding, not storing
}

// ErrNoSnapshot is returned by SnapshotData for an id that is not stored.
var ErrNoSnapshot = errors.New("no such snapshot")

// SaveSnapshot stores data as a snapshot described by info (its ID, Checksum and Size are
// set here) in one transaction, and deletes the snapshots older than the SnapshotsKept
// newest. It returns the stored description.
func (s *Store) SaveSnapshot(ctx context.Context, info SnapshotInfo, data []byte) (SnapshotInfo, error) {
	info.Checksum = sha256.Sum256(data)
	info.Size = int64(len(data))
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO snapshots (position, hash, format, fingerprint, checksum, size, taken_at, duration_ms)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			info.Position, info.Hash[:], info.Format, info.Fingerprint[:], info.Checksum[:], info.Size,
			info.TakenAt.UTC(), info.Duration.Milliseconds()).Scan(&info.ID)
		if err != nil {
			return err
		}
		for seq := 0; len(data) > 0 || seq == 0; seq++ {
			n := min(len(data), SnapshotChunkBytes)
			if _, err := tx.Exec(ctx, `INSERT INTO snapshot_chunks (snapshot_id, seq, data) VALUES ($1, $2, $3)`,
				info.ID, seq, data[:n]); err != nil {
				return err
			}
			data = data[n:]
		}
		_, err = tx.Exec(ctx, `DELETE FROM snapshots WHERE id NOT IN
			(SELECT id FROM snapshots ORDER BY position DESC, id DESC LIMIT $1)`, SnapshotsKept)
		return err
	})
	if err != nil {
		return info, fmt.Errorf("store the snapshot at position %d: %w", info.Position, err)
	}
	return info, nil
}

// Snapshots returns the stored snapshots, newest (highest position) first.
func (s *Store) Snapshots(ctx context.Context) ([]SnapshotInfo, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, position, hash, format, fingerprint, checksum, size, taken_at, duration_ms
		FROM snapshots ORDER BY position DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SnapshotInfo, error) {
		var i SnapshotInfo
		var hash, fp, sum []byte
		var ms int64
		err := r.Scan(&i.ID, &i.Position, &hash, &i.Format, &fp, &sum, &i.Size, &i.TakenAt, &ms)
		copy(i.Hash[:], hash)
		copy(i.Fingerprint[:], fp)
		copy(i.Checksum[:], sum)
		i.TakenAt, i.Duration = i.TakenAt.UTC(), time.Duration(ms)*time.Millisecond
		return i, err
	})
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	return out, nil
}

// SnapshotData returns the bytes of snapshot id, chunks joined, without checking them
// (the caller compares them with the size and checksum). It returns ErrNoSnapshot for an
// unknown id.
func (s *Store) SnapshotData(ctx context.Context, id int64) ([]byte, error) {
	var size int64
	if err := s.pool.QueryRow(ctx, `SELECT size FROM snapshots WHERE id = $1`, id).Scan(&size); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("snapshot %d: %w", id, ErrNoSnapshot)
		}
		return nil, fmt.Errorf("read snapshot %d: %w", id, err)
	}
	data := make([]byte, 0, min(size, SnapshotChunkBytes)) // the recorded size is checked, not trusted
	rows, err := s.pool.Query(ctx, `SELECT data FROM snapshot_chunks WHERE snapshot_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("read snapshot %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		data = append(data, rows.RawValues()[0]...)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read snapshot %d: %w", id, err)
	}
	return data, nil
}

// HashAt returns the chain hash of the event at position pos (the genesis hash, 32 zero
// bytes, at 0), and false when no event has that position.
func (s *Store) HashAt(ctx context.Context, pos int64) ([32]byte, bool, error) {
	var h [32]byte
	if pos == 0 {
		return h, true, nil
	}
	var b []byte
	err := s.pool.QueryRow(ctx, `SELECT hash FROM events WHERE position = $1`, pos).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return h, false, nil
	}
	if err != nil {
		return h, false, fmt.Errorf("read the hash at position %d: %w", pos, err)
	}
	copy(h[:], b)
	return h, true, nil
}
