#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the demo need, once, for the Makefile and .ci/run
# alike. A package is installed only when the file it provides is missing, so a warm machine pays nothing.
# Not root and something missing: stop at once with the one command that fixes it.
# `system-deps.sh images` installs instead the opt-in set `make images` needs, which tests and CI never pay for.
set -euo pipefail

# file that must exist -> Debian package that provides it
declare -A package_of=(
  [/usr/bin/openssl]=openssl            # certificates of the local control plane and the webhook
  [/usr/bin/make]=make
  [/usr/bin/git]=git
  [/usr/bin/g++]=g++                    # node-gyp builds the raw-frame binding (cap)
  [/usr/bin/python3]=python3            # node-gyp, and FRR's frr-reload.py
  [/usr/sbin/ip]=iproute2               # network namespaces of the e2e labs and the demo
  [/usr/bin/vtysh]=frr                  # BGP/BFD: what the speaker configures
  [/usr/lib/frr/frr-reload.py]=frr-pythontools
  [/usr/include/pcap/pcap.h]=libpcap-dev  # raw ARP/NDP frames for layer 2
  [/usr/sbin/arping]=arping             # L2 e2e: the client resolves Service IPs (Habets' arping)
  [/usr/bin/ndisc6]=ndisc6              # L2 e2e: IPv6 neighbour solicitation from the client
  [/usr/bin/ping]=iputils-ping
  [/usr/bin/promtool]=prometheus        # alert rule checks and unit tests; the monitoring e2e's Prometheus
)

if [ "${1:-}" = images ]; then
  package_of=(
    [/usr/bin/buildah]=buildah          # builds the images FROM scratch and writes OCI archives
    [/usr/bin/tini-static]=tini         # PID 1 of the FRR image
    [/usr/bin/vtysh]=frr                # the FRR image is made of the machine's FRR packages
    [/usr/lib/frr/frr-reload.py]=frr-pythontools
    [/usr/lib/x86_64-linux-gnu/security/pam_permit.so]=libpam-modules  # lets vtysh run in the images
  )
fi

missing=()
for file in "${!package_of[@]}"; do
  [ -e "$file" ] || missing+=("${package_of[$file]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

if [ "$(id -u)" -ne 0 ]; then
  echo "system packages missing: ${missing[*]}" >&2
  echo "install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
