#!/usr/bin/env bash
# fuzz.sh runs every Fuzz target of the module, one after the other, each for
# $FUZZTIME (default 30s). `go test -fuzz` takes one target in one package at a time,
# hence the loop. Every target runs even when an earlier one fails; the script fails at
# the end. Failing inputs land in testdata/fuzz/ of their package: commit them, they
# become regression tests.
set -euo pipefail
fuzztime=${FUZZTIME:-30s}
cd "$(dirname "${BASH_SOURCE[0]}")/.."

found=0
failed=()
# `go test -list` prints the matching names of each package, then "ok <package> ...".
names=()
while read -r first second _; do
	case $first in
	Fuzz*) names+=("$first") ;;
	ok)
		for name in "${names[@]}"; do
			echo "== $second $name ($fuzztime)"
			go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$second" || failed+=("$second $name")
			found=$((found + 1))
		done
		names=()
		;;
	esac
done < <(go test -list '^Fuzz' ./...)
echo "fuzz: ran $found targets for $fuzztime each"
if ((${#failed[@]} > 0)); then
	printf 'fuzz: FAILED %s\n' "${failed[@]}"
	exit 1
fi
