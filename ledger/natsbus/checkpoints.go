package natsbus

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/vnntp/ledger/ledger"
)

// Signed checkpoints leave the database host on NATS (docs/design.md §5): each one is
// published on CheckpointSubject and kept by the CHECKPOINTS stream, replicated like the
// events, so that a rewrite of history in PostgreSQL cannot also rewrite every copy of
// the signatures.
const (
	CheckpointSubject = "ledger.checkpoints"
	CheckpointStream  = "CHECKPOINTS"
	// checkpointPublishTimeout bounds one publish; a checkpoint that could not be
	// published stays in PostgreSQL, and the next one is published as usual.
	checkpointPublishTimeout = 5 * time.Second
)

// CheckpointPublisher publishes signed checkpoints. It is safe for concurrent use.
type CheckpointPublisher struct {
	js       jetstream.JetStream
	replicas int
}

// NewCheckpointPublisher returns a publisher on js whose stream has replicas copies
// (0 means DefaultReplicas).
func NewCheckpointPublisher(js jetstream.JetStream, replicas int) *CheckpointPublisher {
	if replicas == 0 {
		replicas = DefaultReplicas
	}
	return &CheckpointPublisher{js: js, replicas: replicas}
}

// Publish ensures the CHECKPOINTS stream and publishes cp as JSON with Nats-Msg-Id =
// its position, so a retried publish is not kept twice. It returns the NATS error.
func (p *CheckpointPublisher) Publish(ctx context.Context, cp ledger.Checkpoint) error {
	ctx, cancel := context.WithTimeout(ctx, checkpointPublishTimeout)
	defer cancel()
	_, err := p.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        CheckpointStream,
		Description: "Signed checkpoints (position, hash, time, key id, Ed25519 signature) of the ledger.",
		Subjects:    []string{CheckpointSubject},
		Retention:   jetstream.LimitsPolicy,
		MaxMsgs:     -1, MaxBytes: -1, MaxAge: 0, MaxMsgsPerSubject: -1,
		Discard:    jetstream.DiscardNew,
		Storage:    jetstream.FileStorage,
		Replicas:   p.replicas,
		Duplicates: checkpointDuplicateWindow,
		DenyDelete: true, DenyPurge: true,
	})
	if err != nil {
		return fmt.Errorf("create or update stream %s: %w", CheckpointStream, err)
	}
	body, err := cp.MarshalJSON()
	if err != nil {
		return err
	}
	if _, err := p.js.Publish(ctx, CheckpointSubject, body, jetstream.WithMsgID(strconv.FormatInt(cp.Position, 10))); err != nil {
		return fmt.Errorf("publish checkpoint at position %d: %w", cp.Position, err)
	}
	return nil
}
