#!/usr/bin/env bash
# Start a single-node SLURM test cluster on localhost (munge + [MariaDB + slurmdbd] + slurmctld + slurmd),
# for tests/test_slurm.py (`pytest -m slurm`). The project's copy of the recipe in ../shared/slurm/.
# Idempotent: components that are already running are left alone; config files are (re)written each time
# (a change of slurm.conf only takes effect after stop_cluster.sh + start_cluster.sh).
#
# Environment knobs:
#   SLURM_BASE        state/log/config dir               (default /tmp/slurm-ci)
#   SLURM_ACCOUNTING  dbd  -> MariaDB + slurmdbd, `sacct` works (default)
#                     none -> no accounting DB; `sacct` fails, use `--slurm-status-command squeue`
#   SLURM_CI_ACCOUNT  account created in slurmdbd for the current user (default x)
#   DB_PORT           TCP port of the private MariaDB on 127.0.0.1 (default 3306)
#   NODE_MEM_MB       RealMemory of the node (default: 80% of MemTotal)
#   NODE_GPUS         number of fake GPUs (File=/dev/null) (default 1; 0 disables GRES)
#   SLURM_PKG_RECORD  where the names of the Debian packages this script installed are appended, so that
#                     `stop_cluster.sh --uninstall` can purge exactly those (default
#                     /var/lib/matcomp-slurm-ci/installed-packages.txt)
#
# Needs root. Writes /etc/slurm/{slurm,gres,slurmdbd}.conf as symlinks into $SLURM_BASE/etc and
# uses the default munge socket /run/munge/munge.socket.2 (see notes in the report for why).
set -euo pipefail

BASE=${SLURM_BASE:-/tmp/slurm-ci}
ACCOUNTING=${SLURM_ACCOUNTING:-dbd}
ACCOUNT=${SLURM_CI_ACCOUNT:-x}
DB_PORT=${DB_PORT:-3306}
NODE_GPUS=${NODE_GPUS:-1}
H=$(hostname -s)
NCPU=$(nproc)
MEMTOTAL_MB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 ))
NODE_MEM_MB=${NODE_MEM_MB:-$(( MEMTOTAL_MB * 8 / 10 ))}
MUNGE_SOCKET=/run/munge/munge.socket.2
PKG_RECORD=${SLURM_PKG_RECORD:-/var/lib/matcomp-slurm-ci/installed-packages.txt}
T0=$(date +%s.%N)

log() { echo "[start_cluster $(awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN {printf "%6.1f", a - b}')s] $*"; }
die() { echo "[start_cluster] ERROR: $*" >&2; exit 1; }
alive() {  # alive <pidfile> <comm>
  local pf=$1 comm=$2 pid
  [ -s "$pf" ] || return 1
  pid=$(cat "$pf" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$comm" ]
}
wait_for() {  # wait_for <seconds> <description> <command...>
  local secs=$1 what=$2; shift 2
  local end=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || die "timeout (${secs}s) waiting for $what"
    sleep 0.5
  done
}

[ "$(id -u)" = 0 ] || die "must run as root"
case "$ACCOUNTING" in dbd|none) ;; *) die "SLURM_ACCOUNTING must be dbd or none";; esac

# ---------------------------------------------------------------- packages
pkgs=(slurmctld slurmd slurm-client munge)
[ "$ACCOUNTING" = dbd ] && pkgs+=(slurmdbd mariadb-server)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "apt-get not found: cannot install ${missing[*]}"
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  mkdir -p "$(dirname "$PKG_RECORD")"
  before=$(mktemp)
  dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" {print $2}' | sort > "$before"
  timeout 600 apt-get -o DPkg::Lock::Timeout=300 update -qq
  timeout 900 apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # record every package this install added (the named ones and their dependencies)
  dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" {print $2}' | sort \
    | comm -13 "$before" - >> "$PKG_RECORD"
  rm -f "$before"
  log "packages installed ($(sort -u "$PKG_RECORD" | wc -l) recorded in $PKG_RECORD)"
fi

mkdir -p "$BASE"/{etc,log,run,spool/ctld,spool/d,munge} /etc/slurm /run/munge
chmod 755 "$BASE/munge" /run/munge

# ---------------------------------------------------------------- munge
if [ ! -s "$BASE/munge/munge.key" ]; then
  timeout 30 mungekey -c -k "$BASE/munge/munge.key"
fi
chown root:root "$BASE/munge/munge.key"; chmod 600 "$BASE/munge/munge.key"
if alive "$BASE/munge/munged.pid" munged; then
  log "munged already running (pid $(cat "$BASE/munge/munged.pid"))"
else
  timeout 30 munged --key-file="$BASE/munge/munge.key" --socket="$MUNGE_SOCKET" \
    --pid-file="$BASE/munge/munged.pid" --log-file="$BASE/munge/munged.log" \
    --seed-file="$BASE/munge/munged.seed" --force
  log "munged started (pid $(cat "$BASE/munge/munged.pid"))"
fi
wait_for 20 "munge" bash -c "timeout 5 munge -n -S $MUNGE_SOCKET | timeout 5 unmunge -S $MUNGE_SOCKET"

# ---------------------------------------------------------------- config files
if [ "$ACCOUNTING" = dbd ]; then
  ACCT_CONF="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStorageTRES=gres/gpu"
else
  ACCT_CONF="AccountingStorageType=accounting_storage/none"
fi
if [ "$NODE_GPUS" -gt 0 ]; then GRES_NODE="Gres=gpu:$NODE_GPUS"; GRES_TYPES="GresTypes=gpu"; else GRES_NODE=""; GRES_TYPES=""; fi

cat > "$BASE/etc/slurm.conf.new" <<EOF
# generated by start_cluster.sh
ClusterName=ci
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MailProg=/bin/true
StateSaveLocation=$BASE/spool/ctld
SlurmdSpoolDir=$BASE/spool/d
SlurmctldPidFile=$BASE/run/slurmctld.pid
SlurmdPidFile=$BASE/run/slurmd.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
MinJobAge=300
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
# keep sbatch --comment in the accounting (the snakemake plugin writes rule_<rule>_wildcards_... there)
AccountingStoreFlags=job_comment
$ACCT_CONF
JobCompType=jobcomp/filetxt
JobCompLoc=$BASE/log/jobcomp.txt
$GRES_TYPES
NodeName=$H NodeAddr=127.0.0.1 CPUs=$NCPU RealMemory=$NODE_MEM_MB $GRES_NODE State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
mv "$BASE/etc/slurm.conf.new" "$BASE/etc/slurm.conf"
{
  echo "AutoDetect=off"
  [ "$NODE_GPUS" -gt 0 ] && echo "NodeName=$H Name=gpu File=/dev/null Count=$NODE_GPUS"
} > "$BASE/etc/gres.conf"
# Slurm clients inside jobs (srun started by the snakemake jobstep plugin) do NOT get SLURM_CONF
# (the plugin strips SLURM_* from the environment), so the config must be at the default path.
ln -sfn "$BASE/etc/slurm.conf" /etc/slurm/slurm.conf
ln -sfn "$BASE/etc/gres.conf"  /etc/slurm/gres.conf

# ---------------------------------------------------------------- MariaDB + slurmdbd
if [ "$ACCOUNTING" = dbd ]; then
  DB=$BASE/mysql
  mkdir -p "$DB"
  if [ ! -d "$DB/data/mysql" ]; then
    timeout 120 mariadb-install-db --no-defaults --datadir="$DB/data" --user=root --skip-test-db \
      > "$DB/install.log" 2>&1 || { cat "$DB/install.log"; die "mariadb-install-db failed"; }
    log "MariaDB datadir initialised"
  fi
  if alive "$DB/mariadbd.pid" mariadbd; then
    log "mariadbd already running (pid $(cat "$DB/mariadbd.pid"))"
  else
    setsid mariadbd --no-defaults --datadir="$DB/data" --socket="$DB/mysqld.sock" \
      --port="$DB_PORT" --bind-address=127.0.0.1 --user=root --pid-file="$DB/mariadbd.pid" \
      --log-error="$DB/mariadbd.err" --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900 \
      </dev/null >/dev/null 2>&1 &
    wait_for 60 "mariadbd" timeout 5 mariadb-admin --no-defaults -S "$DB/mysqld.sock" -uroot ping
    log "mariadbd started (pid $(cat "$DB/mariadbd.pid"), port $DB_PORT)"
  fi
  timeout 30 mariadb --no-defaults -S "$DB/mysqld.sock" -uroot -e "
    CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurmpw';
    CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmpw';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
    FLUSH PRIVILEGES;"

  cat > "$BASE/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
DebugLevel=info
PidFile=$BASE/run/slurmdbd.pid
LogFile=$BASE/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurmpw
StorageLoc=slurm_acct_db
EOF
  chmod 600 "$BASE/etc/slurmdbd.conf"
  ln -sfn "$BASE/etc/slurmdbd.conf" /etc/slurm/slurmdbd.conf
  if alive "$BASE/run/slurmdbd.pid" slurmdbd; then
    log "slurmdbd already running (pid $(cat "$BASE/run/slurmdbd.pid"))"
  else
    timeout 60 slurmdbd
    wait_for 60 "slurmdbd" timeout 5 sacctmgr -n list cluster
    log "slurmdbd started (pid $(cat "$BASE/run/slurmdbd.pid"))"
  fi
else
  rm -f /etc/slurm/slurmdbd.conf
fi

# ---------------------------------------------------------------- slurmctld
if alive "$BASE/run/slurmctld.pid" slurmctld; then
  log "slurmctld already running (pid $(cat "$BASE/run/slurmctld.pid"))"
else
  timeout 60 slurmctld
  wait_for 60 "slurmctld" bash -c "timeout 5 scontrol ping | grep -q UP"
  log "slurmctld started (pid $(cat "$BASE/run/slurmctld.pid"))"
fi

# ---------------------------------------------------------------- account for the snakemake plugin
if [ "$ACCOUNTING" = dbd ]; then
  # slurmctld registers the cluster in slurmdbd by itself; wait for it, then add the account
  wait_for 60 "cluster registration in slurmdbd" bash -c "timeout 5 sacctmgr -n -P list cluster format=cluster | grep -qx ci"
  USER_NAME=$(id -un)
  if ! timeout 10 sacctmgr -n -P list account "$ACCOUNT" format=account | grep -qx "$ACCOUNT"; then
    timeout 10 sacctmgr -i add account "$ACCOUNT" Description=ci Organization=ci >/dev/null
  fi
  if ! timeout 10 sacctmgr -n -P -s list user "$USER_NAME" format=account | grep -qx "$ACCOUNT"; then
    timeout 10 sacctmgr -i add user "$USER_NAME" account="$ACCOUNT" >/dev/null
  fi
  log "account '$ACCOUNT' registered for user $USER_NAME"
fi

# ---------------------------------------------------------------- slurmd
if alive "$BASE/run/slurmd.pid" slurmd; then
  log "slurmd already running (pid $(cat "$BASE/run/slurmd.pid"))"
else
  timeout 60 slurmd
  wait_for 20 "slurmd pid file" test -s "$BASE/run/slurmd.pid"
  log "slurmd started (pid $(cat "$BASE/run/slurmd.pid"))"
fi

# ---------------------------------------------------------------- wait for node idle
end=$(( $(date +%s) + 60 )); resumed=0
while :; do
  st=$(timeout 5 sinfo -h -N -n "$H" -o %T 2>/dev/null || true)
  [ "$st" = idle ] && break
  case "$st" in
    *drain*|*down*|inval*)
      if [ $resumed = 0 ]; then
        timeout 5 scontrol update nodename="$H" state=resume || true; resumed=1
      fi ;;
  esac
  [ "$(date +%s)" -lt "$end" ] || { timeout 5 sinfo -N -o '%N %T %E' || true; die "node $H not idle (state: $st)"; }
  sleep 0.5
done
log "node $H is idle"
# end-to-end smoke test: a real job step through slurmctld -> slurmd (skip with SKIP_SMOKE=1)
if [ "${SKIP_SMOKE:-0}" != 1 ]; then
  out=$(cd /tmp && timeout 60 srun -J start_cluster_smoke -N1 -n1 -t 1 hostname) || die "smoke test srun failed"
  log "smoke test: srun hostname -> $out"
fi
log "cluster ready"
timeout 5 sinfo -N -o '%N %P %T %c %m %G'
pids=""
for pf in "$BASE/munge/munged.pid" "$BASE/mysql/mariadbd.pid" "$BASE/run/slurmdbd.pid" \
          "$BASE/run/slurmctld.pid" "$BASE/run/slurmd.pid"; do
  [ -s "$pf" ] && pids+=" $(basename "$pf" .pid)=$(cat "$pf")"
done
log "daemons:$pids (stop them with stop_cluster.sh [--purge|--uninstall])"
