// Runs a fuzz target without libFuzzer (gcc builds, CI): every seed file, then
// deterministic random mutations of the seeds for a number of iterations.
// Usage: fuzz_X [--iterations N] [--seed S] SEED_FILES...
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  uint64_t iterations = 10000, seed = 1;
  std::vector<std::vector<uint8_t>> seeds;
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--iterations") && i + 1 < argc) iterations = std::strtoull(argv[++i], nullptr, 10);
    else if (!std::strcmp(argv[i], "--seed") && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
    else {
      std::ifstream in(argv[i], std::ios::binary);
      if (!in) { std::fprintf(stderr, "fuzz: cannot open %s\n", argv[i]); return 2; }
      seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  if (seeds.empty()) seeds.emplace_back();
  for (auto& s : seeds) LLVMFuzzerTestOneInput(s.data(), s.size());
  std::mt19937_64 rng(seed);
  for (uint64_t it = 0; it < iterations; it++) {
    std::vector<uint8_t> d = seeds[rng() % seeds.size()];
    unsigned edits = 1 + rng() % 8;
    for (unsigned e = 0; e < edits; e++) {
      switch (rng() % 5) {
        case 0: if (!d.empty()) d[rng() % d.size()] ^= uint8_t(1u << (rng() % 8)); break;
        case 1: if (!d.empty()) d[rng() % d.size()] = uint8_t(rng()); break;
        case 2: if (!d.empty()) d.resize(rng() % d.size()); break;
        case 3: d.insert(d.begin() + (d.empty() ? 0 : rng() % d.size()), uint8_t(rng())); break;
        case 4: if (d.size() > 8) { size_t p = rng() % (d.size() - 8); uint64_t v = rng(); std::memcpy(&d[p], &v, 8); } break;
      }
    }
    LLVMFuzzerTestOneInput(d.data(), d.size());
  }
  std::printf("fuzz: %llu inputs, no crash\n", static_cast<unsigned long long>(iterations + seeds.size()));
  return 0;
}
