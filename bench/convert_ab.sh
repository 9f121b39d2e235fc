#!/usr/bin/env bash
# Interleaved A/B of `qemutrace convert`: BASE_QT against QT (default
# build/bin/qemutrace) on the run IN, REPS reps (2), FORMATS (tejas text
# champsim). Time and CPU from /usr/bin/time: on a loaded machine compare
# CPU seconds, not wall time.
# Prints: rep format which wall_s user_s sys_s insns output_bytes
O=$(mktemp -d)
A=${BASE_QT:?path of the qemutrace to compare against}; B=${QT:-build/bin/qemutrace}
IN=${IN:?a run base, e.g. out/t (needs out/t.json)}
n=$(python3 -c 'import json,sys; print(sum(f["instructions"] for f in json.load(open(sys.argv[1]))["files"]))' $IN.json)
for rep in $(seq ${REPS:-2}); do
  for f in ${FORMATS:-tejas text champsim}; do
    for which in base new; do
      bin=$A; [ $which = new ] && bin=$B
      t=$( { /usr/bin/time -f "%e %U %S" $bin convert --to $f $IN -o $O/o >/dev/null; } 2>&1 | tail -1)
      echo "$rep $f $which $t $n $(cat $O/o_* 2>/dev/null | wc -c)"
      rm -f $O/o_*
    done
  done
done
rm -rf $O
