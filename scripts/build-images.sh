#!/usr/bin/env bash
# Builds the local images busybox and alpine as rootfs tarballs from Debian's busybox-static
# (no registry is reachable). Both carry every busybox applet (ash, ping, ip, nslookup, wget, httpd...).
set -euo pipefail
out=${1:-$(dirname "$0")/../images}
mkdir -p "$out"
build() {
  local name=$1 release=$2
  local root; root=$(mktemp -d)
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,proc,sys,dev,var/www,var/log,run,home}
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list-full); do
    [ "$applet" = bin/busybox ] && continue
    mkdir -p "$root/$(dirname "$applet")"
    ln -sf /bin/busybox "$root/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\nwww-data:x:33:33:www-data:/var/www:/bin/false\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\nwww-data:x:33:\n' > "$root/etc/group"
  printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
  printf 'NAME="%s"\nID=%s\nPRETTY_NAME="%s (weft local image from busybox-static)"\n' "$name" "$name" "$name" > "$root/etc/os-release"
  [ -n "$release" ] && echo "$release" > "$root/etc/alpine-release"
  tar -C "$root" --numeric-owner -cf "$out/$name.tar" .
  rm -rf "$root"
  # Image config that `docker import` cannot carry; weftd reads it when it seeds its store.
  printf '{"Cmd":["/bin/sh"],"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}\n' > "$out/$name.json"
}
build busybox ''
build alpine '3.18.0'
echo "images built in $out"
