#!/usr/bin/env bash
# The library installs as a CMake package and a pkg-config module that a
# simulator can link: install into a temp prefix, build a tiny reader both
# ways, and read the golden trace with it.
set -euo pipefail
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cmake --install "$QEMUTRACE_BUILD" --prefix "$T/prefix" >/dev/null
mkdir -p "$T/app"
cat > "$T/app/count.cpp" <<'CPP'
#include <qemutrace/reader.h>
#include <cstdio>
int main(int argc, char** argv) {
  auto r = qemutrace::CoreReader::open(argv[1]);
  unsigned long n = 0;
  while (r->next()) n++;
  std::printf("%lu\n", n);
}
CPP
cat > "$T/app/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(count CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(qemutrace REQUIRED)
add_executable(count count.cpp)
target_link_libraries(count PRIVATE qemutrace::trace)
CM
cmake -S "$T/app" -B "$T/app/build" -DCMAKE_PREFIX_PATH="$T/prefix" >/dev/null
cmake --build "$T/app/build" >/dev/null
n=$("$T/app/build/count" "$QEMUTRACE_SRC/tests/golden/format/tiny.qtr")
[ "$n" = 57 ] || { echo "FAIL: find_package consumer counted $n, want 57"; exit 1; }

export PKG_CONFIG_PATH="$T/prefix/lib/pkgconfig:$T/prefix/lib/x86_64-linux-gnu/pkgconfig"
g++ -std=c++20 "$T/app/count.cpp" -o "$T/count-pc" $(pkg-config --cflags --libs --static qemutrace)
n=$("$T/count-pc" "$QEMUTRACE_SRC/tests/golden/format/tiny.qtr")
[ "$n" = 57 ] || { echo "FAIL: pkg-config consumer counted $n, want 57"; exit 1; }
echo "install_package: ok"
