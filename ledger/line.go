package ledger

import (
	"strconv"
	"strings"
)

// Limits on identifiers, so that a line id stays short enough to index and print.
const (
	codeMaxLen = 32  // program, project, source and unit codes and ids
	textMaxLen = 500 // names, notes, decisions, reasons, payees
)

// Line is a budget line, the account of this ledger: capital of one program and plan
// year, from one source, for one project, held by one administrative unit.
type Line struct {
	Program string `json:"program"`
	Year    int    `json:"year"`
	Source  string `json:"source"`
	Project string `json:"project"`
	Unit    string `json:"unit"` // the unit's stable id, not its GSO code
}

// ID returns the canonical line id program:year:source:project:unit,
// e.g. GNBV:2024:NSTW-DTPT:DA1:062.
func (l Line) ID() string {
	var b strings.Builder
	b.Grow(len(l.Program) + len(l.Source) + len(l.Project) + len(l.Unit) + 9)
	b.WriteString(l.Program)
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(l.Year))
	b.WriteByte(':')
	b.WriteString(l.Source)
	b.WriteByte(':')
	b.WriteString(l.Project)
	b.WriteByte(':')
	b.WriteString(l.Unit)
	return b.String()
}

// ParseLineID parses a canonical line id.
func ParseLineID(id string) (Line, error) {
	parts := strings.Split(id, ":")
	if len(parts) != 5 {
		return Line{}, invalid("line_id", "must be program:year:source:project:unit, got %q", id)
	}
	year, err := strconv.Atoi(parts[1])
	if err != nil || strconv.Itoa(year) != parts[1] {
		return Line{}, invalid("line_id", "year must be a number, got %q", parts[1])
	}
	l := Line{Program: parts[0], Year: year, Source: parts[2], Project: parts[3], Unit: parts[4]}
	return l, l.validate("line_id")
}

// validate checks the form of a line; whether its parts exist is checked against the
// catalog by the sequencer. It allocates nothing unless it fails: every command is
// validated twice (API, sequencer), a bulk import thousands of times per request.
func (l Line) validate(field string) error {
	if err := checkCodeOf(l.Program, field, ".program"); err != nil {
		return err
	}
	if l.Year < 1990 || l.Year > 2999 {
		return invalid(field+".year", "must be a plan year between 1990 and 2999, got %d", l.Year)
	}
	if err := checkCodeOf(l.Source, field, ".source"); err != nil {
		return err
	}
	if err := checkCodeOf(l.Project, field, ".project"); err != nil {
		return err
	}
	return checkCodeOf(l.Unit, field, ".unit")
}

// checkCode accepts 1..codeMaxLen characters of A-Z a-z 0-9 . _ -; a colon would break
// line ids.
func checkCode(s, field string) error { return checkCodeOf(s, field, "") }

// checkCodeOf is checkCode of the member part of field (".unit"), named only on failure.
func checkCodeOf(s, field, part string) error {
	if s == "" {
		return invalid(field+part, "is required")
	}
	if len(s) > codeMaxLen {
		return invalid(field+part, "must be at most %d characters", codeMaxLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return invalid(field+part, "may hold only letters, digits, '.', '_' and '-', got %q", s)
		}
	}
	return nil
}

// checkText accepts an optional free text up to textMaxLen bytes of valid UTF-8 without
// control characters.
func checkText(s, field string, required bool) error {
	if s == "" {
		if required {
			return invalid(field, "is required")
		}
		return nil
	}
	if len(s) > textMaxLen {
		return invalid(field, "must be at most %d bytes", textMaxLen)
	}
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0xfffd }) {
		return nil
	}
	return invalid(field, "must not contain control characters or invalid UTF-8")
}
