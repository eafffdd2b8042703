#!/bin/sh
# compare.sh REV [ROUNDS] [BENCH]: runs the benchmark group BENCH (default
# 'Affected$') of the code at git revision REV and of the working tree,
# alternating ROUNDS times (default 3) so that both see the same machine
# load, then prints per case the median wall ms and CPU ms of each and the
# ratio now/REV. Run from the repository root; REV is checked out into a
# temporary worktree that is removed afterwards.
set -eu
rev=${1:?usage: test/bench/compare.sh REV [ROUNDS] [BENCH]}
rounds=${2:-3}
bench=${3:-'Affected$'}
root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$tmp/old" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

git -C "$root" worktree add --quiet --detach "$tmp/old" "$rev"
(cd "$tmp/old" && go test -c -o "$tmp/old.test" ./test/bench/)
(cd "$root" && go test -c -o "$tmp/new.test" ./test/bench/)

i=1
while [ "$i" -le "$rounds" ]; do
	for side in old new; do
		dir="$root/test/bench"
		[ "$side" = old ] && dir="$tmp/old/test/bench"
		(cd "$dir" && "$tmp/$side.test" -test.run '^$' -test.bench "$bench" -test.benchtime 20x -test.timeout 60m) |
			grep '^Benchmark' | sed "s/^/$side /" >>"$tmp/results"
	done
	i=$((i + 1))
done

# Each line: side name iterations ns/op base-ms "base-ms" cpu "cpu-ms" ms "ms" ...
awk '
function median(list,   n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	name = $2; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
	for (f = 4; f < NF; f++) {
		if ($(f + 1) == "ms") ms[$1 SUBSEP name] = ms[$1 SUBSEP name] " " $f
		if ($(f + 1) == "cpu-ms") cpu[$1 SUBSEP name] = cpu[$1 SUBSEP name] " " $f
	}
	if (!(name in seen)) { seen[name] = 1; order[++n] = name }
}
END {
	printf "%-28s %10s %10s %7s %10s %10s %7s\n", "case", "ms (rev)", "ms (now)", "ratio", "cpu (rev)", "cpu (now)", "ratio"
	for (i = 1; i <= n; i++) {
		c = order[i]
		mo = median(ms["old" SUBSEP c]); mn = median(ms["new" SUBSEP c])
		co = median(cpu["old" SUBSEP c]); cn = median(cpu["new" SUBSEP c])
		printf "%-28s %10.2f %10.2f %7.3f %10.1f %10.1f %7.3f\n", c, mo, mn, mn / mo, co, cn, cn / co
	}
}' "$tmp/results"
