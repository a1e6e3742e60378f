# SPDX-License-Identifier: LGPL-2.1-or-later
# Every source file says its licence (SPDX) and the licence text ships.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$ROOT/LICENSE" ] && grep -q 'LESSER GENERAL PUBLIC LICENSE' "$ROOT/LICENSE" || fail "LICENSE missing"
cd "$ROOT"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files=$(git ls-files)
else
  files=$(find . -type f ! -path './build*' ! -path './.git/*' | sed 's|^\./||')
fi
missing=""
for f in $(echo "$files" | grep -E '\.(c|h|S|ld|sh|bash|py|jq|in)$|(^|/)Makefile$|^\.ci/run$' | grep -v '^fuzz/corpus/'); do
  head -n 3 "$f" | grep -q 'SPDX-License-Identifier: LGPL-2.1-or-later' || missing="$missing $f"
done
[ -z "$missing" ] || fail "no SPDX line in:$missing"
exit 0
