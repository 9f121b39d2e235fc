#!/usr/bin/env bash
# The installed package keeps its promises: it holds exactly the headers of
# the trace library, every one compiles on its own, everything they declare
# links against the installed library (promises.cpp calls it all), and the
# shipped reader example (examples/tracereader.cpp) builds against it both
# with find_package and with pkg-config and reads the golden trace.
set -euo pipefail
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
P="$T/prefix"
cmake --install "$QEMUTRACE_BUILD" --prefix "$P" >/dev/null
G="$QEMUTRACE_SRC/tests/golden/format/tiny.qtr"

# Exactly the trace library's headers; the tools library's (RunWriter,
# OutputFormat, core_file_path, converters, disassembler) are not installed.
got=$(cd "$P/include/qemutrace" && ls | tr '\n' ' ')
[ "$got" = "format.h io.h reader.h types.h writer.h " ] || fail "installed headers: $got"
for h in "$P"/include/qemutrace/*.h; do  # code, not comments
  if sed 's|//.*||' "$h" | grep -nE 'RunWriter|OutputFormat|core_file_path|recording_file_path|ManifestEvent'; then
    fail "$(basename "$h") declares what only the tools library defines"
  fi
done
for h in "$P"/include/qemutrace/*.h; do
  echo "#include <qemutrace/$(basename "$h")>" > "$T/one.cpp"
  g++ -std=c++20 -fsyntax-only -I"$P/include" "$T/one.cpp" || fail "$(basename "$h") does not compile on its own"
done
[ -f "$P/share/qemutrace/examples/tracereader.cpp" ] || fail "examples/tracereader.cpp is not installed"

# find_package consumer: the example and the promise checker.
mkdir -p "$T/app"
cp "$P/share/qemutrace/examples/tracereader.cpp" "$QEMUTRACE_SRC/tests/cli/install/promises.cpp" "$T/app/"
cat > "$T/app/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(consumer CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(qemutrace REQUIRED)
add_executable(tracereader tracereader.cpp)
target_link_libraries(tracereader PRIVATE qemutrace::trace)
add_executable(promises promises.cpp)
target_link_libraries(promises PRIVATE qemutrace::trace)
CM
cmake -S "$T/app" -B "$T/app/build" -DCMAKE_PREFIX_PATH="$P" >/dev/null
cmake --build "$T/app/build" >/dev/null || fail "find_package consumer does not build"

# The golden trace's counts are known by construction (golden_test.cpp, make_tiny).
want="$G: isa x86_64, 57 instructions (15 kernel), 11 loads, 5 stores"
out=$("$T/app/build/tracereader" "$G")
grep -qF "$want" <<<"$out" || fail "tracereader (find_package) on tiny.qtr: $out"
mkdir "$T/run"
got=$("$T/app/build/promises" "$T/run") || fail "promises exited $?"
[ "$got" = "42 10 10" ] || fail "promises read back '$got', want '42 10 10'"
out=$("$T/app/build/tracereader" --print 3 "$T/run/p_0" "$T/run/p_1")
grep -qF "$T/run/p_1: isa x86_64, 21 instructions (0 kernel), 5 loads, 5 stores" <<<"$out" ||
  fail "tracereader on the written run: $out"
[ "$(grep -c '^[0-9]* core ' <<<"$out")" = 3 ] || fail "tracereader --print 3: $out"

# pkg-config consumer.
export PKG_CONFIG_PATH="$P/lib/pkgconfig:$P/lib/x86_64-linux-gnu/pkgconfig"
g++ -std=c++20 "$T/app/tracereader.cpp" -o "$T/tracereader-pc" $(pkg-config --cflags --libs --static qemutrace)
out=$("$T/tracereader-pc" "$G")
grep -qF "$want" <<<"$out" || fail "tracereader (pkg-config) on tiny.qtr: $out"
echo "install_package: ok"
