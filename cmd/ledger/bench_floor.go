package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// The floor: echo on net/http alone, under the write path's load. Its CPU per request is
// what serving HTTP costs on this machine before the ledger does anything; the write
// path's is measured against it (docs/benchmarks.md).
const (
	// benchFloorWait is how long the floor's handler holds each request: about the write
	// path's median at 64 clients, so that requests come at a similar rate and wake the
	// server as often (a floor answering at once would batch more per wake-up).
	benchFloorWait = 8 * time.Millisecond
	// benchFloorAnswerBytes is about the size of an answer to POST /v1/disbursements.
	benchFloorAnswerBytes = 640
)

// httpFloorLoad serves POST /v1/disbursements with echo and a handler that reads the
// body, waits benchFloorWait and answers 201 with benchFloorAnswerBytes of JSON, and
// loads it like httpWriteLoad, profiling into profile when it is set.
func httpFloorLoad(ctx context.Context, cfg *Config, clients int, profile string) (loadFigures, error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	answer := append(append([]byte(`{"x":"`), bytes.Repeat([]byte("x"), benchFloorAnswerBytes-8)...), `"}`...)
	e.POST("/v1/disbursements", func(c echo.Context) error {
		if _, err := io.Copy(io.Discard, c.Request().Body); err != nil {
			return err
		}
		time.Sleep(benchFloorWait)
		return c.Blob(http.StatusCreated, echo.MIMEApplicationJSON, answer)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return loadFigures{}, err
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: readHeaderTimeout}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	stop, err := startProfileAt(profile, profile != "")
	if err != nil {
		return loadFigures{}, err
	}
	defer stop()
	bn := &benchNode{addr: ln.Addr().String(), officer: "floor"}
	line := map[string]any{"program": "GNBV", "year": 2024, "source": "NSTW-DTPT", "project": "DA1", "unit": "062"}
	return timedLoad(ctx, bn, clients, cfg.BenchDuration, 1, disbursementRequests([]map[string]any{line}, "b"))
}
