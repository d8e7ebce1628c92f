package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkDecodeBatch decodes a POST /v1/batch body of 1,000 disbursements (the bulk
// load of `ledger bench`); ns/op and allocs/op are per batch.
func BenchmarkDecodeBatch(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"atomic":true,"commands":[`)
	for i := range 1000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(typed("disbursement", disbursement(line062, 1000, "u-"+strconv.Itoa(i))))
	}
	sb.WriteString("]}")
	body := []byte(sb.String())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeBatch(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteRequest sends one POST /v1/disbursements through the whole handler —
// every middleware, decoding, the real sequencer over the in-memory store, the answer —
// as the write path of `ledger bench` does with 64 clients, minus the network. ns/op
// and allocs/op are the process's cost of one single-event request (issue 18: halve it).
func BenchmarkWriteRequest(b *testing.B) {
	hs := newHarness(b)
	hs.seed()
	auth := testAuthFor(http.MethodPost, "/v1/disbursements")
	bodies := make([][]byte, 0, 1<<16)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		b.StopTimer()
		if i == len(bodies) {
			bodies = append(bodies, []byte(disbursement(line062, 1, "w"+strconv.Itoa(i))))
		}
		req := httptest.NewRequest(http.MethodPost, "/v1/disbursements", bytes.NewReader(bodies[i]))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", auth)
		req.Header.Set("User-Agent", "ledger-bench/1")
		rec := httptest.NewRecorder()
		i++
		b.StartTimer()
		hs.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("POST /v1/disbursements: %d %s", rec.Code, rec.Body)
		}
	}
}
