#!/usr/bin/env python3
"""Re-verify a ledger hash chain from a JSON Lines export, without the ledger's code.

Usage:
    ledger export --out events.jsonl
    python3 tools/verify_chain.py events.jsonl      # or: ... | python3 tools/verify_chain.py -

Python 3 standard library only. The encoding it rebuilds is specified in
docs/hash-chain.md:

    canonical_n = json.dumps(strip({data, effective_date, id, metadata, position,
                                    recorded_at, type}),
                             sort_keys=True, separators=(",", ":"))   # ensure_ascii on
    hash_n      = SHA-256(hash_{n-1} || canonical_n),  hash_0 = 32 zero bytes

where strip() drops, at every depth, object members whose value is null, false, "" or
the integer 0. It checks that positions follow each other without a gap, that every
prev_hash is the hash before it, and that every hash is right. It prints
"ok N events head <hash>" and exits 0, or names the first bad position and exits 1.
An export that starts after position 1 (ledger export --after P) is checked from its
first event, whose prev_hash is taken on trust.
"""

import hashlib
import json
import sys

GENESIS = "00" * 32


def strip(v):
    """Drop zero-valued object members at every depth; reject non-integer numbers."""
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items()
                if not (x is None or x is False or x == "" or (type(x) is int and x == 0))}
    if isinstance(v, list):
        return [strip(x) for x in v]
    if isinstance(v, float):
        raise ValueError("non-integer number %r" % v)
    return v


def canonical(ev):
    """The canonical bytes of an exported event: everything but the two hashes."""
    doc = {k: ev[k] for k in ("data", "effective_date", "id", "metadata", "position", "recorded_at", "type")}
    return json.dumps(strip(doc), sort_keys=True, separators=(",", ":")).encode("ascii")


def verify(lines):
    """Return (count, head hash, None) or (count, None, (position, kind, detail))."""
    prev, expected, count = None, None, 0
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            ev = json.loads(line)
            pos = ev["position"]
            if type(pos) is not int:
                raise ValueError("position is not an integer")
            body = canonical(ev)
            stored_prev, stored = ev["prev_hash"], ev["hash"]
        except (ValueError, KeyError, TypeError) as e:
            return count, None, (expected or 0, "malformed", "line %d: %s" % (lineno, e))
        if expected is None:
            expected = pos
            prev = GENESIS if pos == 1 else stored_prev
        if pos != expected:
            return count, None, (expected, "missing_position", "line %d has position %d" % (lineno, pos))
        if stored_prev != prev:
            return count, None, (pos, "broken_link", "prev_hash %s is not %s" % (stored_prev, prev))
        h = hashlib.sha256(bytes.fromhex(prev) + body).hexdigest()
        if h != stored:
            return count, None, (pos, "hash_mismatch", "stored %s, content hashes to %s" % (stored, h))
        prev, expected, count = stored, pos + 1, count + 1
    return count, (prev or GENESIS), None


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: verify_chain.py EXPORT.jsonl   (- reads standard input)\n")
        return 2
    f = sys.stdin if argv[1] == "-" else open(argv[1], encoding="utf-8")
    with f:
        count, head, bad = verify(f)
    if bad:
        pos, kind, detail = bad
        print("bad position %d: %s: %s (%d events good before it)" % (pos, kind, detail, count))
        return 1
    print("ok %d events head %s" % (count, head))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
