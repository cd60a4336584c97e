#!/bin/sh
# The generated manual pages (docs/CMakeLists.txt) through man(1) as lintian runs it
# (manpage-has-errors-from-man): any warning fails. Skips (77) without man.
command -v man >/dev/null 2>&1 || { echo "SKIP: man not installed"; exit 77; }
status=0
for page in "$@"; do
  [ -f "$page" ] || { echo "FAIL: $page was not generated"; status=1; continue; }
  out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
  if [ -n "$out" ]; then
    echo "FAIL: $page:"; echo "$out"; status=1
  else
    lines=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$page" 2>/dev/null | wc -l)
    echo "ok: $page ($lines lines)"
  fi
done
exit $status
