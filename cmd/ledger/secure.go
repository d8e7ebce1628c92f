package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
)

// DemoBootstrapToken is the bootstrap token the README and `make run` publish. Anyone
// can read it, so serve refuses it unless it serves the demo (--demo), and then says so
// loudly.
const DemoBootstrapToken = "demo-admin-token-change-me"

// secretFileSuffix: for every LEDGER_* variable, LEDGER_*_FILE names a file holding its
// value (a Kubernetes or systemd secret mounted as a file), so secrets need not sit in
// the environment. Giving both is an error; one trailing newline is dropped.
const secretFileSuffix = "_FILE"

// secretFileMaxBytes bounds a value read from a file.
const secretFileMaxBytes = 64 << 10

// SecureConfig is serve's transport security: direct TLS for HTTP, and TLS and
// credentials for an external NATS.
type SecureConfig struct {
	TLSCert, TLSKey   string // PEM files; both or neither
	NATSCreds         string // NATS credentials file (JWT and NKey seed)
	NATSCA            string // PEM of the CAs that sign the NATS servers' certificates
	NATSCert, NATSKey string // client certificate for NATS, PEM files; both or neither

	tls *tls.Config // loaded by check
}

func (s *SecureConfig) register(fs *flag.FlagSet, c *Config, cmd string) {
	if cmd != "serve" {
		return
	}
	c.str(fs, &s.TLSCert, "tls-cert", "LEDGER_TLS_CERT", "", "PEM certificate (chain) to serve HTTPS directly; with --tls-key")
	c.str(fs, &s.TLSKey, "tls-key", "LEDGER_TLS_KEY", "", "PEM private key of --tls-cert")
	c.str(fs, &s.NATSCreds, "nats-creds", "LEDGER_NATS_CREDS", "", "NATS credentials file (user JWT and NKey seed) for --nats-url")
	c.str(fs, &s.NATSCA, "nats-ca", "LEDGER_NATS_CA", "", "PEM file of the CAs that sign the NATS servers' certificates (TLS to --nats-url)")
	c.str(fs, &s.NATSCert, "nats-cert", "LEDGER_NATS_CERT", "", "PEM client certificate for NATS (mutual TLS); with --nats-key")
	c.str(fs, &s.NATSKey, "nats-key", "LEDGER_NATS_KEY", "", "PEM private key of --nats-cert")
}

// check validates serve's security settings: the TLS files load, pairs are whole, NATS
// options only with an external NATS, and the README's demo token only with --demo.
func (s *SecureConfig) check(c *Config) []error {
	var errs []error
	if c.BootstrapToken == DemoBootstrapToken && !c.Demo {
		errs = append(errs, errors.New("bootstrap-token: refusing the README's demo token "+DemoBootstrapToken+
			" outside --demo: anyone can read it; set a secret of your own (LEDGER_BOOTSTRAP_TOKEN_FILE)"))
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		errs = append(errs, errors.New("tls-cert and tls-key: give both or neither"))
	} else if s.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey)
		if err != nil {
			errs = append(errs, fmt.Errorf("tls-cert, tls-key: %v", err))
		} else {
			s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		}
	}
	if (s.NATSCert == "") != (s.NATSKey == "") {
		errs = append(errs, errors.New("nats-cert and nats-key: give both or neither"))
	}
	if c.NATSURL == "" && (s.NATSCreds != "" || s.NATSCA != "" || s.NATSCert != "") {
		errs = append(errs, errors.New("nats-creds, nats-ca, nats-cert: only with --nats-url (the embedded NATS is in-process)"))
	}
	for _, f := range []struct{ name, path string }{{"nats-creds", s.NATSCreds}, {"nats-ca", s.NATSCA}} {
		if f.path != "" {
			if _, err := os.Stat(f.path); err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", f.name, err))
			}
		}
	}
	if s.NATSCA != "" {
		if pem, err := os.ReadFile(s.NATSCA); err == nil && !x509.NewCertPool().AppendCertsFromPEM(pem) {
			errs = append(errs, fmt.Errorf("nats-ca: %s holds no PEM certificate", s.NATSCA))
		}
	}
	return errs
}

// natsOptions are the connection options of an external NATS: credentials and TLS.
func (s *SecureConfig) natsOptions() []nats.Option {
	var opts []nats.Option
	if s.NATSCreds != "" {
		opts = append(opts, nats.UserCredentials(s.NATSCreds))
	}
	if s.NATSCA != "" {
		opts = append(opts, nats.RootCAs(s.NATSCA))
	}
	if s.NATSCert != "" {
		opts = append(opts, nats.ClientCert(s.NATSCert, s.NATSKey))
	}
	return opts
}

// readSecretFiles applies LEDGER_*_FILE to the flags neither given on the command line
// nor set by their own variable.
func (c *Config) readSecretFiles(fs *flag.FlagSet, set map[string]bool) []error {
	var errs []error
	for name, env := range c.envs {
		path, ok := os.LookupEnv(env + secretFileSuffix)
		if !ok || set[name] {
			continue
		}
		if _, both := os.LookupEnv(env); both {
			errs = append(errs, fmt.Errorf("%s and %s%s: give one of them", env, env, secretFileSuffix))
			continue
		}
		v, err := readSecretFile(path)
		if err == nil {
			err = fs.Set(name, v)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s%s=%q: %v", env, secretFileSuffix, path, err))
		}
	}
	return errs
}

func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, secretFileMaxBytes+1))
	if err != nil {
		return "", err
	}
	if len(b) > secretFileMaxBytes {
		return "", fmt.Errorf("longer than %d bytes", secretFileMaxBytes)
	}
	return strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"), nil
}
