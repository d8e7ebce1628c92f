// Command ledger is the budget disbursement ledger: the server, its migrations and the
// offline tools. It is the only package that reads flags and the environment, and the
// only one that wires the adapters together (docs/design.md §9).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `ledger — the ledger of record for national target program capital.

Usage:
  ledger <command> [flags]

Commands:
  serve     run the HTTP server and the single writer (--demo loads the sample scenario)
  migrate   apply the database migrations and exit
  report    print a progress report from the store, offline (table, CSV or JSON; --counterpart)
  replay    rebuild the read-model tables (schema read) from the events, in one transaction
  verify    check the hash chain and the signed checkpoints, offline (progress on stderr)
  export    stream the events as JSON Lines or CSV (--format, --after, --out)
  import    restore a JSON Lines export into an empty ledger (same ids and hashes), or
            submit new commands through the batch API (--commands FILE --url --token), or
            the disbursements of an Excel workbook (--xlsx FILE --url --token)
  reconcile compare a Treasury statement (CSV or XLSX) with the ledger's vouchers and record it
            (--statement FILE --office KB --from D --to D --url --token [--xlsx OUT])
  keys      generate a checkpoint signing key (--generate --out FILE) or list the registered keys
  token     create, list or revoke access tokens: ledger token create --role officer --unit 062 --name NAME
  snapshot  take, list or verify snapshots of the write model and projections: ledger snapshot take
  bench     measure the write path against a same-run baseline (scratch databases)
  help      show help for a command: ledger help serve (ledger help help)

Every flag can also be set by an environment variable (LEDGER_*); run
"ledger help <command>" to see them. Durations take hours (720h) or days (30d).

Exit status: 0 done; 1 the command ran and found problems (verify: the chain is not
intact); 2 it could not run as asked (unknown command, bad flag or argument, refused
input, database or server unreachable).
`

// helpHelp is what `ledger help help` prints.
const helpHelp = `ledger help — show how to use ledger or one of its commands.

Usage:
  ledger help             the list of commands
  ledger help <command>   the command's flags and their environment variables
  ledger <command> --help the same
`

// Exit statuses of the ledger command (documented in usage).
const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2
)

// findingsError is the error of a command that ran to its end and found problems: the
// exit status is exitFindings, not exitUsage.
type findingsError struct{ error }

func (f findingsError) Unwrap() error { return f.error }

// exitCode maps run's error to the exit status.
func exitCode(err error) int {
	var f findingsError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &f):
		return exitFindings
	}
	return exitUsage
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledger:", err)
	}
	os.Exit(exitCode(err))
}

// command is one subcommand: its flags and what it does.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, cfg *Config, stdout io.Writer) error
	// args says the command takes positional arguments (cfg.Args), between or after its
	// flags: ledger token create --role officer, ledger token revoke ID.
	args bool
}

var commands = []command{
	{name: "serve", summary: "Run the HTTP API and the single writer.", run: serve},
	{name: "migrate", summary: "Apply the database migrations and exit.", run: migrate},
	{name: "report", summary: "Replay the store offline and print a progress report (table, CSV or JSON) or the counterpart check.", run: offlineReport},
	{name: "replay", summary: "Rebuild the read-model tables (schema read) from every event, in one transaction.", run: replay},
	{name: "verify", summary: "Check every hash, link, position and signed checkpoint; name the first bad position.", run: verify},
	{name: "export", summary: "Stream the events as JSON Lines (what import restores) or CSV.", run: export},
	{name: "import", summary: "Restore a JSON Lines export into an EMPTY ledger with the same ids, times and hashes, or (--commands FILE --url --token) submit new commands through the batch API.", run: importEvents},
	{name: "reconcile", summary: "Compare a State Treasury statement (CSV or XLSX) with the ledger's vouchers of an office and period through a running server, which records the reconciliation; print the differences, --xlsx saves the report.", run: reconcileCmd},
	{name: "keys", summary: "Generate a checkpoint signing key, or list the registered public keys.", run: keys},
	{name: "token", summary: "Create (create --role R --name N [--unit U] [--expires 720h]), list, or revoke (revoke ID) access tokens.", run: token, args: true},
	{name: "snapshot", summary: "Take (take [--from-scratch]), list (list) or verify (verify [ID ...] [--quick]) snapshots of the write model and projections, from which a server starts.", run: snapshotCmd, args: true},
	{name: "bench", summary: "Measure the write path over HTTP against a same-run PostgreSQL baseline.", run: bench},
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	name := args[0]
	if name == "help" {
		switch {
		case len(args) == 1:
			fmt.Fprint(stdout, usage)
			return nil
		case len(args) > 2:
			return fmt.Errorf("help takes one command, got %q; run \"ledger help\"", args[1:])
		case args[1] == "help":
			fmt.Fprint(stdout, helpHelp)
			return nil
		}
		c, err := findCommand(args[1])
		if err != nil {
			return err
		}
		fs := flag.NewFlagSet("ledger "+c.name, flag.ContinueOnError)
		newConfig(fs, c.name)
		printHelp(stdout, c, fs)
		return nil
	}
	c, err := findCommand(name)
	if err != nil {
		return err
	}
	// Flag errors are one line (main prints it) that points to the help; the help itself
	// goes to stdout only when asked for.
	fs := flag.NewFlagSet("ledger "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	cfg := newConfig(fs, c.name)
	parse := func(err error) error {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(stdout, c, fs)
			return errHelpShown
		}
		return fmt.Errorf("%s: %v (see \"ledger help %s\")", c.name, err, c.name)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return helpOrError(parse(err))
	}
	if c.args {
		if cfg.Args, err = interleaved(fs); err != nil {
			return helpOrError(parse(err))
		}
	} else if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", c.name, fs.Args())
	}
	if err := cfg.finish(fs); err != nil {
		return err
	}
	return c.run(ctx, cfg, stdout)
}

// errHelpShown stands for a --help that was answered: the command ends with status 0.
var errHelpShown = errors.New("help shown")

func helpOrError(err error) error {
	if err == errHelpShown {
		return nil
	}
	return err
}

// findCommand returns the command called name.
func findCommand(name string) (*command, error) {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i], nil
		}
	}
	return nil, fmt.Errorf("unknown command %q; run \"ledger help\"", name)
}

// printHelp writes the help of c: its summary, usage and flags with their variables.
func printHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "ledger %s — %s\n\nUsage:\n  ledger %s [flags]\n\nFlags (environment variable in brackets):\n", c.name, c.summary, c.name)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprintf(w, "\nEvery variable may instead name a file holding its value: LEDGER_<NAME>%s (e.g. LEDGER_BOOTSTRAP_TOKEN%s).\n",
		secretFileSuffix, secretFileSuffix)
}
