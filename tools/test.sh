#!/usr/bin/env bash
# The project's test command: every notebook through nbdev-test (cells flagged
# slow/gpu/notest are skipped), then pytest over tests/. pytest runs last so its
# summary line closes the output; the exit status is non-zero if either failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export MPLBACKEND=Agg PYTHONHASHSEED=0
echo "== nbdev-test (notebooks) =="
nbdev-test --n-workers 2 --timing
nb_status=$?
echo "== pytest (tests/) =="
python -m pytest tests -q -p no:cacheprovider "$@"
py_status=$?
if [ $nb_status -ne 0 ]; then echo "nbdev-test failed (exit $nb_status)"; fi
exit $(( nb_status != 0 || py_status != 0 ))
