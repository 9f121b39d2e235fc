// Small helpers shared by the launcher commands (run, demo, ctl, guest, the
// legacy front end): locating files, shell words, process spawning, output.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace qemutrace::launcher {

// A user-facing error: main prints "qemutrace: <what>" on one line.
struct LaunchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Directory of the running executable (symlinks resolved).
std::string exe_dir();
// The qemutrace source tree: $QEMUTRACE_SRC, else the tree this binary was
// built from, else <prefix>/share/qemutrace. Used to find guest/ scripts.
std::string source_dir();
// The plugin: $QEMUTRACE_PLUGIN, else <exe>/../lib/libqemutrace.so, else
// the install libdir. Throws LaunchError if none exists.
std::string plugin_path();

bool file_exists(const std::string& path);
bool is_regular_file(const std::string& path);
std::string absolute_path(const std::string& path);
std::string dirname_of(const std::string& path);
std::string basename_of(const std::string& path);
// First match of name in $PATH (or name itself if it contains '/').
std::optional<std::string> which(const std::string& name);

// POSIX-shell word splitting of one line (quotes and backslashes; no
// expansion). Throws LaunchError on an unterminated quote.
std::vector<std::string> shell_split(const std::string& line);
std::string shell_quote(const std::string& word);
std::string join_command(const std::vector<std::string>& argv);

// Runs argv, returns exit status (or 128+signal); stdout captured into *out
// when out is given, stderr captured into *err when given (else inherited).
int run_capture(const std::vector<std::string>& argv, std::string* out, std::string* err = nullptr);

// Parses sizes and counts: "1000", "10k", "5M", "2G" (decimal units).
std::optional<int64_t> parse_count(const std::string& s);
// An instruction count option (--limit, --skip, --window, --every; the same
// settings in a campaign plan): parse_count's spellings, never negative; -1
// ("no limit") only if no_limit. nullopt for anything else.
std::optional<int64_t> parse_count_option(const std::string& s, bool no_limit);
// What parse_count_option takes, for messages: "a count such as ...".
std::string count_option_choices(bool no_limit);

std::string human_count(double n);  // 1.23M
std::string human_bytes(double n);  // 1.2 MiB
double now_seconds();               // qemutrace::monotonic_ns() in seconds

std::string trim(const std::string& s);
bool starts_with(const std::string& s, const std::string& prefix);

// A private temporary directory removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace qemutrace::launcher
