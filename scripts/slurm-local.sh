#!/usr/bin/env bash
# Starts a one-node SLURM cluster on this machine (munge + slurmctld + slurmd, no cgroups, no
# accounting) for the fine-tune tests' real sbatch jobs. Idempotent: does nothing when the
# cluster already answers. Needs root (CI and the dev machines run as root) and Debian's
# slurm-wlm and munge (scripts/setup.sh installs them).
set -euo pipefail

if sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mix|alloc'; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "slurm-local: needs root to start munged, slurmctld and slurmd" >&2
  exit 1
fi

host="$(hostname -s)"
cpus="$(nproc)"
mem_mb="$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)"

mkdir -p /etc/munge /var/log/munge /run/munge /var/lib/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown -R munge:munge /etc/munge /var/log/munge /run/munge /var/lib/munge
chmod 0400 /etc/munge/munge.key
pgrep -x munged >/dev/null || munged --force

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=radiochat
SlurmctldHost=${host}
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ReturnToService=2
MinJobAge=3600
NodeName=${host} CPUs=${cpus} RealMemory=${mem_mb} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF

pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd
for _ in $(seq 1 30); do
  if sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mix|alloc'; then
    exit 0
  fi
  sleep 1
done
echo "slurm-local: the cluster did not come up; see /var/log/slurm/" >&2
sinfo >&2 || true
exit 1
