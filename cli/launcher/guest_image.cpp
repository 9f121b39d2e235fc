#include "launcher/guest_image.h"

#include <cstdlib>
#include <fstream>

#include "launcher/guest_arch.h"
#include "launcher/util.h"

namespace qemutrace::launcher {

std::string guest_cache_dir(const std::string& arch) {
  std::string cache;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) cache = x;
  else if (const char* h = std::getenv("HOME"); h && *h) cache = std::string(h) + "/.cache";
  else cache = "/tmp";
  return cache + "/qemutrace/guest/" + arch;
}

namespace {
std::string guest_script(const std::string& name) {
  std::string p = source_dir() + "/guest/" + name;
  if (!is_regular_file(p))
    throw LaunchError("guest script not found: " + p + " (set QEMUTRACE_SRC to the qemutrace source tree)");
  return p;
}
std::string last_line(const std::string& s) {
  std::string t = trim(s);
  auto nl = t.find_last_of('\n');
  return nl == std::string::npos ? t : trim(t.substr(nl + 1));
}
}  // namespace

std::string ensure_guest(const std::string& arch, bool force, bool verbose) {
  std::string dir = guest_cache_dir(arch);
  std::string script;
  try {
    script = guest_script("build-image.sh");
  } catch (const LaunchError&) {
    // Installed without sources: a complete cache still works.
    if (!force && is_regular_file(dir + "/vmlinuz") && is_regular_file(dir + "/initrd.img")) return dir;
    throw;
  }
  bool cached = is_regular_file(dir + "/stamp");
  if (verbose && (!cached || force))
    std::fprintf(stderr, "qemutrace: building the built-in %s guest in %s (first time: a minute or two)\n",
                 arch.c_str(), dir.c_str());
  std::vector<std::string> argv = {"bash", script, "--arch", arch};
  if (force) argv.push_back("--force");
  std::string out;
  int rc = run_capture(argv, &out, nullptr);
  if (rc != 0) throw LaunchError("building the " + arch + " guest failed (guest/build-image.sh exit " + std::to_string(rc) + ")");
  std::string got = last_line(out);
  if (!got.empty() && file_exists(got + "/vmlinuz")) dir = got;
  if (!is_regular_file(dir + "/vmlinuz") || !is_regular_file(dir + "/initrd.img"))
    throw LaunchError("guest build left no kernel/initrd in " + dir);
  return dir;
}

std::vector<std::string> script_qemu_command(const std::string& script_name, const std::vector<std::string>& args) {
  try {
    std::vector<std::string> argv = {"bash", guest_script(script_name), "--print-qemu-args"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out;
    if (run_capture(argv, &out, nullptr) == 0) return shell_split(last_line(out));
  } catch (const LaunchError&) {
  }
  return {};
}

// The built-in guest's command line has one definition: guest/build-image.sh.
std::vector<std::string> guest_qemu_args(const std::string& arch) {
  std::vector<std::string> words = script_qemu_command("build-image.sh", {"--arch", arch});
  if (words.empty()) throw LaunchError("guest/build-image.sh --arch " + arch + " --print-qemu-args gave no command");
  return qemu_args_without_machine_size(words);
}

std::vector<std::string> qemu_args_without_machine_size(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i == 0 && words[i].find("qemu-system") != std::string::npos) continue;
    if ((words[i] == "-smp" || words[i] == "-m") && i + 1 < words.size()) {
      ++i;
      continue;
    }
    out.push_back(words[i]);
  }
  // No network: the guest needs none and the NIC's option ROM costs boot time.
  bool net = false;
  for (const auto& w : out) net |= w == "-nic" || w == "-net" || w == "-netdev" || w == "-nodefaults";
  if (!net) out.insert(out.end(), {"-nic", "none"});
  return out;
}

std::string resolve_program(const std::string& program, const std::string& guest_dir) {
  if (is_regular_file(program)) return absolute_path(program);
  if (program.find('/') == std::string::npos) {
    std::string p = guest_dir + "/programs/" + program;
    if (is_regular_file(p)) return p;
  }
  throw LaunchError("program not found: " + program);
}

bool is_dynamic_elf(const std::string& file) {
  std::ifstream f(file, std::ios::binary);
  unsigned char h[64] = {};
  if (!f.read(reinterpret_cast<char*>(h), sizeof h)) return false;
  if (h[0] != 0x7f || h[1] != 'E' || h[2] != 'L' || h[3] != 'F' || h[5] != 1) return false;  // little-endian ELF
  bool is64 = h[4] == 2;
  auto rd = [&](const unsigned char* p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  };
  uint64_t phoff = is64 ? rd(h + 32, 8) : rd(h + 28, 4);
  uint64_t phentsize = is64 ? rd(h + 54, 2) : rd(h + 42, 2);
  uint64_t phnum = is64 ? rd(h + 56, 2) : rd(h + 44, 2);
  if (phentsize < 4 || phnum > 4096) return false;
  for (uint64_t i = 0; i < phnum; ++i) {
    unsigned char t[4];
    f.clear();
    f.seekg(static_cast<std::streamoff>(phoff + i * phentsize));
    if (!f.read(reinterpret_cast<char*>(t), 4)) return false;
    if (rd(t, 4) == 3) return true;  // PT_INTERP
  }
  return false;
}

std::string make_workload_initrd(const std::string& guest_dir, const std::string& program,
                                 const std::vector<std::string>& args, const std::string& work_dir) {
  std::string cpio = work_dir + "/workload.cpio";
  std::vector<std::string> argv = {"bash", guest_script("add-workload.sh"), cpio, program};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string err;
  int rc = run_capture(argv, nullptr, &err);
  if (rc != 0) throw LaunchError("adding the workload failed: " + trim(last_line(err)));
  std::string out = work_dir + "/initrd.img";
  std::ofstream o(out, std::ios::binary);
  for (const std::string& in : {guest_dir + "/initrd.img", cpio}) {
    std::ifstream i(in, std::ios::binary);
    if (!i) throw LaunchError("cannot read " + in);
    o << i.rdbuf();
  }
  if (!o) throw LaunchError("cannot write " + out);
  return out;
}

}  // namespace qemutrace::launcher
