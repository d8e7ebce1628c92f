package natsbus

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Defaults of the embedded server.
const (
	// DefaultServerName names the embedded server. JetStream keeps its state under the
	// store directory per server, so a restart must use the same name to find it.
	DefaultServerName = "ledger"
	// embeddedReadyTimeout bounds how long StartEmbedded waits for the server (and
	// JetStream's recovery of its store) before giving up.
	embeddedReadyTimeout = 30 * time.Second
)

// EmbeddedConfig configures an in-process nats-server.
type EmbeddedConfig struct {
	// StoreDir is the directory of the JetStream file store; required. Use a directory
	// under the ledger's data directory, for example <data-dir>/nats.
	StoreDir string
	// Listen, when set ("host:port"; port 0 picks a free one), opens a TCP client listener
	// so that other processes (replicas, the nats CLI) can connect. Empty means no
	// listener: only in-process connections (Server.Connect).
	Listen string
	// ServerName defaults to DefaultServerName.
	ServerName string
	// Logger receives the server's log at its levels; nil discards it.
	Logger *slog.Logger
}

// Server is an embedded nats-server with JetStream. Its methods are safe for concurrent
// use.
type Server struct {
	ns *server.Server
}

// StartEmbedded starts a nats-server in this process with JetStream stored under
// cfg.StoreDir and waits until it accepts connections. It returns an error when the
// configuration is invalid or the server does not become ready within
// embeddedReadyTimeout. Stop it with Shutdown.
func StartEmbedded(cfg EmbeddedConfig) (*Server, error) {
	if cfg.StoreDir == "" {
		return nil, errors.New("embedded NATS: a store directory is required")
	}
	opts := &server.Options{
		ServerName: cfg.ServerName,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		DontListen: cfg.Listen == "",
		NoSigs:     true, // the ledger process owns its signals
		NoLog:      cfg.Logger == nil,
		// No HTTP monitoring port and no cluster: an embedded server serves this process.
	}
	if opts.ServerName == "" {
		opts.ServerName = DefaultServerName
	}
	if cfg.Listen != "" {
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("embedded NATS: listen address %q: %w", cfg.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p < 0 || p > 65535 {
			return nil, fmt.Errorf("embedded NATS: listen address %q: bad port", cfg.Listen)
		}
		if p == 0 {
			p = server.RANDOM_PORT // nats-server reads 0 as "the default port 4222"
		}
		opts.Host, opts.Port = host, p
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	if cfg.Logger != nil {
		ns.SetLoggerV2(slogLogger{cfg.Logger.With("component", "nats")}, false, false, false)
	}
	ns.Start()
	if !ns.ReadyForConnections(embeddedReadyTimeout) {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded NATS: not ready after %s (store %s)", embeddedReadyTimeout, cfg.StoreDir)
	}
	return &Server{ns: ns}, nil
}

// Connect opens a client connection to the server: in-process (no socket) always, even
// when a TCP listener is open. Extra options (a name, handlers) are applied after the
// package's defaults.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	all := append([]nats.Option{nats.InProcessServer(s.ns), nats.Name("ledger")}, opts...)
	nc, err := nats.Connect("", all...)
	if err != nil {
		return nil, fmt.Errorf("connect to embedded NATS: %w", err)
	}
	return nc, nil
}

// ClientURL returns the nats:// URL of the TCP listener, or "" when there is none.
func (s *Server) ClientURL() string {
	if s.ns.Addr() == nil {
		return ""
	}
	return s.ns.ClientURL()
}

// Shutdown stops the server and waits until it has stopped; JetStream flushes its store.
// Connections to it are closed. Calling it twice is harmless.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// NATS returns the underlying nats-server, for tests and tools.
func (s *Server) NATS() *server.Server { return s.ns }

// slogLogger adapts slog to nats-server's logger interface.
type slogLogger struct{ l *slog.Logger }

func (g slogLogger) Noticef(format string, v ...any) { g.l.Info(fmt.Sprintf(format, v...)) }
func (g slogLogger) Warnf(format string, v ...any)   { g.l.Warn(fmt.Sprintf(format, v...)) }
func (g slogLogger) Fatalf(format string, v ...any)  { g.l.Error(fmt.Sprintf(format, v...)) }
func (g slogLogger) Errorf(format string, v ...any)  { g.l.Error(fmt.Sprintf(format, v...)) }
func (g slogLogger) Debugf(format string, v ...any)  { g.l.Debug(fmt.Sprintf(format, v...)) }
func (g slogLogger) Tracef(format string, v ...any)  { g.l.Debug(fmt.Sprintf(format, v...)) }
