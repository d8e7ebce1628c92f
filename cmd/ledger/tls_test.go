package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger/natsbus"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key as PEM files in
// dir and returns their paths and the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ledger test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

// TestServeTLS runs `ledger serve --tls-cert --tls-key` with a certificate made here:
// the API answers over HTTPS, plain HTTP is refused, and the dashboard's session cookie
// is Secure (and HttpOnly, SameSite=Strict).
func TestServeTLS(t *testing.T) {
	certFile, keyFile, cert := selfSigned(t, t.TempDir())
	s := startServer(t, testenv.DB(t), "--tls-cert", certFile, "--tls-key", keyFile, "--bootstrap-token", e2eAdminToken)
	if !strings.HasPrefix(s.url, "https://") {
		t.Fatalf("serving on %s, want https://", s.url)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	c := &http.Client{Timeout: 10 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, s.url+"/v1/head", nil)
	req.Header.Set("Authorization", "Bearer "+e2eAdminToken)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.TLS == nil {
		t.Fatalf("GET /v1/head over TLS: %d", res.StatusCode)
	}
	// Plain HTTP to the TLS port gets no API answer.
	if res, err := client.Get("http://" + strings.TrimPrefix(s.url, "https://") + "/healthz"); err == nil {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP on the TLS port answered 200: %s", body)
		}
	}
	// Sign in to the dashboard: the session cookie is Secure.
	form := url.Values{"token": {e2eAdminToken}, "lang": {"en"}}
	req, _ = http.NewRequest(http.MethodPost, s.url+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.url)
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in over TLS: %d", res.StatusCode)
	}
	var session *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "ledger_session" {
			session = ck
		}
	}
	if session == nil || !session.Secure || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie %+v, want Secure, HttpOnly, SameSite=Strict", session)
	}
}

// TestDemoTokenAndSecretFiles: the README's demo token is refused outside --demo, and
// LEDGER_*_FILE variables read secrets from files.
func TestDemoTokenAndSecretFiles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := run(ctx, []string{"serve", "--bootstrap-token", DemoBootstrapToken, "--database-url", testenv.DB(t)}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "demo token") {
		t.Errorf("serve with the README's demo token and no --demo: %v", err)
	}
	parse := func(args ...string) (*Config, error) {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		cfg := newConfig(fs, "serve")
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		return cfg, cfg.finish(fs)
	}
	secret := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(secret, []byte("a-secret-from-a-file-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LEDGER_BOOTSTRAP_TOKEN_FILE", secret)
	cfg, err := parse()
	if err != nil || cfg.BootstrapToken != "a-secret-from-a-file-0123456789" {
		t.Errorf("LEDGER_BOOTSTRAP_TOKEN_FILE: %v, token %q", err, cfg.BootstrapToken)
	}
	if cfg, err := parse("--bootstrap-token", "a-flag-wins-over-the-file-0123"); err != nil || cfg.BootstrapToken != "a-flag-wins-over-the-file-0123" {
		t.Errorf("a flag and LEDGER_BOOTSTRAP_TOKEN_FILE: %v", err)
	}
	t.Setenv("LEDGER_BOOTSTRAP_TOKEN", "another-secret-0123456789")
	if _, err := parse(); err == nil || !strings.Contains(err.Error(), "give one of them") {
		t.Errorf("LEDGER_BOOTSTRAP_TOKEN and its _FILE both set: %v", err)
	}
	os.Unsetenv("LEDGER_BOOTSTRAP_TOKEN")
	t.Setenv("LEDGER_BOOTSTRAP_TOKEN_FILE", filepath.Join(t.TempDir(), "missing"))
	if _, err := parse(); err == nil || !strings.Contains(err.Error(), "LEDGER_BOOTSTRAP_TOKEN_FILE") {
		t.Errorf("a missing secret file: %v", err)
	}
	if _, err := parse("--tls-cert", secret); err == nil || !strings.Contains(err.Error(), "tls-key") {
		t.Errorf("--tls-cert without --tls-key: %v", err)
	}
	if _, err := parse("--nats-creds", secret); err == nil || !strings.Contains(err.Error(), "nats-url") {
		t.Errorf("--nats-creds without --nats-url: %v", err)
	}
}

// TestNATSOverTLSWithPrivateCA runs the writer against an external nats-server that
// requires TLS with a certificate of a private CA (made here): --nats-ca lets the writer
// verify it, and the events reach the stream.
func TestNATSOverTLSWithPrivateCA(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := selfSigned(t, dir)
	port := freePort(t)
	cmd := exec.Command(natsServerBin, "-js", "-sd", filepath.Join(dir, "js"), "-a", "127.0.0.1", "-p", strconv.Itoa(port),
		"--tls", "--tlscert", certFile, "--tlskey", keyFile)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, recoverMax, func() bool {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	natsURL := fmt.Sprintf("tls://127.0.0.1:%d", port)
	s := startServer(t, testenv.DB(t), "--nats-url", natsURL, "--nats-ca", certFile)
	setupLines(t, s.url, 1, 1_000_000)
	nc, err := nats.Connect(natsURL, nats.RootCAs(certFile))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	var last uint64
	waitFor(t, recoverMax, func() bool {
		str, err := js.Stream(ctx, natsbus.StreamName)
		if err != nil {
			return false
		}
		info, err := str.Info(ctx)
		if err == nil {
			last = info.State.LastSeq
		}
		return err == nil && last >= 7 // setupLines' 6 events and the officer token's access event
	})
	// Without the CA, a client cannot even connect: the server's certificate is private.
	if nc2, err := nats.Connect(natsURL, nats.NoReconnect()); err == nil {
		nc2.Close()
		t.Error("a client without the private CA connected")
	}
}
