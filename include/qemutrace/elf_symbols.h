// Function and object symbols of an ELF file (its .symtab, else .dynsym),
// to name the PCs of a program that was traced. Part of the tools library.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qemutrace {

class ElfSymbols {
 public:
  // Throws TraceError naming the file and the problem if it is not a
  // readable little-endian ELF32/ELF64 file with a symbol table.
  static ElfSymbols load(const std::string& path);
  // "name" or "name+0xoff" for an address inside a symbol, "" otherwise.
  std::string name(uint64_t addr) const;
  size_t size() const { return syms_.size(); }

 private:
  struct Sym {
    uint64_t addr, size;
    std::string name;
  };
  std::vector<Sym> syms_;  // sorted by address
};

}  // namespace qemutrace
