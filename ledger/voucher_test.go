package ledger

import "testing"

// TestVoucherIdentity is the documented rule (ledger/voucher.go), case by case.
func TestVoucherIdentity(t *testing.T) {
	v := func(office, typ, number string) *Voucher {
		return &Voucher{Office: office, Type: typ, Number: number, Date: 20240301}
	}
	same := [][2]*Voucher{
		{v("KBNN-PN", "C2-02a", "000123"), v("kbnn-pn", "c2-02A", "123")},
		{v("K", "T", "a-1"), v("K", "T", "A-1")},
		{v("K", "T", "0012/KB-TT"), v("K", "T", "12/kb-tt")},
		{v("K", "T", "00"), v("K", "T", "0")},
	}
	for _, p := range same {
		if p[0].Identity() != p[1].Identity() || p[0].key() != p[1].key() {
			t.Errorf("%+v and %+v must be one voucher: %q, %q", *p[0], *p[1], p[0].Identity(), p[1].Identity())
		}
	}
	differ := [][2]*Voucher{
		{v("K", "T", "0A"), v("K", "T", "A")},
		{v("K", "T", "1230"), v("K", "T", "123")},
		{v("K", "T", "12-0003"), v("K", "T", "12-3")}, // only the zeros that lead the number
		{v("KB", "T1", "2"), v("KBT", "1", "2")},
		{v("K", "T", "1"), &Voucher{Office: "K", Type: "T", Number: "1", Date: 20240302}},
	}
	for _, p := range differ {
		if p[0].Identity() == p[1].Identity() || p[0].key() == p[1].key() {
			t.Errorf("%+v and %+v must be two vouchers: %q", *p[0], *p[1], p[0].Identity())
		}
	}
	if got := v("kbnn-pn", "c2-02a", "0012/kb-tt").Identity(); got != "KBNN-PN C2-02A 12/KB-TT 2024-03-01" {
		t.Errorf("identity %q", got)
	}
}
