#!/usr/bin/env bash
# A single-node SLURM "cluster" on this machine, to run the workflow through the SLURM profile
# (profiles/slurm) for real: `make test-cluster` and the README's "Running on a cluster".
#
#   scripts/cluster/start_slurm.sh start    install slurm-wlm and munge if missing (apt-get, as
#                                           root), write /etc/slurm/slurm.conf for this host,
#                                           start munged, slurmctld and slurmd, wait for the node
#   scripts/cluster/start_slurm.sh stop     stop the three daemons
#   scripts/cluster/start_slurm.sh status   sinfo (exit 1 if SLURM is not answering)
#
# Idempotent: `start` on a running cluster only checks it. No systemd is assumed (containers):
# the daemons are started directly. No accounting database (sacct has nothing to say; the
# profile asks squeue, and MinJobAge keeps finished jobs visible to it for 10 minutes), no
# cgroups (proctrack/linuxproc, task/none). On a real cluster none of this is needed: use the
# cluster's own SLURM and adapt profiles/slurm/config.yaml (partition, account, resources).
set -euo pipefail

CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
LOG_DIR=/var/log/slurm
SPOOL=/var/spool/slurm
HOST=$(hostname -s)

say() { echo "start_slurm: $*" >&2; }

need_root() {
    if [ "$(id -u)" != 0 ]; then
        say "must run as root (installs packages, starts daemons); try: sudo $0 $*"
        exit 2
    fi
}

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
        && command -v sbatch >/dev/null; then
        return
    fi
    say "installing slurm-wlm and munge (apt-get) ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge >/dev/null
}

write_conf() {
    local cpus mem_mb
    cpus=$(nproc)
    # RealMemory a little below the total, so that slurmd never finds less than configured
    mem_mb=$(free -m | awk '/^Mem:/ {print int($2 * 0.95)}')
    mkdir -p "$CONF_DIR" "$LOG_DIR" "$SPOOL/ctld" "$SPOOL/d"
    local new
    new=$(cat <<EOF
# Written by scripts/cluster/start_slurm.sh: one node ($HOST, $cpus CPUs, $mem_mb MB), no accounting.
ClusterName=sinks
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$HOST CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=normal Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
)
    if [ ! -f "$CONF" ] || [ "$(cat "$CONF")" != "$new" ]; then
        printf '%s\n' "$new" > "$CONF"
        say "wrote $CONF ($HOST: $cpus CPUs, $mem_mb MB)"
        CONF_CHANGED=1
    fi
}

# a daemon is running if the pid in its pid file is alive (stop ends exactly that process)
pidfile() { case "$1" in munged) echo /run/munge/munged.pid ;; *) echo "/run/$1.pid" ;; esac; }
running() { local f; f=$(pidfile "$1"); [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; }
end() {
    local f; f=$(pidfile "$1")
    if running "$1"; then
        kill "$(cat "$f")" 2>/dev/null || true
        for _ in $(seq 1 20); do running "$1" || break; sleep 0.5; done
    fi
    rm -f "$f"
}

start_munge() {
    if running munged; then return; fi
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    chmod 0755 /run/munge
    if [ ! -s /etc/munge/munge.key ]; then
        if command -v mungekey >/dev/null; then mungekey --create --force; else
            dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; fi
        chown munge:munge /etc/munge/munge.key
        chmod 0400 /etc/munge/munge.key
    fi
    runuser -u munge -- /usr/sbin/munged
}

node_state() { sinfo -h -N -n "$HOST" -o '%t' 2>/dev/null | head -n1; }

start() {
    need_root start
    install_packages
    CONF_CHANGED=0
    write_conf
    start_munge
    if [ "$CONF_CHANGED" = 1 ] && { running slurmctld || running slurmd; }; then
        say "configuration changed: restarting the SLURM daemons"
        stop_slurm
    fi
    if ! running slurmctld; then slurmctld; fi
    if ! running slurmd; then slurmd; fi
    local state=""
    for _ in $(seq 1 60); do
        state=$(node_state)
        case "$state" in
            idle|mix|alloc) break ;;
            down*|drain*|fail*)
                scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true ;;
        esac
        sleep 1
    done
    case "$state" in
        idle|mix|alloc) say "SLURM is up: node $HOST is $state"; sinfo ;;
        *) say "node $HOST did not come up (state '${state:-none}'); see $LOG_DIR/slurmctld.log and $LOG_DIR/slurmd.log"
           exit 1 ;;
    esac
}

stop_slurm() {
    end slurmd
    end slurmctld
}

stop() {
    need_root stop
    stop_slurm
    end munged
    say "stopped"
}

status() {
    if ! command -v sinfo >/dev/null; then say "SLURM is not installed (run: $0 start)"; exit 1; fi
    sinfo || { say "SLURM is not answering (run: $0 start)"; exit 1; }
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
