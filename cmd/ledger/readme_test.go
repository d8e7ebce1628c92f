package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vnntp/ledger/internal/testenv"
)

// TestReadmeExamples runs every shell example of the README's API section, as written,
// against `ledger serve --demo`, so the README stays true. Each curl's HTTP status goes to
// stderr through --write-out; the only refusals the examples show are the ones they announce.
func TestReadmeExamples(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	start := strings.Index(section, "## The API by example")
	end := strings.Index(section, "## Configuration")
	if start < 0 || end < start {
		t.Fatal("README has no 'The API by example' section before 'Configuration'")
	}
	section = section[start:end]
	var script strings.Builder
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1) {
		script.WriteString(m[1])
	}
	if !strings.Contains(script.String(), "L=http://127.0.0.1:8080") {
		t.Fatal("README examples no longer set L=http://127.0.0.1:8080")
	}

	// The examples use the bootstrap token that `make run` defines; the server gets the same.
	m := regexp.MustCompile(`(?m)^T=(\S+)`).FindStringSubmatch(script.String())
	if m == nil {
		t.Fatal("README examples no longer set T=<bootstrap token>")
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(makefile), "DEMO_BOOTSTRAP_TOKEN ?= "+m[1]+"\n") {
		t.Errorf("the README's T=%s is not the bootstrap token of `make run` (DEMO_BOOTSTRAP_TOKEN in the Makefile)", m[1])
	}
	dbURL := testenv.DB(t)
	s := startServer(t, dbURL, "--demo", "--bootstrap-token", m[1])
	body := strings.Replace(script.String(), "L=http://127.0.0.1:8080", "L="+s.url, 1)
	prelude := "set -euo pipefail\ncurl() { command curl --write-out '%{stderr}HTTP %{http_code}\\n' \"$@\"; }\n"
	cmd := exec.Command("bash", "-c", prelude+body)
	cmd.Dir = t.TempDir() // examples may write files (exports)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("README examples failed: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	var bad []string
	calls := 0
	for _, line := range strings.Split(stderr.String(), "\n") {
		code, ok := strings.CutPrefix(line, "HTTP ")
		if !ok {
			continue
		}
		calls++
		if code != "200" && code != "201" {
			bad = append(bad, code)
		}
	}
	// The refusals the examples show, in order: over-spending, a back-dated payment
	// (rule 2, availability at every business date) and a payment after its deadline.
	refusals := []string{"insufficient_funds", "insufficient_funds", "deadline_passed"}
	if len(bad) != len(refusals) || strings.Count(stdout.String(), `"insufficient_funds"`) != 2 ||
		!strings.Contains(stdout.String(), `"date":"2024-06-01"`) || !strings.Contains(stdout.String(), `"code":"deadline_passed"`) {
		t.Errorf("want every example to succeed except %d refusals (422 %v); got statuses %v of %d calls\nstdout:\n%s",
			len(refusals), refusals, bad, calls, stdout.String())
	}
	for _, code := range bad {
		if code != "422" {
			t.Errorf("a refusal answered %s, want 422", code)
		}
	}
	if calls < 25 {
		t.Errorf("only %d curl calls ran; the README examples were not all executed", calls)
	}
	readmeCommands(t, string(readme), dbURL)
}

// readmeCommands runs the block of `ledger` commands under "Against the demo database"
// in the README's "Commands" section with the binary this test built, against the
// database the API examples just wrote to, and checks what the comments promise.
func readmeCommands(t *testing.T, readme, dbURL string) {
	t.Helper()
	start := strings.Index(readme, "Against the demo database")
	if start < 0 {
		t.Fatal(`README has no "Against the demo database" block of commands`)
	}
	m := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(readme[start:])
	if m == nil {
		t.Fatal("no sh block after \"Against the demo database\"")
	}
	cmd := exec.Command("bash", "-c", "set -euo pipefail\n"+m[1])
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(binary)+":"+os.Getenv("PATH"), "LEDGER_DATABASE_URL="+dbURL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README commands failed: %v\n%s", err, out)
	}
	for _, want := range []string{"no unit 999 in the catalog", "beyond the head", "exit 2", "ok ", "Tính đến hết ngày: 31/05/2024",
		"Cơ sở: năm kế hoạch", "Tỷ lệ đối ứng (%)", "ledger help — show how", "Báo cáo tiến độ giải ngân"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("README commands: output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "NOT intact") || strings.Count(string(out), "exit 2") != 2 {
		t.Errorf("README commands: want two usage errors and no finding:\n%s", out)
	}
}
