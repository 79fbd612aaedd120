#!/usr/bin/env bash
# Installs, from Debian's packages, the real servers the tests and the demo start on loopback:
# nginx (proxy host), OpenSSH (the proxy host's and the containers' SSH), PowerDNS with its
# SQLite backend, LXC (real containers for the sandbox), and the tools they are driven with;
# Ansible with proxmoxer, the bench's yardstick.
# Idempotent; needs root. Services are installed, never started: the tests start their own.
set -euo pipefail
packages=(nginx-light libnginx-mod-stream openssh-server openssh-client pdns-server pdns-backend-sqlite3 sqlite3
  lxc iproute2 iptables dnsutils util-linux procps curl openssl ca-certificates rsync
  ansible python3-proxmoxer python3-requests)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then echo "system packages: all present"; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages (run this script as root): ${missing[*]}" >&2; exit 1
fi
echo "installing system packages: ${missing[*]}"
# Keep package scripts from starting nginx, sshd or pdns on their default ports.
policy=/usr/sbin/policy-rc.d
had_policy=0; [ -e "$policy" ] && had_policy=1
if [ $had_policy -eq 0 ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; fi
trap '[ $had_policy -eq 0 ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system packages: installed"
