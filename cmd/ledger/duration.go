package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// day is the unit that `30d` names in a duration flag.
const day = 24 * time.Hour

// durationFlag is a flag.Value of a time.Duration that also takes whole days ("90d"),
// the unit in which token lifetimes are thought of, besides Go's units ("720h", "90m").
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	if *f.d != 0 && *f.d%day == 0 {
		return strconv.FormatInt(int64(*f.d/day), 10) + "d"
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

// parseDuration reads "90d" (whole days) or a Go duration ("720h", "1h30m").
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseInt(n, 10, 64)
		if err != nil || days < 0 || days > int64(maxDurationDays) {
			return 0, fmt.Errorf("%q is not a number of days (e.g. 90d)", s)
		}
		return time.Duration(days) * day, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: use days (90d) or hours (720h)", s)
	}
	return d, nil
}

// maxDurationDays keeps days*24h within a time.Duration (about 292 years).
const maxDurationDays = 100_000
