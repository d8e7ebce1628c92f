package checker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Limits of the client side of a fault test.
const (
	// responseBodyMax bounds what the checker reads of one response.
	responseBodyMax = 16 << 20
	// retryDelay spaces the retries of a request whose outcome is unknown.
	retryDelay = 100 * time.Millisecond
)

// Outcome is what the client knows of a request.
type Outcome int32

const (
	// Unknown: no answer (connection refused or cut, timeout) or a 5xx answer. The
	// request may or may not be stored; it must be retried with its key.
	Unknown Outcome = iota
	// Acked: 201 Created with the ids of the recorded events. They must be stored.
	Acked
	// Failed: a 4xx refusal. Nothing of the request may be stored.
	Failed
)

func (o Outcome) String() string {
	switch o {
	case Acked:
		return "acknowledged"
	case Failed:
		return "failed"
	default:
		return "unknown"
	}
}

// Request is one write as the client sent it and what it learnt of its outcome.
type Request struct {
	Path string
	Key  string // Idempotency-Key; every recorded request has one
	Body []byte

	mu       sync.Mutex
	outcome  Outcome
	status   int      // last HTTP status, 0 when there was no answer
	ids      []string // event ids of an acknowledgement, in order
	problem  string   // the "code" of the last problem+json answer
	attempts int
}

// Problem returns the stable error code of the last refusal or failure answer ("" when
// the last answer was none or a success).
func (r *Request) Problem() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.problem
}

// Outcome returns what the client knows of r, the last HTTP status and the acknowledged
// event ids.
func (r *Request) Outcome() (Outcome, int, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.outcome, r.status, r.ids
}

// Attempts returns how many times r was sent.
func (r *Request) Attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts
}

// Client sends requests to one server, whose address may change (a restarted process
// listens on a new port). It is safe for concurrent use.
type Client struct {
	HTTP *http.Client
	// Auth returns the Authorization header value for a request path.
	Auth func(path string) string
	base atomic.Pointer[string]
}

// NewClient returns a client of the server at base with hc (nil: a client with a 10 s
// timeout) and auth.
func NewClient(base string, hc *http.Client, auth func(path string) string) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	}
	c := &Client{HTTP: hc, Auth: auth}
	c.SetBase(base)
	return c
}

// SetBase points the client at a new server address.
func (c *Client) SetBase(base string) { c.base.Store(&base) }

// Base returns the server address.
func (c *Client) Base() string { return *c.base.Load() }

// Get sends a GET of path and decodes the JSON answer into out; a status other than 200
// is an error.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base()+path, nil)
	if err != nil {
		return err
	}
	if c.Auth != nil {
		req.Header.Set("Authorization", c.Auth(path))
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, responseBodyMax))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d: %s", path, resp.StatusCode, b)
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = b
		return nil
	}
	return json.Unmarshal(b, out)
}

// send posts r once and updates its outcome. An acknowledged or failed request is never
// sent again.
func (c *Client) send(ctx context.Context, r *Request) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Base()+r.Path, bytes.NewReader(r.Body))
	if err != nil {
		panic(err) // the path and the base come from the test: a bad URL is a bug there
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", r.Key)
	if c.Auth != nil {
		req.Header.Set("Authorization", c.Auth(r.Path))
	}
	resp, err := c.HTTP.Do(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if err != nil {
		r.status = 0
		return // Unknown stays Unknown
	}
	defer resp.Body.Close()
	b, rerr := io.ReadAll(io.LimitReader(resp.Body, responseBodyMax))
	r.status = resp.StatusCode
	r.problem = ""
	if resp.StatusCode >= 300 {
		var p struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(b, &p)
		r.problem = p.Code
	}
	switch {
	case resp.StatusCode == http.StatusCreated && rerr == nil:
		if ids := eventIDs(b); len(ids) > 0 {
			r.outcome, r.ids = Acked, ids
		}
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests &&
		resp.StatusCode != http.StatusRequestTimeout:
		r.outcome = Failed
	}
}

// eventIDs reads the ids of a 201 answer: {"id":…} for one command, {"events":[{"id":…}]}
// for an atomic batch.
func eventIDs(b []byte) []string {
	var v struct {
		ID     string `json:"id"`
		Events []struct {
			ID string `json:"id"`
		} `json:"events"`
	}
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	if v.ID != "" {
		return []string{v.ID}
	}
	ids := make([]string, 0, len(v.Events))
	for _, e := range v.Events {
		ids = append(ids, e.ID)
	}
	return ids
}

// Recorder keeps every request of a run. It is safe for concurrent use.
type Recorder struct {
	mu   sync.Mutex
	reqs []*Request
	keys map[string]bool
}

// Post records a request to path with key and the JSON encoding of body, sends it once
// and returns it. A key used twice is a bug of the test and panics: the checker tells
// duplicates by key.
func (rec *Recorder) Post(ctx context.Context, c *Client, path, key string, body any) *Request {
	b, ok := body.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(body); err != nil {
			panic(err)
		}
	}
	r := &Request{Path: path, Key: key, Body: b}
	rec.mu.Lock()
	if rec.keys == nil {
		rec.keys = map[string]bool{}
	}
	if rec.keys[key] {
		rec.mu.Unlock()
		panic("checker: idempotency key used twice: " + key)
	}
	rec.keys[key] = true
	rec.reqs = append(rec.reqs, r)
	rec.mu.Unlock()
	c.send(ctx, r)
	return r
}

// Requests returns every recorded request, in the order they were recorded.
func (rec *Recorder) Requests() []*Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]*Request(nil), rec.reqs...)
}

// Counts returns how many recorded requests are acknowledged, failed and unknown.
func (rec *Recorder) Counts() (acked, failed, unknown int) {
	for _, r := range rec.Requests() {
		switch o, _, _ := r.Outcome(); o {
		case Acked:
			acked++
		case Failed:
			failed++
		default:
			unknown++
		}
	}
	return acked, failed, unknown
}

// RetryUnknown sends every request whose outcome is unknown again, with its key, until
// each is acknowledged or failed or ctx ends; it returns ctx's error with the number of
// requests still unknown then. A retry of a stored request gets the original answer
// (idempotency), so a retry never stores a request twice.
func (rec *Recorder) RetryUnknown(ctx context.Context, c *Client) error {
	for {
		pending := 0
		for _, r := range rec.Requests() {
			if o, _, _ := r.Outcome(); o != Unknown {
				continue
			}
			c.send(ctx, r)
			if o, _, _ := r.Outcome(); o == Unknown {
				pending++
			}
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d requests still unknown: %w", pending, ctx.Err())
		case <-time.After(retryDelay):
		}
	}
}

// commands returns how many commands r holds, so how many events it records at most: the
// length of a batch's "commands", else one.
func (r *Request) commands() int {
	if r.Path != "/v1/batch" {
		return 1
	}
	var b struct {
		Commands []json.RawMessage `json:"commands"`
	}
	if json.Unmarshal(r.Body, &b) != nil {
		return 1
	}
	return len(b.Commands)
}
