#!/bin/sh
# Runs every fuzz target of the project for FUZZTIME each (default 10m),
# one after the other with one worker (-parallel 1: one core), and prints
# a table of the time and executions of each. A crash stops at once with
# go test's report (the failing input is written under the package's
# testdata/fuzz/FuzzName/: commit it with the fix, as a regression test).
#
#   tools/fuzz.sh                      # all targets, 10 minutes each
#   FUZZTIME=30s tools/fuzz.sh         # a quick pass
#   tools/fuzz.sh FuzzDecode           # the targets whose package:name matches
#   tools/fuzz.sh 'weights:FuzzParse$'  # (a grep pattern)
#
# Logs go to $FUZZLOGS (default fuzz-logs/, not committed).
set -eu
FUZZTIME=${FUZZTIME:-10m}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-5s}
FUZZLOGS=${FUZZLOGS:-fuzz-logs}
only=${1:-}

# package:target, every fuzz target of the project.
TARGETS="
./model/weights:FuzzParse
./model/weights:FuzzParsePth
./model/train:FuzzCheckpoint
./model/data:FuzzManifest
./model/data/shard:FuzzParse
./model/data/idx:FuzzRead
./model/data/matv5:FuzzParse
./model/data/imageio:FuzzDecode
./model/data/imageio:FuzzOrientation
"

# Every Fuzz function must be listed (a new target must not go unrun).
found=$(grep -rl --include='*_test.go' '^func Fuzz' model internal server cli 2>/dev/null | sort -u)
for f in $found; do
	pkg=./$(dirname "$f")
	for name in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$f"); do
		case "$TARGETS" in
		*"$pkg:$name"*) ;;
		*) echo "tools/fuzz.sh: $pkg:$name is not in TARGETS" >&2; exit 2 ;;
		esac
	done
done

mkdir -p "$FUZZLOGS"
summary="$FUZZLOGS/summary.txt"
printf '%-22s %-16s %10s %14s %10s\n' package target time execs corpus > "$summary"
for t in $TARGETS; do
	pkg=${t%%:*}
	name=${t##*:}
	if [ -n "$only" ] && ! echo "$t" | grep -q -- "$only"; then
		continue
	fi
	log="$FUZZLOGS/$(echo "$pkg" | tr / _ | sed 's/^\._//')-$name.log"
	echo "== $pkg $name for $FUZZTIME (log: $log)"
	if ! go test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" -parallel 1 "$pkg" > "$log" 2>&1; then
		grep -v '^fuzz: elapsed' "$log"
		echo "tools/fuzz.sh: $pkg $name FAILED (see $log)" >&2
		exit 1
	fi
	last=$(grep '^fuzz: elapsed' "$log" | tail -1)
	elapsed=$(echo "$last" | sed -n 's/^fuzz: elapsed: \([^,]*\),.*/\1/p')
	execs=$(echo "$last" | sed -n 's/.*execs: \([0-9]*\).*/\1/p')
	corpus=$(echo "$last" | sed -n 's/.*(total: \([0-9]*\)).*/\1/p')
	printf '%-22s %-16s %10s %14s %10s\n' "$pkg" "$name" "$elapsed" "$execs" "$corpus" | tee -a "$summary"
done
echo
cat "$summary"
