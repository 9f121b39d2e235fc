#include "arch/arch.h"

namespace qemutrace::plugin {

std::unique_ptr<Arch> make_arch(const std::string& target, std::string* error) {
  if (target == "x86_64") return make_x86_arch(true);
  if (target == "i386") return make_x86_arch(false);
  if (target == "aarch64") return make_aarch64_arch();
  if (error) *error = "unsupported guest architecture '" + target + "'";
  return nullptr;
}

}  // namespace qemutrace::plugin
