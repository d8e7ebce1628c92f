package ledger

// Voucher identity. A State Treasury voucher is accepted once (docs/domain.md, rule 5),
// and "once" must not depend on how a clerk spells it. Two vouchers are the same when
// their identities are equal; the identity of (office, type, number, date) is:
//
//   - office, type and number folded to upper case (ASCII: a voucher part is printable
//     ASCII without spaces, so there is nothing to trim and every part is already in
//     Unicode NFC; a part with spaces or other characters is refused, 400);
//   - the number without the zeros that lead its first run of digits, as the Treasury
//     numbers vouchers in sequence and pads them only for display: "000123" and "123"
//     are one voucher, "0012/KB-TT" and "12/kb-tt" too; a lone "0" stays "0", and a zero
//     followed by a letter is kept ("0A" is not "A");
//   - the date as recorded.
//
// The event keeps the voucher as it was entered (it is hashed as recorded); the identity
// is what the write model remembers and what the events table's unique index
// events_voucher_identity holds (column voucher_key, migration 00008).
func (v *Voucher) Identity() string {
	return string(v.appendIdentity(make([]byte, 0, voucherIdentityMax)))
}

// voucherIdentityMax bounds the bytes of an identity: three parts of at most codeMaxLen
// bytes (Validate), three separators and a date.
const voucherIdentityMax = 3*codeMaxLen + 3 + 10

// appendIdentity appends v's identity to dst without allocating when dst has room, so
// that the write model can fingerprint every voucher cheaply.
func (v *Voucher) appendIdentity(dst []byte) []byte {
	dst = appendUpper(dst, v.Office)
	dst = append(dst, ' ')
	dst = appendUpper(dst, v.Type)
	dst = append(dst, ' ')
	dst = appendUpper(dst, trimVoucherZeros(v.Number))
	dst = append(dst, ' ')
	return v.Date.AppendTo(dst)
}

// appendUpper appends s with ASCII letters in upper case.
func appendUpper(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// trimVoucherZeros drops the zeros that lead n when a digit follows them.
func trimVoucherZeros(n string) string {
	i := 0
	for i+1 < len(n) && n[i] == '0' && n[i+1] >= '0' && n[i+1] <= '9' {
		i++
	}
	return n[i:]
}
