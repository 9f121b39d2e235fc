// Reads an ELF symbol table with the layouts of <elf.h>; every offset and
// size is checked against the file before it is used.
#include "qemutrace/elf_symbols.h"

#include <elf.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

#include "qemutrace/reader.h"  // TraceError

namespace qemutrace {
namespace {

template <class Ehdr, class Shdr, class Sym>
void read_symbols(const std::string& path, const std::string& f, std::vector<std::tuple<uint64_t, uint64_t, std::string>>& out) {
  auto bad = [&](const char* what) { return TraceError(path + ": " + what); };
  if (f.size() < sizeof(Ehdr)) throw bad("ELF header cut short");
  Ehdr eh;
  std::memcpy(&eh, f.data(), sizeof eh);
  if (eh.e_shentsize != sizeof(Shdr) || eh.e_shoff == 0 || eh.e_shoff > f.size() ||
      uint64_t(eh.e_shnum) * sizeof(Shdr) > f.size() - eh.e_shoff)
    throw bad("section headers out of the file");
  std::vector<Shdr> sh(eh.e_shnum);
  std::memcpy(sh.data(), f.data() + eh.e_shoff, sh.size() * sizeof(Shdr));
  // .symtab has every symbol; a stripped file has only .dynsym.
  const Shdr* table = nullptr;
  for (const auto& s : sh) if (s.sh_type == SHT_SYMTAB) table = &s;
  if (!table) for (const auto& s : sh) if (s.sh_type == SHT_DYNSYM) table = &s;
  if (!table) throw bad("no symbol table (stripped?)");
  auto inside = [&](uint64_t off, uint64_t size) { return off <= f.size() && size <= f.size() - off; };
  if (!inside(table->sh_offset, table->sh_size) || table->sh_link >= sh.size()) throw bad("symbol table out of the file");
  const Shdr& strtab = sh[table->sh_link];
  if (!inside(strtab.sh_offset, strtab.sh_size)) throw bad("string table out of the file");
  const char* strs = f.data() + strtab.sh_offset;
  for (uint64_t off = 0; off + sizeof(Sym) <= table->sh_size; off += sizeof(Sym)) {
    Sym s;
    std::memcpy(&s, f.data() + table->sh_offset + off, sizeof s);
    unsigned type = s.st_info & 0xf;
    if ((type != STT_FUNC && type != STT_OBJECT) || s.st_shndx == SHN_UNDEF || s.st_name >= strtab.sh_size) continue;
    const char* name = strs + s.st_name;
    size_t len = strnlen(name, strtab.sh_size - s.st_name);
    if (len == 0) continue;
    out.emplace_back(uint64_t(s.st_value), uint64_t(s.st_size), std::string(name, len));
  }
}

}  // namespace

ElfSymbols ElfSymbols::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TraceError(path + ": cannot open ELF file");
  std::string f((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (f.size() < EI_NIDENT || std::memcmp(f.data(), ELFMAG, SELFMAG) != 0) throw TraceError(path + ": not an ELF file");
  if (f[EI_DATA] != ELFDATA2LSB) throw TraceError(path + ": not a little-endian ELF file");
  std::vector<std::tuple<uint64_t, uint64_t, std::string>> raw;
  if (f[EI_CLASS] == ELFCLASS64) read_symbols<Elf64_Ehdr, Elf64_Shdr, Elf64_Sym>(path, f, raw);
  else if (f[EI_CLASS] == ELFCLASS32) read_symbols<Elf32_Ehdr, Elf32_Shdr, Elf32_Sym>(path, f, raw);
  else throw TraceError(path + ": unknown ELF class");
  ElfSymbols s;
  for (auto& [a, z, n] : raw) s.syms_.push_back({a, z, std::move(n)});
  // By address; at one address the sized symbol first, then by name, so the
  // choice does not depend on the table's order.
  std::sort(s.syms_.begin(), s.syms_.end(), [](const Sym& x, const Sym& y) {
    return std::tie(x.addr, y.size, x.name) < std::tie(y.addr, x.size, y.name);
  });
  return s;
}

std::string ElfSymbols::name(uint64_t addr) const {
  auto it = std::upper_bound(syms_.begin(), syms_.end(), addr, [](uint64_t a, const Sym& s) { return a < s.addr; });
  // The nearest sized symbol at or below addr, if it covers addr; a
  // zero-size symbol (an assembler label) names only its own address.
  for (int steps = 0; it != syms_.begin() && steps < 8; steps++) {
    --it;
    if (addr == it->addr) return it->name;
    if (it->size == 0) continue;
    if (addr - it->addr < it->size) return fmt::format("{}+{:#x}", it->name, addr - it->addr);
    break;
  }
  return "";
}

}  // namespace qemutrace
