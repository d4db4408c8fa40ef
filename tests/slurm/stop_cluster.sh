#!/usr/bin/env bash
# Stop the daemons started by start_cluster.sh, by the PIDs in their pid files only (never by name).
# Usage: stop_cluster.sh [--purge | --uninstall]
#   --purge      also delete state, logs, DB and the /etc/slurm symlinks
#   --uninstall  --purge, then `apt-get purge` exactly the Debian packages start_cluster.sh installed (as
#                recorded in $SLURM_PKG_RECORD), so the machine is as before (e.g. a shared dev machine:
#                with slurm-client installed, every `snakemake` start probes `scontrol` for ~10 s)
set -uo pipefail
BASE=${SLURM_BASE:-/tmp/slurm-ci}
PKG_RECORD=${SLURM_PKG_RECORD:-/var/lib/matcomp-slurm-ci/installed-packages.txt}
MODE=${1:-}
case "$MODE" in ""|--purge|--uninstall) ;; *) echo "usage: $0 [--purge|--uninstall]" >&2; exit 2;; esac

stop_pid() {  # stop_pid <pidfile> <comm>
  local pf=$1 comm=$2 pid i
  [ -s "$pf" ] || { echo "$comm: no pid file"; return 0; }
  pid=$(cat "$pf")
  if ! kill -0 "$pid" 2>/dev/null || [ "$(cat /proc/"$pid"/comm 2>/dev/null)" != "$comm" ]; then
    echo "$comm: not running (stale pid $pid)"; rm -f "$pf"; return 0
  fi
  kill -TERM "$pid"
  for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$comm: still alive after 30s, sending SIGKILL to $pid"; kill -KILL "$pid"; sleep 1
  fi
  rm -f "$pf"
  echo "$comm: stopped (pid $pid)"
}

# order: compute node, controller, accounting daemon, database, auth
stop_pid "$BASE/run/slurmd.pid"      slurmd
stop_pid "$BASE/run/slurmctld.pid"   slurmctld
stop_pid "$BASE/run/slurmdbd.pid"    slurmdbd
stop_pid "$BASE/mysql/mariadbd.pid"  mariadbd
stop_pid "$BASE/munge/munged.pid"    munged

if [ -n "$MODE" ]; then
  case "$BASE" in /|/tmp|/etc|/root|"") echo "refusing to purge '$BASE'"; exit 1;; esac
  for f in slurm.conf gres.conf slurmdbd.conf; do
    [ "$(readlink /etc/slurm/$f 2>/dev/null)" = "$BASE/etc/$f" ] && rm -f "/etc/slurm/$f"
  done
  rm -rf "$BASE"
  echo "purged $BASE"
fi

if [ "$MODE" = --uninstall ]; then
  if [ -s "$PKG_RECORD" ]; then
    mapfile -t pkgs < <(sort -u "$PKG_RECORD")
    installed=()
    for p in "${pkgs[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && installed+=("$p")
    done
    if [ ${#installed[@]} -gt 0 ]; then
      echo "purging ${#installed[@]} packages installed by start_cluster.sh: ${installed[*]}"
      DEBIAN_FRONTEND=noninteractive timeout 600 apt-get -o DPkg::Lock::Timeout=300 purge -y -qq \
        "${installed[@]}" >/dev/null || { echo "apt-get purge failed" >&2; exit 1; }
    fi
    rm -f "$PKG_RECORD"
    rmdir "$(dirname "$PKG_RECORD")" 2>/dev/null || true
  else
    echo "no package record at $PKG_RECORD: nothing to uninstall"
  fi
fi
