package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// TestCLIFixes runs the commands of the fixed CLI against the demo: an unknown unit is
// refused, durations take days, a bad flag is one line, a range beyond the head is a
// usage error (status 2) and not a broken chain (status 1), every command has its help.
func TestCLIFixes(t *testing.T) {
	dbURL := testenv.DB(t)
	a := startACNode(t, dbURL)
	ctx, cancel := context.WithTimeout(context.Background(), acTimeout)
	defer cancel()
	cli := func(args ...string) (string, string, error) {
		var out, errb bytes.Buffer
		err := run(ctx, append(args, "--database-url", dbURL), &out, &errb)
		return out.String(), errb.String(), err
	}

	// token create --unit 999: refused like the API refuses it, nothing stored.
	st, err := pgstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	before, _ := st.Tokens(ctx)
	_, _, err = cli("token", "create", "--role", "leader", "--unit", "999", "--name", "x")
	if err == nil || !strings.Contains(err.Error(), "no unit 999") || exitCode(err) != exitUsage {
		t.Errorf("--unit 999: %v (status %d)", err, exitCode(err))
	}
	if after, _ := st.Tokens(ctx); len(after) != len(before) {
		t.Errorf("a token was stored for an unknown unit")
	}
	// A registered unit, and a lifetime in days.
	out, _, err := cli("token", "create", "--role", "leader", "--unit", "060", "--name", "Lãnh đạo Pác Nặm", "--expires", "3d")
	if err != nil {
		t.Fatalf("--expires 3d: %v", err)
	}
	tok, err := st.TokenBySecret(ctx, strings.SplitN(out, "\n", 2)[0])
	if err != nil || tok.ExpiresAt.Sub(tok.CreatedAt) != 72*time.Hour {
		t.Fatalf("--expires 3d stored %+v %v", tok, err)
	}
	_, stderr, err := cli("token", "create", "--role", "leader", "--name", "x", "--expires", "3x")
	if err == nil || strings.Count(err.Error(), "\n") != 0 || stderr != "" || !strings.Contains(err.Error(), "ledger help token") {
		t.Errorf("--expires 3x: error %q, stderr %q", err, stderr)
	}

	// verify beyond the head: a usage error (2), not a finding (1).
	head := a.head()
	_, _, err = cli("verify", "--from", fmt.Sprint(head+132))
	if err == nil || strings.Contains(err.Error(), "NOT intact") || !strings.Contains(err.Error(), "beyond the head") ||
		exitCode(err) != exitUsage {
		t.Errorf("verify --from %d: %v (status %d)", head+132, err, exitCode(err))
	}
	if _, _, err := cli("verify", "--from", "700"); err != nil || exitCode(err) != exitOK {
		t.Errorf("verify --from 700: %v", err)
	}
	if got := exitCode(findingsError{errors.New("x")}); got != exitFindings {
		t.Errorf("findings exit with %d", got)
	}

	// snapshot: a missing or unknown subcommand and an unknown id are usage errors; a
	// snapshot that does not verify is a finding (1).
	for _, args := range [][]string{{"snapshot"}, {"snapshot", "bogus"}, {"snapshot", "list", "7"}, {"snapshot", "verify", "999"}} {
		if _, _, err := cli(args...); err == nil || exitCode(err) != exitUsage {
			t.Errorf("%q: %v (status %d), want a usage error", args, err, exitCode(err))
		}
	}
	if out, _, err := cli("snapshot", "take"); err != nil || !strings.Contains(out, "taken at position") {
		t.Fatalf("snapshot take: %v %q", err, out)
	}
	if out, _, err := cli("snapshot", "list"); err != nil || strings.Count(out, "\n") != 2 {
		t.Errorf("snapshot list: %v %q, want a header and one snapshot", err, out)
	}
	if _, err := st.Pool().Exec(ctx, `UPDATE snapshots SET checksum = sha256(checksum)`); err != nil {
		t.Fatal(err)
	}
	if out, _, err := cli("snapshot", "verify", "--quick"); exitCode(err) != exitFindings || !strings.Contains(out, "checksum") {
		t.Errorf("snapshot verify of a damaged snapshot: %v (status %d) %q", err, exitCode(err), out)
	}

	// help for every command, help help, --help: on stdout, status 0.
	for _, c := range append(commands, command{name: "help"}) {
		var out bytes.Buffer
		if err := run(ctx, []string{"help", c.name}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "ledger "+c.name) {
			t.Errorf("ledger help %s: %v %q", c.name, err, out.String())
		}
	}
	var help bytes.Buffer
	if err := run(ctx, []string{"verify", "--help"}, &help, io.Discard); err != nil || !strings.Contains(help.String(), "-from") {
		t.Errorf("verify --help: %v %q", err, help.String())
	}
	if err := run(ctx, []string{"help", "nope"}, io.Discard, io.Discard); err == nil || exitCode(err) != exitUsage {
		t.Errorf("help nope: %v", err)
	}

	// The Vietnamese table: dd/mm/yyyy and the basis in words; the counterpart ratio
	// headed as such.
	out, _, err = cli("report", "--unit", "06", "--as-of", "2024-05-31")
	if err != nil || !strings.Contains(out, "Tính đến hết ngày: 31/05/2024") || !strings.Contains(out, "Cơ sở: năm kế hoạch") {
		t.Errorf("report (vi): %v\n%s", err, out)
	}
	out, _, err = cli("report", "--counterpart", "--unit", "06", "--from-year", "2022", "--to-year", "2024", "--as-of", "2024-05-31")
	if err != nil || !strings.Contains(out, "Tỷ lệ đối ứng (%)") || strings.Contains(out, "giải ngân (%)") {
		t.Errorf("report --counterpart: %v\n%s", err, out)
	}
}
