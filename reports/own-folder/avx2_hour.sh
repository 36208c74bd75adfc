#!/usr/bin/env bash
# Issue 35's check, prepared so a session that finds an AVX2-only box uses it at once: the README's
# own-folder command as written, one hour per set, one set after the other (nothing else training),
# each finished run recorded as a row `SET-hour-avx2-TAG` with its curve (export.py).
#
#   reports/own-folder/avx2_hour.sh [SET ...]        # default: captcha-8k wide-hollow-4k (an hour each)
#   TAG=aug05 DATA=/work/data reports/own-folder/avx2_hour.sh wide-hollow-4k
#
# From the repository root, with the venv of the README (.venv). Refuses a CPU with AVX-512: the
# figure is the AVX2 box's (on a faster box, `python -m zoo.emulate --cpus C --isa AVX2 -- ...` is the
# stand-in, and says so). Missing sets are drawn first (~1 minute each). Logs: $DATA/SET-hour-avx2.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-.venv/bin/python}
data=${DATA:-/work/data}
tag=${TAG:-aug05}
if grep -q -m1 -w avx512f /proc/cpuinfo; then
    echo "error: this CPU has AVX-512 ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)); this script measures" \
         "an AVX2-only box's hour (emulate one with python -m zoo.emulate --cpus C --isa AVX2 -- ...)" >&2
    exit 2
fi
[ $# -gt 0 ] || set -- captcha-8k wide-hollow-4k
draw() {  # the sets of reports/own-folder/README.md, by name
    case $1 in
        pil-4k) "$python" -m zoo.pil_captchas "$data/pil-4k" --count 4000 --lengths 4-8 --seed 0 ;;
        website-cm-8k) "$python" -m zoo.pil_captchas "$data/website-cm-8k" --count 8000 --lengths 4-8 --style website-cm ;;
        captcha-8k) "$python" -m zoo.pil_captchas "$data/captcha-8k" --count 8000 --lengths 4-8 --style captcha ;;
        wide-4k) "$python" -m zoo.pil_captchas "$data/wide-4k" --count 4000 --lengths 4-8 --style wide ;;
        wide-hollow-4k) "$python" -m zoo.pil_captchas "$data/wide-hollow-4k" --count 4000 --lengths 4-8 --style wide-hollow ;;
        *) echo "error: unknown set '$1' (pil-4k, website-cm-8k, captcha-8k, wide-4k, wide-hollow-4k)" >&2; exit 2 ;;
    esac
}
for set in "$@"; do
    [ -d "$data/$set" ] || draw "$set"
done
grep -m1 "model name" /proc/cpuinfo
for set in "$@"; do
    log="$data/$set-hour-avx2.log"
    echo "$(date -u +%H:%M) $set: the README command, an hour; log $log"
    "$python" -m zoo.train --arch bigru --preset folder-cpu --data "folder:$data/$set" > "$log" 2>&1
    run_id=$(grep -o '^run [0-9a-f]\{32\}' "$log" | tail -1 | cut -d' ' -f2)
    [ -n "$run_id" ] || { echo "error: no finished run in $log" >&2; tail -5 "$log" >&2; exit 1; }
    grep -E "^run [0-9a-f]{32}|^ +test_(seq|char)_acc =" "$log"
    "$python" reports/own-folder/export.py "$set-hour-avx2-$tag" "$run_id"
done
"$python" reports/own-folder/plot.py
