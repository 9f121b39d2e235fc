// `--nested`: the built-in x86_64 guest as a level-1 hypervisor (kvm_amd on
// QEMU's emulated AMD SVM) that runs a level-2 guest (docs/guide.md,
// "Hypervisors").
#pragma once

#include <string>
#include <vector>

namespace qemutrace::launcher {

// The workload of a nested run without --program: the KVM launcher whose
// level-2 code carries the ROI markers (guest/programs/qt-nested.c).
inline constexpr const char* kNestedProgram = "qt-nested";

// The level rule the tracer applies to a nested run (plugin option levels=).
inline constexpr const char* kNestedLevels = "levels=nested";

// Throws LaunchError unless a nested run can use this guest: the built-in
// x86_64 guest (AMD SVM is what TCG emulates; i386 has no KVM).
void check_nested(const std::string& arch, bool builtin_guest);

// Appends the guest's KVM modules (nested.cpio of guest/build-image.sh) to
// the workload initrd at `initrd`. Throws LaunchError.
void append_kvm_modules(const std::string& guest_dir, const std::string& initrd);

// QEMU options a nested run adds unless the user gave them: `-cpu max`,
// whose model has SVM with nested paging.
std::vector<std::string> nested_qemu_args(const std::vector<std::string>& user_args);

}  // namespace qemutrace::launcher
