package ledger

import (
	"fmt"
	"time"
)

// Date is a calendar (business) date held as the number yyyymmdd, so dates compare as
// integers and print without allocation. The zero Date means "not set".
type Date uint32

// MakeDate returns the Date of year, month and day; it does not validate them.
func MakeDate(year int, month time.Month, day int) Date {
	return Date(year*10000 + int(month)*100 + day)
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return MakeDate(y, m, d)
}

// ParseDate parses YYYY-MM-DD; field names the request field in the error.
func ParseDate(s, field string) (Date, error) { return parseDate(s, field) }

// parseDate is ParseDate of a string or of JSON bytes, which it copies only to name them
// in an error: two dates per disbursement are decoded, thousands per bulk request.
func parseDate[T string | []byte](s T, field string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, invalid(field, "must be a date YYYY-MM-DD, got %q", string(s))
	}
	var n [3]int
	for i, part := range [3]T{s[0:4], s[5:7], s[8:10]} {
		for j := 0; j < len(part); j++ {
			c := part[j]
			if c < '0' || c > '9' {
				return 0, invalid(field, "must be a date YYYY-MM-DD, got %q", string(s))
			}
			n[i] = n[i]*10 + int(c-'0')
		}
	}
	if n[0] < 1900 || n[0] > 2999 {
		return 0, invalid(field, "year must be between 1900 and 2999, got %q", string(s))
	}
	t := time.Date(n[0], time.Month(n[1]), n[2], 0, 0, 0, 0, time.UTC)
	if t.Year() != n[0] || int(t.Month()) != n[1] || t.Day() != n[2] {
		return 0, invalid(field, "is not a calendar date: %q", string(s))
	}
	return MakeDate(n[0], time.Month(n[1]), n[2]), nil
}

// Year returns the year of d.
func (d Date) Year() int { return int(d) / 10000 }

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d == 0 }

// Time returns midnight UTC of d.
func (d Date) Time() time.Time {
	return time.Date(int(d)/10000, time.Month(int(d)/100%100), int(d)%100, 0, 0, 0, 0, time.UTC)
}

// AppendTo appends d as YYYY-MM-DD.
func (d Date) AppendTo(b []byte) []byte {
	v := int(d)
	y, m, day := v/10000, v/100%100, v%100
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+day/10), byte('0'+day%10))
}

func (d Date) String() string {
	if d == 0 {
		return ""
	}
	return string(d.AppendTo(make([]byte, 0, 10)))
}

// MarshalJSON encodes d as "YYYY-MM-DD", or null when unset.
func (d Date) MarshalJSON() ([]byte, error) {
	if d == 0 {
		return []byte("null"), nil
	}
	b := append(make([]byte, 0, 12), '"')
	return append(d.AppendTo(b), '"'), nil
}

// UnmarshalJSON decodes "YYYY-MM-DD" or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = 0
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("date must be a string YYYY-MM-DD")
	}
	v, err := parseDate(b[1:len(b)-1], "")
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func parseRecordedAt(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("recorded_at: %w", err)
	}
	return t.UTC(), nil
}
