package api

import (
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
