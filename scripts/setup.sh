#!/usr/bin/env bash
# Installs everything weft needs on a fresh Debian 12 machine, as root: system packages, npm
# dependencies, the build, the local images, and weftd/weft on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  runc conmon nftables iproute2 busybox-static util-linux procps psmisc kmod \
  docker.io python3-docker python3-pytest docker-compose etcd-server openssl dnsperf podman \
  netavark aardvark-dns libmnl-dev libnftables-dev iperf3 strace chromium \
  gcc libc6-dev nginx-light >/dev/null
npm ci --no-audit --no-fund
npm run build
mkdir -p dist/native
gcc -O2 -Wall -o dist/native/weft-rtio src/runtime/native/weft-rtio.c -lutil
gcc -O2 -Wall -o dist/native/weft-dns src/dns/native/weft-dns.c
gcc -O2 -Wall -o dist/native/weft-nftwatch src/kernel/native/weft-nftwatch.c
gcc -O2 -Wall -o dist/native/weft-kernel src/kernel/agent/*.c -lmnl -lnftables -lpthread
bash scripts/build-images.sh images
ln -sf "$PWD/bin/weftd" /usr/local/bin/weftd
ln -sf "$PWD/bin/weft" /usr/local/bin/weft
echo "weft set up: weftd and weft are on PATH"
