#!/usr/bin/env bash
# Static checks run by `./bootstrap test` before building: module layering, formatting, and
# code patterns our compiler gets wrong.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
scripts/check_layers.sh || status=1
git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror || status=1
# GCC 12 miscompiles `co_await` inside an if/while/switch condition (corrupted coroutine
# frame at run time); await into a variable first.
if git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' | xargs grep -nE '(if|while|switch) \([^)]*co_await'; then
  echo "lint: co_await inside a condition (see scripts/lint.sh)"
  status=1
fi
# GCC 12 also destroys the result of `c ? co_await a : co_await b` twice (a double free).
if git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' | xargs grep -nE '\? *co_await|: *co_await'; then
  echo "lint: co_await inside ?: (see scripts/lint.sh)"
  status=1
fi
exit $status
