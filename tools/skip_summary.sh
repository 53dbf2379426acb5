#!/usr/bin/env bash
# Summarises the tests a `cargo test` log shows as skipped for want of data (the
# `lantern-test: SKIPPED <crate> <test>: <why>` lines of lantern_core::test_data): per crate and
# reason, the skipped tests' names, and what provides the data. Prints nothing when none were.
# Usage: tools/skip_summary.sh LOG
set -euo pipefail
log=$1
lines=$(grep -a '^lantern-test: SKIPPED ' "$log" | sed 's/^lantern-test: SKIPPED //' | sort -u || true)
[ -n "$lines" ] || exit 0
echo
echo "test: $(wc -l <<<"$lines") test(s) SKIPPED for want of data:"
# "<crate> <test>: <why>" → one block per crate and reason.
awk '{
    krate = $1; rest = substr($0, length($1) + 2); i = index(rest, ": ");
    key = krate ": " substr(rest, i + 2); if (!(key in count)) order[n++] = key
    names[key] = names[key] "\n    " substr(rest, 1, i - 1); count[key]++
} END { for (j = 0; j < n; j++) printf "  %s [%d]%s\n", order[j], count[order[j]], names[order[j]] }' <<<"$lines"
