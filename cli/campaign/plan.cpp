// Reads a campaign plan with toml++ (Debian's libtomlplusplus-dev): TOML has
// one obvious way to write a list of tables and typed scalars, and toml++
// reports the line and column of every node, so a bad plan is named exactly.
#include "campaign/plan.h"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include "launcher/guest_arch.h"
#include "launcher/util.h"

namespace qemutrace::campaign {
namespace {

namespace fs = std::filesystem;

struct KeyInfo {
  std::string key;
  std::string def;                                 // qemutrace run's default
  std::function<bool(const std::string&)> valid;  // nullptr: any value
  std::string what;                                // the expected values, for a message
};

std::function<bool(const std::string&)> matching(const char* pattern) {
  return [re = std::regex(pattern)](const std::string& v) { return std::regex_match(v, re); };
}

// An instruction count as run reads it (the launcher's parser). skip,
// window and every may also be "", run's default: off.
std::function<bool(const std::string&)> count(bool no_limit) {
  return [no_limit](const std::string& v) {
    return (v.empty() && !no_limit) || launcher::parse_count_option(v, no_limit).has_value();
  };
}

// Formats are checked by qemutrace run (their registry is the tools
// library's); the rest here, so that a typo fails before any job runs. What
// the launcher defines (guest ISAs, counts) is asked of it.
const std::vector<KeyInfo>& key_table() {
  static const std::vector<KeyInfo> all = {
      {"arch", "x86_64", [](const std::string& v) { return launcher::find_guest_arch(v) != nullptr; },
       launcher::guest_arch_choices()},
      {"smp", "2", matching("^([1-9][0-9]?|1[0-9][0-9]|2[0-4][0-9]|25[0-5])$"), "a core count 1..255"},
      {"memory", "512M", matching("^[0-9]+(\\.[0-9]+)?[KMGTkmgt]?[Bb]?$"), "a size such as 512M or 2G"},
      {"format", "binary", matching("^[a-z-]+$"), "an output format name"},
      {"clock", "host", matching("^(host|virtual)$"), "host or virtual"},
      {"start", "marker", matching("^(marker|now|console)$"), "marker, now or console"},
      {"markers", "both", matching("^(nop|int|both)$"), "nop, int or both"},
      {"limit", "-1", count(true), launcher::count_option_choices(true)},
      {"exit_on_limit", "false", matching("^(true|false)$"), "true or false"},
      {"skip", "", count(false), launcher::count_option_choices(false)},
      {"window", "", count(false), launcher::count_option_choices(false)},
      {"every", "", count(false), launcher::count_option_choices(false)},
  };
  return all;
}

const KeyInfo* key_info(const std::string& key) {
  for (const auto& k : key_table())
    if (key == k.key) return &k;
  return nullptr;
}

class Reader {
 public:
  Reader(std::string source, std::string base_dir) : source_(std::move(source)), base_(std::move(base_dir)) {}

  [[noreturn]] void fail(const toml::node* n, const std::string& msg) const {
    std::ostringstream s;
    s << source_;
    if (n && n->source().begin.line) s << ":" << n->source().begin.line << ":" << n->source().begin.column;
    s << ": " << msg;
    throw PlanError(s.str());
  }

  std::string string_of(const toml::node& n, const std::string& key) const {
    if (auto s = n.value<std::string>(); s && n.is_string()) return *s;
    fail(&n, key + " must be a string");
  }

  std::string path_of(const toml::node& n, const std::string& key) const {
    std::string p = string_of(n, key);
    if (p.empty()) fail(&n, key + " must not be empty");
    return fs::path(p).is_absolute() ? p : (fs::path(base_) / p).lexically_normal().string();
  }

  // A scalar is a list of one value; booleans and integers become text.
  std::vector<std::string> values_of(const toml::node& n, const std::string& key) const {
    const KeyInfo* info = key_info(key);
    if (!info) {
      std::string all;
      for (const auto& k : key_table()) all += (all.empty() ? "" : ", ") + k.key;
      fail(&n, "unknown setting '" + key + "' (settings: " + all + ")");
    }
    std::vector<std::string> out;
    auto one = [&](const toml::node& v) {
      std::string s;
      if (v.is_string()) s = *v.value<std::string>();
      else if (v.is_integer()) s = std::to_string(*v.value<int64_t>());
      else if (v.is_boolean()) s = *v.value<bool>() ? "true" : "false";
      else fail(&v, key + ": expected a string, integer or boolean");
      if (info->valid && !info->valid(s))
        fail(&v, "bad " + key + " value '" + s + "': expected " + info->what);
      if (std::find(out.begin(), out.end(), s) != out.end()) fail(&v, key + " lists '" + s + "' twice");
      out.push_back(s);
    };
    if (const toml::array* a = n.as_array()) {
      if (a->empty()) fail(&n, key + " lists no value");
      for (const toml::node& v : *a) one(v);
    } else {
      one(n);
    }
    return out;
  }

  Settings settings_of(const toml::table& t, const std::set<std::string>& skip) const {
    Settings s;
    for (auto&& [k, v] : t) {
      std::string key(k.str());
      if (skip.count(key)) continue;
      s[key] = values_of(v, key);
    }
    return s;
  }

  Workload workload_of(const toml::node& n) const {
    const toml::table* t = n.as_table();
    if (!t) fail(&n, "each [[workload]] must be a table");
    static const std::set<std::string> own = {"name", "program", "args", "image", "kernel", "initrd", "append", "command"};
    Workload w;
    for (auto&& [k, v] : *t) {
      std::string key(k.str());
      if (key == "name") w.name = string_of(v, key);
      else if (key == "program") {
        w.program = string_of(v, key);
        // A built-in program is a bare name; a file is found from the plan.
        if (w.program.find('/') != std::string::npos) w.program = path_of(v, key);
      } else if (key == "args") w.args = string_of(v, key);
      else if (key == "image") w.image = path_of(v, key);
      else if (key == "kernel") w.kernel = path_of(v, key);
      else if (key == "initrd") w.initrd = path_of(v, key);
      else if (key == "append") w.append = string_of(v, key);
      else if (key == "command") w.command = string_of(v, key);
    }
    w.settings = settings_of(*t, own);
    if (w.name.empty()) fail(&n, "a workload needs a name");
    if (!std::regex_match(w.name, std::regex("^[A-Za-z0-9][A-Za-z0-9.+-]*$")))
      fail(t->get("name"), "workload name '" + w.name + "' may hold only letters, digits, '.', '+' and '-'");
    if (w.program.empty() == w.image.empty())
      fail(&n, "workload '" + w.name + "' needs either program (the built-in guest) or image (a disk image)");
    if (!w.program.empty() && (!w.kernel.empty() || !w.initrd.empty() || !w.append.empty() || !w.command.empty()))
      fail(&n, "workload '" + w.name + "': kernel, initrd, append and command go with image, not program");
    if (!w.image.empty() && !w.args.empty())
      fail(&n, "workload '" + w.name + "': args go with program; a disk image takes command");
    if ((!w.initrd.empty() || !w.append.empty()) && w.kernel.empty())
      fail(&n, "workload '" + w.name + "': initrd and append need kernel");
    return w;
  }

  Plan plan_of(const toml::table& root) const {
    Plan p;
    for (auto&& [k, v] : root) {
      std::string key(k.str());
      if (key == "output") p.output = path_of(v, key);
      else if (key == "settings") {
        if (!v.is_table()) fail(&v, "settings must be a table: [settings]");
        p.matrix = settings_of(*v.as_table(), {});
      } else if (key == "workload") {
        if (!v.is_array_of_tables()) fail(&v, "workloads are written [[workload]]");
        std::set<std::string> names;
        for (const toml::node& w : *v.as_array()) {
          p.workloads.push_back(workload_of(w));
          if (!names.insert(p.workloads.back().name).second)
            fail(&w, "two workloads are named '" + p.workloads.back().name + "'");
        }
      } else if (key == "slurm") {
        if (!v.is_table()) fail(&v, "slurm must be a table: [slurm]");
        for (auto&& [sk, sv] : *v.as_table()) {
          std::string skey(sk.str());
          if (skey == "memory") p.slurm.memory = string_of(sv, skey);
          else if (skey == "time") p.slurm.time = string_of(sv, skey);
          else if (skey == "partition") p.slurm.partition = string_of(sv, skey);
          else if (skey == "sbatch_args") {
            if (!sv.is_array()) fail(&sv, "sbatch_args must be a list of strings");
            for (const toml::node& a : *sv.as_array()) p.slurm.sbatch_args.push_back(string_of(a, skey));
          } else {
            fail(&sv, "unknown key '" + skey + "' in [slurm] (keys: memory, time, partition, sbatch_args)");
          }
        }
      } else {
        fail(&v, "unknown key '" + key + "' (keys: output, [settings], [[workload]], [slurm])");
      }
    }
    if (p.workloads.empty()) fail(nullptr, "the plan has no [[workload]]");
    if (p.output.empty()) fail(nullptr, "the plan gives no output directory (output = \"DIR\")");
    return p;
  }

 private:
  std::string source_, base_;
};

}  // namespace

const std::vector<std::string>& setting_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& i : key_table()) k.push_back(i.key);
    return k;
  }();
  return keys;
}

std::string setting_default(const std::string& key) {
  const KeyInfo* i = key_info(key);
  return i ? i->def : "";
}

Plan parse_plan(const std::string& text, const std::string& source_name, const std::string& base_dir) {
  Reader r(source_name, base_dir);
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    throw PlanError(source_name + ":" + std::to_string(e.source().begin.line) + ":" +
                    std::to_string(e.source().begin.column) + ": " + std::string(e.description()));
  }
  Plan p = r.plan_of(root);
  p.path = source_name;
  return p;
}

Plan read_plan(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw PlanError("cannot read plan " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  Plan p = parse_plan(ss.str(), path, abs.parent_path().string());
  p.path = abs.string();
  return p;
}

}  // namespace qemutrace::campaign
