#!/usr/bin/env bash
# Rejects #includes that go up DESIGN.md's module order (a module may include only the
# modules listed before it, and itself). Prints one line per violation; exit 1 if any.
set -euo pipefail
cd "$(dirname "$0")/.."
order=(util metrics config trace net http1 http2 balancer pool proxy process)
rank() {
  local i
  for i in "${!order[@]}"; do [[ ${order[$i]} == "$1" ]] && { echo "$i"; return; }; done
  echo -1
}
bad=0
for dir in src include/lb; do
  for mod_dir in "$dir"/*/; do
    mod=$(basename "$mod_dir")
    r=$(rank "$mod")
    [[ $r -ge 0 ]] || continue
    while IFS=: read -r file line inc; do
      dep=$(sed -E 's|.*"lb/([a-z0-9_]+)/.*|\1|' <<<"$inc")
      d=$(rank "$dep")
      if [[ $d -gt $r ]]; then
        echo "$file:$line: module '$mod' includes '$dep', which is above it in DESIGN.md"
        bad=1
      fi
    done < <(grep -Hn '#include "lb/' "$mod_dir"* 2>/dev/null || true)
  done
done
exit $bad
