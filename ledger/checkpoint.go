package ledger

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// pemTypePrivateKey is the PEM block type of a signing key file: PKCS #8, the form
// `openssl genpkey -algorithm ed25519` writes and `openssl pkey` reads.
const pemTypePrivateKey = "PRIVATE KEY"

// MarshalSigningKey returns key as a PEM-encoded PKCS #8 private key file.
func MarshalSigningKey(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode signing key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemTypePrivateKey, Bytes: der}), nil
}

// ParseSigningKey reads a PEM-encoded PKCS #8 Ed25519 private key, as MarshalSigningKey
// or openssl writes it. It returns an error saying what is wrong with the file.
func ParseSigningKey(b []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != pemTypePrivateKey {
		return nil, errors.New("not a PEM \"PRIVATE KEY\" file")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse signing key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key is a %T, not an Ed25519 key", k)
	}
	return priv, nil
}
