package ledger

import (
	"testing"
	"time"
)

// BenchmarkEventEncodings measures what the bulk path encodes per event: the chain hash
// (canonical form), the data and metadata columns of the COPY, and the JSON form (the
// answer and the NATS message).
func BenchmarkEventEncodings(b *testing.B) {
	l := Line{Program: "GNBV", Year: 2024, Source: "NSTW-DTPT", Project: "DA1", Unit: "062"}
	e := &Event{Position: 123456, ID: [16]byte{1, 2, 3}, Type: TypeDisbursed, EffectiveDate: MakeDate(2024, time.March, 1),
		RecordedAt: time.Date(2026, 12, 1, 10, 11, 12, 345678000, time.UTC),
		Data: EventData{Line: &l, Amount: 1000, Kind: string(KindPayment), Payee: "Công ty TNHH Xây dựng Đông Á",
			Voucher: &Voucher{Office: "KB01", Type: "C2-02a", Number: "0012/KB-TT", Date: MakeDate(2024, time.March, 1)}},
		Meta: Metadata{Actor: "Kế toán Ngân Sơn (officer)", Client: "ledger-bench/1", RequestID: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", IdempotencyKey: "bench-1"}}
	var buf, data, meta, js []byte
	var h [32]byte
	b.ReportAllocs()
	for b.Loop() {
		h, buf = ChainHash(buf, h, e)
		data = AppendCanonicalData(data[:0], &e.Data)
		meta = AppendCanonicalMeta(meta[:0], &e.Meta)
		js = e.AppendJSON(js[:0])
	}
}
