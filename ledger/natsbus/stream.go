package natsbus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vnntp/ledger/ledger"
)

// The stream and its subjects. They are part of the public contract: consumers filter on
// them. Never rename one.
const (
	// StreamName is the JetStream stream that holds every committed event.
	StreamName = "LEDGER"
	// SubjectPrefix starts every event subject.
	SubjectPrefix = "ledger.ev"
	// SubjectAll matches every event subject; it is the stream's only subject.
	SubjectAll = SubjectPrefix + ".>"
	// NoUnitToken stands for "no province" or "no district" in a subject: catalog events,
	// events without a line, and lines held by a province (no district). A unit whose id
	// is "_" is written as %5F, so the token stays unambiguous.
	NoUnitToken = "_"
)

// Stream settings. Every setting of the stream is spelled out in jetstreamConfig; these
// are the ones with a number.
const (
	// DefaultReplicas is for the embedded single server; production uses 3 (a 3-node
	// JetStream cluster survives the loss of one node).
	DefaultReplicas = 1
	// DefaultDuplicateWindow is how long the stream remembers message ids (event ids):
	// JetStream keeps each in a map for that long. The relay never relies on it: the
	// expected last sequence and message id refuse a duplicate at any age, and after a
	// lost ack the relay starts again from the stream's last sequence instead of sending
	// the message again. At 2 minutes (NATS's default) a catch-up of millions of events
	// held every id in memory, and growing the map showed in the server's profile.
	DefaultDuplicateWindow = time.Second
	// checkpointDuplicateWindow is the CHECKPOINTS stream's: a checkpoint publish that
	// is retried after a lost ack within it is stored once.
	checkpointDuplicateWindow = 2 * time.Minute
	// DefaultMaxMsgSize bounds one message. An event is a few hundred bytes; its largest
	// possible form (every text field at its 500-byte limit, fully escaped) stays far below
	// this, and it is below nats-server's default max_payload of 1 MiB.
	DefaultMaxMsgSize = 256 << 10
)

// StreamConfig is the part of the LEDGER stream's configuration that differs between
// installs. The zero value is the embedded single-server setup.
type StreamConfig struct {
	// Replicas is the number of copies in a JetStream cluster; 0 means DefaultReplicas.
	Replicas int
	// DuplicateWindow; 0 means DefaultDuplicateWindow.
	DuplicateWindow time.Duration
	// MaxMsgSize in bytes; 0 means DefaultMaxMsgSize.
	MaxMsgSize int32
}

// jetstreamConfig returns the full stream configuration, every setting explicit.
func (c StreamConfig) jetstreamConfig() jetstream.StreamConfig {
	replicas, dup, maxMsg := c.Replicas, c.DuplicateWindow, c.MaxMsgSize
	if replicas == 0 {
		replicas = DefaultReplicas
	}
	if dup == 0 {
		dup = DefaultDuplicateWindow
	}
	if maxMsg == 0 {
		maxMsg = DefaultMaxMsgSize
	}
	return jetstream.StreamConfig{
		Name:        StreamName,
		Description: "Committed ledger events; stream sequence == ledger position. Rebuilt from PostgreSQL when lost.",
		Subjects:    []string{SubjectAll},
		// Limits retention with no limit: the stream keeps every event, like the ledger.
		Retention:         jetstream.LimitsPolicy,
		MaxConsumers:      -1,
		MaxMsgs:           -1,
		MaxBytes:          -1,
		MaxAge:            0, // forever
		MaxMsgsPerSubject: -1,
		MaxMsgSize:        maxMsg,
		// DiscardNew: were a limit ever set, publishing fails loudly instead of silently
		// dropping the oldest events.
		Discard:    jetstream.DiscardNew,
		Storage:    jetstream.FileStorage,
		Replicas:   replicas,
		NoAck:      false,
		Duplicates: dup,
		// Append-only, like the events table: no message can be deleted or purged through
		// the API, and no rollup can replace history.
		DenyDelete:  true,
		DenyPurge:   true,
		AllowRollup: false,
		// Direct get lets any replica of the stream answer a get by sequence.
		AllowDirect: true,
		Compression: jetstream.NoCompression,
		PersistMode: persistMode(replicas),
	}
}

// persistMode is how the stream's messages reach its disk. A stream of one replica
// flushes them in the background (AsyncPersistMode) instead of writing each one through
// to the file on its own: its source of truth is PostgreSQL, and the few messages a crash
// may cost are published again by the relay, which resumes after the stream's last
// sequence. A replicated stream already writes asynchronously behind its Raft log, and
// NATS refuses the mode there.
func persistMode(replicas int) jetstream.PersistModeType {
	if replicas == 1 {
		return jetstream.AsyncPersistMode
	}
	return jetstream.DefaultPersistMode
}

// EnsureStream creates the LEDGER stream, or updates it to cfg when it exists, and
// returns it. It returns the JetStream API error, wrapped, when the existing stream
// cannot be changed to cfg (its storage type, for instance). An existing stream keeps its
// persist mode, which NATS does not change on an update.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) (jetstream.Stream, error) {
	want := cfg.jetstreamConfig()
	if old, err := js.Stream(ctx, StreamName); err == nil {
		want.PersistMode = old.CachedInfo().Config.PersistMode
	} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("look up stream %s: %w", StreamName, err)
	}
	s, err := js.CreateOrUpdateStream(ctx, want)
	if err != nil {
		return nil, fmt.Errorf("create or update stream %s: %w", StreamName, err)
	}
	return s, nil
}

// Subject returns ledger.ev.<province>.<district>.<type> for e: the province and
// district that hold the unit of e's main line (ledger.Event.MainLine), looked up in
// units. Catalog events and events without a line use NoUnitToken for both; a line held
// by a province, or by a commune under a province (from the 2025 reorganisation, which
// abolished districts), uses it for the district. Unit ids are escaped with Token, and the dots
// of the event type become underscores (funds.disbursed → funds_disbursed). It returns
// an error when the line's unit is not in units.
func Subject(e *ledger.Event, units *UnitTree) (string, error) {
	province, district := NoUnitToken, NoUnitToken
	if l := e.MainLine(); l != nil {
		if _, ok := units.cat.Units[l.Unit]; !ok {
			return "", fmt.Errorf("event at position %d: unit %q of its line is not in the catalog", e.Position, l.Unit)
		}
		anc := units.cat.Ancestry(l.Unit)
		if p := anc[ledger.LevelProvince.Depth()]; p != "" {
			province = Token(p)
		}
		if d := anc[ledger.LevelDistrict.Depth()]; d != "" {
			district = Token(d)
		}
	}
	b := make([]byte, 0, len(SubjectPrefix)+len(province)+len(district)+len(e.Type)+3)
	b = append(b, SubjectPrefix...)
	b = append(b, '.')
	b = append(b, province...)
	b = append(b, '.')
	b = append(b, district...)
	b = append(b, '.')
	b = append(b, TypeToken(e.Type)...)
	return string(b), nil
}

// TypeToken returns the subject token of an event type: dots become underscores
// (catalog.unit_registered → catalog_unit_registered). The event types are a fixed set
// and no two of them map to the same token (a test checks it).
func TypeToken(typ ledger.EventType) string {
	b := []byte(typ)
	for i, c := range b {
		if c == '.' {
			b[i] = '_'
		}
	}
	return Token(string(b))
}

// Token escapes s for use as one subject token: bytes outside A-Z a-z 0-9 '_' '-' become
// %XX (upper-case hex), so '.', '*', '>' and white space, which NATS gives a meaning, never
// appear, and the encoding is reversible. The lone "_" becomes %5F because NoUnitToken
// means "none".
func Token(s string) string {
	if s == NoUnitToken {
		return "%5F"
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if !tokenByte(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if tokenByte(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

func tokenByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// UnitTree is the part of the catalog that subjects need: the units. Units are
// registered once and never change (ledger.RegisterUnit), so a tree learnt at any later
// position gives the same subjects for every earlier event. The zero UnitTree is empty
// and ready to use; it is not safe for concurrent use.
type UnitTree struct {
	cat ledger.Catalog
}

// NewUnitTree copies the units of c (nil means none).
func NewUnitTree(c *ledger.Catalog) *UnitTree {
	t := &UnitTree{cat: ledger.Catalog{Units: map[string]*ledger.Unit{}}}
	if c != nil {
		for id, u := range c.Units {
			t.cat.Units[id] = u
		}
	}
	return t
}

// Apply learns the unit that e registers, if it is a catalog.unit_registered event.
func (t *UnitTree) Apply(e *ledger.Event) {
	if e.Type != ledger.TypeUnitRegistered || e.Data.Unit == nil {
		return
	}
	if t.cat.Units == nil {
		t.cat.Units = map[string]*ledger.Unit{}
	}
	t.cat.Units[e.Data.Unit.ID] = e.Data.Unit
}
