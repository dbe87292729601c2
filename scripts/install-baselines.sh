#!/usr/bin/env bash
# Installs the bench's baselines, nginx and Varnish, and its load generator for hits, wrk, from
# Debian's packages when missing.
# Their system services are neither started nor enabled: the bench runs its own instances from
# temp dirs on free ports. Run as root (or with sudo). Usage: scripts/install-baselines.sh
set -euo pipefail

# Non-root PATHs often lack the sbin dirs both live in; `command -v` alone also names files that
# are not executable.
have() {
  local candidate
  for candidate in "$(command -v "$1" 2>/dev/null || true)" "/usr/local/sbin/$1" "/usr/sbin/$1"; do
    if [ -f "$candidate" ] && [ -x "$candidate" ]; then return 0; fi
  done
  return 1
}

want_nginx=0 want_varnish=0 want_wrk=0
have nginx || want_nginx=1
have varnishd || want_varnish=1
have wrk || want_wrk=1
if [ "$want_nginx$want_varnish$want_wrk" = 000 ]; then
  echo "nginx, varnishd and wrk are already installed: nothing to do"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then exec sudo -- "$0" "$@"; fi
  echo "install-baselines: run as root (apt-get installs packages)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-baselines: apt-get not found; install nginx, varnish and wrk with your package manager" >&2
  exit 1
fi

# A policy-rc.d answering 101 stops the packages' maintainer scripts from starting services.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi

export DEBIAN_FRONTEND=noninteractive
echo "apt-get update"
apt-get update -qq

packages=() services=()
if [ "$want_nginx" = 1 ]; then
  # nginx-light is bookworm's small build; later releases have only nginx.
  if apt-cache show nginx-light >/dev/null 2>&1; then packages+=(nginx-light); else packages+=(nginx); fi
  services+=(nginx)
fi
if [ "$want_varnish" = 1 ]; then
  packages+=(varnish)
  services+=(varnish varnishncsa)
fi
if [ "$want_wrk" = 1 ]; then
  # The hit scenarios' load generator (a C client); without it they fall back to autocannon.
  packages+=(wrk)
fi
echo "apt-get install ${packages[*]}"
apt-get install -y -qq --no-install-recommends "${packages[@]}"

# Packages enable their services for boot; the bench does not want them running.
for service in "${services[@]}"; do
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --quiet "$service" >/dev/null 2>&1 || true; fi
  if command -v update-rc.d >/dev/null 2>&1; then update-rc.d "$service" disable >/dev/null 2>&1 || true; fi
  echo "disabled the $service service (not started)"
done

echo "installed ${packages[*]}: $(command -v nginx || echo /usr/sbin/nginx), $(command -v varnishd || echo /usr/sbin/varnishd), $(command -v wrk || echo wrk)"
