// The built-in guest (guest/build-image.sh, guest/add-workload.sh): build or
// find the cached kernel + initramfs, the recommended QEMU arguments, and an
// initrd with the user's program appended as the workload.
#pragma once

#include <string>
#include <vector>

namespace qemutrace::launcher {

// ${XDG_CACHE_HOME:-~/.cache}/qemutrace/guest/<arch>
std::string guest_cache_dir(const std::string& arch);

// Builds the guest if needed (build-image.sh; prints progress on stderr) and
// returns its directory. With `force`, rebuilds. Throws LaunchError.
std::string ensure_guest(const std::string& arch, bool force, bool verbose);

// The recommended QEMU arguments of the guest without the binary, -smp and
// -m: "-kernel K -initrd I -append '...' -nographic -no-reboot ...".
std::vector<std::string> guest_qemu_args(const std::string& arch);

// The command a guest script prints with --print-qemu-args (its words), or
// nothing if the script is missing or fails.
std::vector<std::string> script_qemu_command(const std::string& script_name, const std::vector<std::string>& args);
// A printed QEMU command without the binary, -smp and -m (the user's
// options give those), with "-nic none" unless it names a network.
std::vector<std::string> qemu_args_without_machine_size(const std::vector<std::string>& words);

// Resolves a --program value: an existing file, or a name in the guest's
// programs/ (e.g. "qt-loop"). Throws LaunchError naming the missing file.
std::string resolve_program(const std::string& program, const std::string& guest_dir);

// True if FILE is an ELF executable with a program interpreter (dynamically
// linked): the built-in guest has no libc for it.
bool is_dynamic_elf(const std::string& file);

// Writes work_dir/initrd.img = guest initrd + workload cpio (FILE ARGS).
std::string make_workload_initrd(const std::string& guest_dir, const std::string& program,
                                 const std::vector<std::string>& args, const std::string& work_dir);

}  // namespace qemutrace::launcher
