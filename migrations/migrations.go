// Package migrations holds the SQL schema of the ledger store as goose migrations,
// embedded in the binary so that `ledger migrate` and `ledger serve` apply exactly the
// schema they were built with. Files are applied in version order and never edited once
// released: a change is a new file.
package migrations

import "embed"

// FS holds the migration files (NNNNN_name.sql) at its root.
//
//go:embed *.sql
var FS embed.FS
