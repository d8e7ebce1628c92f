package ledger

import (
	"encoding/json"
	"strconv"
)

// MaxAmount is the largest amount, in đồng, a request may carry: JSON numbers beyond
// ±2^53 lose precision in many clients, so the API rejects them (docs/domain.md, rule 1).
const MaxAmount int64 = 1 << 53

// addChecked returns a+b, or ok=false when the sum overflows int64.
func addChecked(a, b int64) (sum int64, ok bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

// ParseAmount parses a JSON number as a positive whole number of đồng, at most
// MaxAmount. It rejects fractions, exponents, zero and negatives.
func ParseAmount(n json.Number, field string) (int64, error) {
	s := string(n)
	if s == "" {
		return 0, invalid(field, "is required")
	}
	for _, c := range s {
		if c == '.' || c == 'e' || c == 'E' {
			return 0, invalid(field, "must be a whole number of đồng, got %s", s)
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || strconv.FormatInt(v, 10) != s {
		return 0, invalid(field, "must be a whole number of đồng between 1 and %d, got %s", MaxAmount, s)
	}
	return v, checkAmount(v, field)
}

// checkAmount enforces docs/domain.md, rule 1, on an amount already held as int64.
func checkAmount(v int64, field string) error {
	if v <= 0 {
		return invalid(field, "must be a positive whole number of đồng, got %d", v)
	}
	if v > MaxAmount {
		return invalid(field, "must be at most %d đồng, got %d", MaxAmount, v)
	}
	return nil
}

// Sum adds amounts and reports overflow instead of wrapping.
func Sum(amounts ...int64) (int64, bool) {
	var total int64
	for _, a := range amounts {
		var ok bool
		if total, ok = addChecked(total, a); !ok {
			return 0, false
		}
	}
	return total, true
}
