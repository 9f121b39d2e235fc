// One job's life, the same under every back end: `qemutrace campaign job
// DIR INDEX` records it running, runs qemutrace run with its log in
// DIR/<job>/run.log and records how it ended.
#pragma once

#include <optional>
#include <string>

#include "campaign/state.h"

namespace qemutrace::campaign {

// This executable, for the commands the back ends start.
std::string self_exe();
std::string this_host();

// Runs job `index` of the campaign in dir; returns qemutrace run's exit code.
int run_job(const std::string& dir, size_t index);

// Whether a finished job's trace still holds: binary traces pass
// `qemutrace verify`; other formats (which verify does not read) need a
// complete manifest whose files all exist with the sizes it records.
// why: what is wrong, when false.
bool trace_holds(const std::string& dir, const Job& job, std::string* why);

// Whether the process behind a Submitted or Running record still exists:
// its runner on this host, or its Slurm task (squeue); nullopt when this
// machine cannot tell.
std::optional<bool> job_alive(const JobRecord& r);

Status current_status(const std::string& dir, const Job& job);

}  // namespace qemutrace::campaign
