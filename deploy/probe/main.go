// Command ledger-probe is the health check of the ledger's container image. The image
// is distroless (no shell, no curl), so compose's healthcheck runs this static binary:
// it asks one URL and exits 0 when the answer is 2xx, 1 otherwise.
//
// Usage:
//
//	ledger-probe [URL]    (default http://127.0.0.1:8080/readyz)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// defaultURL is the readiness endpoint of a server listening on the image's port.
const defaultURL = "http://127.0.0.1:8080/readyz"

// probeTimeout stays below compose's and Kubernetes' usual check timeout (5 s), so the
// probe reports the failure itself instead of being killed.
const probeTimeout = 3 * time.Second

// bodyMax bounds how much of the answer is read (and printed on failure).
const bodyMax = 512

func main() {
	url := defaultURL
	switch len(os.Args) {
	case 1:
	case 2:
		url = os.Args[1]
	default:
		fmt.Fprintln(os.Stderr, "usage: ledger-probe [URL]")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	err := check(ctx, http.DefaultClient, url)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledger-probe:", err)
		os.Exit(1)
	}
}

// check GETs url and returns nil when the status is 2xx.
func check(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, bodyMax))
	if resp.StatusCode/100 != 2 {
		return errors.New(resp.Status + ": " + string(body))
	}
	return nil
}
