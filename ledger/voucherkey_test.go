package ledger

import "testing"

func TestVoucherKeyAllocs(t *testing.T) {
	v := Voucher{Office: "KBNN-PN", Type: "C2-02a", Number: "2023-00017", Date: 20230101}
	if n := testing.AllocsPerRun(100, func() { _ = v.key() }); n != 0 {
		t.Errorf("voucher key allocates %v times", n)
	}
	w := Voucher{Office: "KBNN-P", Type: "NC2-02a", Number: "2023-00017", Date: 20230101}
	if v.key() == w.key() {
		t.Error("parts must be length-prefixed")
	}
}
