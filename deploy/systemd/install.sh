#!/usr/bin/env bash
# Installs sejitsd as a system service for a shared node: the unit, its flags
# file, the sejits user and group; then enables and starts it.
#   sudo deploy/systemd/install.sh            (after: cmake --install build)
#   deploy/systemd/install.sh --dry-run       prints what it would do, changes nothing
# An existing /etc/sejits/sejitsd.conf is kept (the new one lands beside it as
# sejitsd.conf.new), since it holds the administrator's choices.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DAEMON=/usr/local/bin/sejitsd
DRY_RUN=0
[[ "${1:-}" == "--dry-run" ]] && DRY_RUN=1

run() {
  echo "+ $*"
  if [[ $DRY_RUN == 0 ]]; then "$@"; fi
}

if [[ $DRY_RUN == 0 ]]; then
  [[ $(id -u) == 0 ]] || { echo "error: run as root (or with --dry-run)" >&2; exit 1; }
  [[ -x $DAEMON ]] || { echo "error: $DAEMON is missing: build, then cmake --install build" >&2; exit 1; }
  command -v systemctl >/dev/null || { echo "error: systemctl not found: not a systemd host" >&2; exit 1; }
fi

run install -D -m 0644 "$HERE/sejits.sysusers.conf" /etc/sysusers.d/sejits.conf
run systemd-sysusers /etc/sysusers.d/sejits.conf

conf=/etc/sejits/sejitsd.conf
[[ -e $conf ]] && conf=/etc/sejits/sejitsd.conf.new
run install -D -m 0644 "$HERE/sejitsd.conf" "$conf"
if [[ $conf == *.new ]]; then echo "note: kept the existing /etc/sejits/sejitsd.conf; compare it with $conf"; fi

run install -D -m 0644 "$HERE/sejitsd.service" /etc/systemd/system/sejitsd.service
run systemctl daemon-reload
run systemctl enable sejitsd.service
# restart, not start: a reinstall then runs the new binary, unit and flags.
run systemctl restart sejitsd.service
echo "users of the daemon join its group (and log in again): usermod -aG sejits USER"

if [[ $DRY_RUN == 0 ]] && command -v sejits-health >/dev/null; then
  for _ in $(seq 20); do
    sejits-health unix:/run/sejits/sejitsd.sock --timeout_s=1 2>/dev/null && { echo "sejitsd is serving"; exit 0; }
    sleep 0.5
  done
  echo "error: sejitsd is not serving; see: journalctl -u sejitsd" >&2
  exit 1
fi
