#!/usr/bin/env bash
# A private single-node Slurm for a test (sourced, not a test): munged,
# slurmctld and slurmd from Debian's munge and slurm-wlm, run as root from a
# config generated under DIR with its own munge key, socket and ports. No
# system-wide file is read or changed: SLURM_CONF points the daemons and the
# client tools (sbatch, squeue, scontrol, sinfo) at DIR/slurm.conf.
#   slurm_start DIR   starts them; waits (deadline) for slurmctld to answer
#                     `scontrol ping` and the node to be idle in sinfo
#   slurm_stop        stops exactly the daemons slurm_start started
# Uses wait_for and fail from wait_lib.sh and the sourcing test.
[ "${BASH_SOURCE[0]}" = "$0" ] && { echo "slurm_lib.sh: helpers only"; exit 0; }
slurm_pids=()

slurm_start() {
  local d=$1 host tool
  for tool in munged slurmctld slurmd sbatch squeue scontrol sinfo; do
    command -v "$tool" >/dev/null || { fail "$tool missing: run scripts/install-deps.sh (munge, slurm-wlm)"; return 1; }
  done
  [ "$(id -u)" = 0 ] || { fail "the Slurm test runs its daemons as root (as CI does)"; return 1; }
  host=$(hostname -s)
  mkdir -p "$d/munge" "$d/state" "$d/spool"
  chmod a+x "$(dirname "$d")"; chmod 755 "$d"  # munged wants every directory above its socket open to all
  chmod 700 "$d/munge"
  head -c 1024 /dev/urandom >"$d/munge/munge.key"
  chmod 600 "$d/munge/munge.key"
  munged --socket="$d/munge.sock" --key-file="$d/munge/munge.key" --pid-file="$d/munge/munged.pid" \
    --log-file="$d/munge/munged.log" --seed-file="$d/munge/munged.seed" ||
    { fail "munged did not start: $(tail -n1 "$d/munge/munged.log")"; return 1; }
  slurm_pids+=("$(cat "$d/munge/munged.pid")")  # munged forks; this is the daemon
  local ports
  ports=$(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
  : >"$d/plugstack.conf"
  cat >"$d/slurm.conf" <<EOT
ClusterName=qtcampaign
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${ports% *}
SlurmdPort=${ports#* }
AuthType=auth/munge
AuthInfo=socket=$d/munge.sock
CredType=cred/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/slurmctld.log
SlurmdLogFile=$d/slurmd.log
PlugStackConfig=$d/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=4096 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOT
  export SLURM_CONF=$d/slurm.conf
  slurmctld -D -c >"$d/slurmctld.out" 2>&1 &
  slurm_pids+=($!)
  slurmd -D >"$d/slurmd.out" 2>&1 &
  slurm_pids+=($!)
  wait_for "slurmctld to answer scontrol ping" "${slurm_pids[1]}" eval 'scontrol ping 2>/dev/null | grep -q UP' || return 1
  wait_for "the node to be idle in sinfo" "${slurm_pids[2]}" eval '[ "$(sinfo -h -o %T 2>/dev/null)" = idle ]' || return 1
}

slurm_stop() {
  local p
  for p in "${slurm_pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${slurm_pids[@]}"; do
    # munged is not our child: wait for it by its pid (then insist).
    wait_for "daemon $p to stop" - eval '! kill -0 '"$p"' 2>/dev/null' || kill -9 "$p" 2>/dev/null
  done
  slurm_pids=()
}
