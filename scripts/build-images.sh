#!/usr/bin/env bash
# Builds the local images busybox and alpine as rootfs tarballs from Debian's busybox-static
# (no registry is reachable). Both carry every busybox applet (ash, ping, ip, nslookup, wget, httpd...).
# Also nginx, from Debian's nginx-light package when it is installed.
set -euo pipefail
out=${1:-$(dirname "$0")/../images}
mkdir -p "$out"
# A busybox root filesystem in a fresh temporary directory (printed).
busybox_root() {
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
  if [ -n "$release" ]; then echo "$release" > "$root/etc/alpine-release"; fi
  echo "$root"
}
# Writes <name>.tar from a root and <name>.json (image config that `docker import` cannot carry;
# weftd reads it when it seeds its store).
pack() {
  local name=$1 root=$2 config=$3
  tar -C "$root" --numeric-owner -cf "$out/$name.tar" .
  rm -rf "$root"
  printf '%s\n' "$config" > "$out/$name.json"
}
PATH_ENV='"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'
build() {
  pack "$1" "$(busybox_root "$1" "$2")" "{\"Cmd\":[\"/bin/sh\"],$PATH_ENV}"
}
build busybox ''
build alpine '3.18.0'

# nginx: Debian's nginx binary (package nginx-light or nginx) with the libraries ldd names, on
# the busybox root (so `docker exec ... sh` works), serving /usr/share/nginx/html on port 80.
# Logs go to the container's stdout/stderr as in Docker's nginx image.
build_nginx() {
  local bin=/usr/sbin/nginx
  if [ ! -x "$bin" ]; then
    echo "build-images: $bin not found (apt-get install nginx-light): nginx image skipped" >&2
    return 0
  fi
  local root; root=$(busybox_root nginx '')
  mkdir -p "$root/usr/sbin" "$root/etc/nginx" "$root/var/log/nginx" "$root/usr/share/nginx/html" \
    "$root"/var/lib/nginx/{body,fastcgi,proxy,scgi,uwsgi} "$root/var/lock" "$root/run"
  cp "$bin" "$root/usr/sbin/nginx"
  # Every shared library and the dynamic loader, at the paths the binary looks them up.
  for lib in $(ldd "$bin" | awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  cp /etc/nginx/mime.types "$root/etc/nginx/mime.types"
  cat > "$root/etc/nginx/nginx.conf" <<'CONF'
user www-data;
worker_processes 1;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log notice;
events {
    worker_connections 256;
}
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /var/log/nginx/access.log;
    sendfile on;
    keepalive_timeout 65;
    server {
        listen 80 default_server;
        server_name _;
        root /usr/share/nginx/html;
        index index.html;
    }
}
CONF
  cat > "$root/usr/share/nginx/html/index.html" <<'HTML'
<!DOCTYPE html>
<html>
<head><title>Welcome to nginx!</title></head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and working.</p>
</body>
</html>
HTML
  ln -sf /dev/stdout "$root/var/log/nginx/access.log"
  ln -sf /dev/stderr "$root/var/log/nginx/error.log"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$root/etc/nsswitch.conf"
  chown -R 33:33 "$root/var/lib/nginx"
  pack nginx "$root" "{\"Cmd\":[\"nginx\",\"-g\",\"daemon off;\"],$PATH_ENV,\"ExposedPorts\":{\"80/tcp\":{}}}"
}
build_nginx
echo "images built in $out"
