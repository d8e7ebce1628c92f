package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// keyFileMode keeps a private key readable by its owner only.
const keyFileMode = 0o600

// keys generates a checkpoint signing key (--generate --out FILE) or lists the public
// keys registered in the database. A key is registered when `ledger serve
// --signing-key FILE` starts with it; keys are never removed, so that checkpoints signed
// before a rotation stay verifiable.
func keys(ctx context.Context, cfg *Config, stdout io.Writer) error {
	a := &cfg.Audit
	if a.Generate {
		if a.Out == "" {
			return errors.New("keys: --generate needs --out FILE for the private key")
		}
		pub, err := generateKey(a.Out)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "private key written to %s (mode 0600): keep it off the database host\npublic key %s\nkey id     %s\n",
			a.Out, base64.StdEncoding.EncodeToString(pub), ledger.KeyID(pub))
		return nil
	}
	store, err := pgstore.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	ks, err := store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	if len(ks) == 0 {
		fmt.Fprintln(stdout, "no signing key registered (start serve with --signing-key)")
	}
	for _, k := range ks {
		fmt.Fprintf(stdout, "%s  %s  registered %s\n", k.KeyID, base64.StdEncoding.EncodeToString(k.PublicKey), k.CreatedAt.Format(time.RFC3339))
	}
	return nil
}

// generateKey writes a new Ed25519 private key to path, which must not exist: a key that
// signed checkpoints is never overwritten by mistake. It returns the public key.
func generateKey(path string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	pemBytes, err := ledger.MarshalSigningKey(priv)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, keyFileMode)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if _, err := f.Write(pemBytes); err != nil {
		f.Close()
		return nil, fmt.Errorf("keys: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return pub, nil
}

// loadSigningKey reads the private key file of serve --signing-key.
func loadSigningKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	k, err := ledger.ParseSigningKey(b)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return k, nil
}

// startCheckpointer starts the checkpointer of serve when --signing-key is given, signing
// the sequencer's head (head) every --checkpoint-every events or --checkpoint-interval.
// stop ends it, after it has signed the last head; call it after the sequencer stopped
// and before the store is closed. Without a key it does nothing and stop is a no-op. It
// returns an error when the key file cannot be read.
func startCheckpointer(cfg *Config, store *pgstore.Store, head func() ledger.Head, onCheckpoint func(ledger.Checkpoint)) (stop func(), err error) {
	a := &cfg.Audit
	if a.SigningKey == "" {
		cfg.Logger.Warn("no --signing-key: checkpoints are not signed, so a rewrite of history with recomputed hashes would go unnoticed")
		return func() {}, nil
	}
	key, err := loadSigningKey(a.SigningKey)
	if err != nil {
		return nil, err
	}
	cp := pgstore.NewCheckpointer(pgstore.CheckpointerConfig{Store: store, Key: key, Head: head,
		Every: a.CheckpointEvery, Interval: a.CheckpointInterval, OnCheckpoint: onCheckpoint, Logger: cfg.Logger})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := cp.Run(ctx); err != nil {
			cfg.Logger.Error("checkpointer stopped", "error", err)
		}
	}()
	return func() { cancel(); <-done }, nil
}
