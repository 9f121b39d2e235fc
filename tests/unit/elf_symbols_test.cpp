// ElfSymbols against a second tool: `nm -S` on this test's own executable
// names the same function for every address inside it; damaged files give
// a TraceError naming the file.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "qemutrace/elf_symbols.h"
#include "qemutrace/reader.h"

namespace qemutrace {
namespace {

std::string self_path() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, size_t(n)) : "";
}

struct NmSym {
  uint64_t addr, size;
  std::string name;
};

std::vector<NmSym> nm_functions(const std::string& path) {
  std::vector<NmSym> out;
  FILE* p = popen(("nm -S --defined-only '" + path + "'").c_str(), "r");
  if (!p) return out;
  char line[4096];
  while (fgets(line, sizeof line, p)) {
    std::istringstream in(line);
    std::string a, s, type, name;
    if (!(in >> a >> s >> type >> name) || (type != "T" && type != "t")) continue;
    out.push_back({std::stoull(a, nullptr, 16), std::stoull(s, nullptr, 16), name});
  }
  pclose(p);
  return out;
}

TEST(ElfSymbols, NamesWhatNmNames) {
  const std::string exe = self_path();
  ElfSymbols syms = ElfSymbols::load(exe);
  std::vector<NmSym> fns = nm_functions(exe);
  ASSERT_GT(fns.size(), 100u) << "nm found too few functions in " << exe;
  // Names are not unique in a symbol table (two static functions may share
  // one), so compare only where nm has one function at that address.
  std::map<uint64_t, int> at;
  for (const auto& f : fns) at[f.addr]++;
  size_t checked = 0;
  for (const auto& f : fns) {
    if (at[f.addr] != 1 || f.size < 2) continue;
    EXPECT_EQ(syms.name(f.addr), f.name);
    char off[32];
    std::snprintf(off, sizeof off, "+%#llx", (unsigned long long)(f.size - 1));
    EXPECT_EQ(syms.name(f.addr + f.size - 1), f.name + off);
    checked++;
  }
  EXPECT_GT(checked, 100u);
  EXPECT_EQ(syms.name(0), "");
}

TEST(ElfSymbols, DamagedFilesNameTheProblem) {
  const std::string dir = ::testing::TempDir();
  auto expect_error = [&](const std::string& name, const std::string& bytes, const std::string& what) {
    std::string p = dir + "/" + name;
    std::ofstream(p, std::ios::binary) << bytes;
    try {
      ElfSymbols::load(p);
      ADD_FAILURE() << name << ": no error";
    } catch (const TraceError& e) {
      EXPECT_NE(std::string(e.what()).find(p + ": " + what), std::string::npos) << e.what();
    }
  };
  expect_error("empty", "", "not an ELF file");
  expect_error("text", "hello world, not an ELF at all", "not an ELF file");
  // A valid 64-bit identification with nothing after it.
  expect_error("cut", std::string("\x7f" "ELF\x02\x01\x01", 7) + std::string(9, '\0'), "ELF header cut short");
  // The start of a real ELF file, cut before its section headers.
  std::ifstream self(self_path(), std::ios::binary);
  std::string head(4096, '\0');
  self.read(head.data(), std::streamsize(head.size()));
  expect_error("truncated", head, "section headers out of the file");
  try {
    ElfSymbols::load(dir + "/no-such-file");
    ADD_FAILURE() << "missing file: no error";
  } catch (const TraceError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qemutrace
