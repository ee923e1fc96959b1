#!/usr/bin/env bash
# The update server under load, beside nginx serving the same bytes with the same certificate,
# both on loopback and loaded by wrk in the same run (docs/PERFORMANCE.md, "OTA update server
# under load"):
#   downloads  many devices fetching the released app image:
#                wrk -t2 -c64 -d10s https://127.0.0.1:PORT/v1/images/<sha256>.bin
#   check-ins  many devices checking in (POST, 10,000 device ids, JSON reply with the manifest):
#                wrk -t2 -c64 -d10s -s checkin.lua https://127.0.0.1:PORT
# nginx serves the image file from the release store and answers the check-in POST with the
# reply espsec gave, from its configuration: its check-in figure is what HTTPS alone costs.
# Every run must end with zero non-2xx responses and zero socket errors, or the script fails.
#
# Usage: scripts/bench_ota.sh [BUILD_DIR]   (BUILD_DIR holds espsec and espsec_bench)
#   ESPSEC_BENCH_OTA_SECONDS=10        length of each wrk run
#   ESPSEC_BENCH_OTA_CONNECTIONS=64    concurrent connections (devices)
#   ESPSEC_BENCH_OTA_IMAGE_SIZE=0x100000  size of the released app image
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
BUILD=${1:-build}
ESPSEC=$(realpath "$BUILD/espsec")
BENCH=$(realpath "$BUILD/espsec_bench")
SECONDS_PER_RUN=${ESPSEC_BENCH_OTA_SECONDS:-10}
CONNECTIONS=${ESPSEC_BENCH_OTA_CONNECTIONS:-64}
IMAGE_SIZE=${ESPSEC_BENCH_OTA_IMAGE_SIZE:-0x100000}
THREADS=2
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
for tool in wrk curl openssl "$NGINX"; do
  command -v "$tool" >/dev/null || { echo "bench_ota: $tool is missing (./run installs it)" >&2; exit 2; }
done

work=$(mktemp -d)
espsec_pid=""
nginx_pid=""
stop() {
  local pid=$1
  [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  return 0
}
cleanup() {
  stop "$espsec_pid"
  stop "$nginx_pid"
  rm -rf "$work"
}
trap cleanup EXIT
# nginx's workers drop root privileges: they must be able to read the image (a public file).
chmod 755 "$work"
cd "$work"

# ---- certificate, release, servers -------------------------------------------------------------

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout key.pem -out cert.pem 2>/dev/null
"$ESPSEC" image new -c esp32c3 --project bench --version 2.0.0 --size "$IMAGE_SIZE" image.bin >/dev/null
"$ESPSEC" ota product --root store bench >/dev/null
"$ESPSEC" ota publish --root store --product bench --channel stable image.bin >/dev/null
image_path=/v1/images/$(sha256sum image.bin | cut -d' ' -f1).bin
image_bytes=$(stat -c %s image.bin)
chmod -R a+rX store/images

# A TCP port nobody listens on.
free_port() {
  local port
  for port in $(shuf -i 20000-60000 -n 100); do
    (: >/dev/tcp/127.0.0.1/"$port") 2>/dev/null || { echo "$port"; return 0; }
  done
  return 1
}

# Waits until URL answers 200 over HTTPS with our certificate.
wait_ready() {
  local url=$1
  for _ in $(seq 100); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' --cacert cert.pem "$url" || true) == 200 ]] && return 0
    sleep 0.1
  done
  echo "bench_ota: no answer from $url" >&2
  return 1
}

"$ESPSEC" ota serve --root store --cert cert.pem --key key.pem --host 127.0.0.1 --port 0 >espsec.log 2>&1 &
espsec_pid=$!
for _ in $(seq 100); do
  grep -q '^espsec update server on' espsec.log && break
  sleep 0.1
done
espsec_port=$(sed -n 's|^espsec update server on https://127.0.0.1:\([0-9]*\) .*|\1|p' espsec.log)
[[ -n $espsec_port ]] || { cat espsec.log >&2; exit 1; }
espsec_url=https://127.0.0.1:$espsec_port
wait_ready "$espsec_url$image_path"

checkin_body='{"product":"bench","channel":"stable","version":"1.0.0","secure_version":0}'
checkin_reply=$(curl -sf --cacert cert.pem -H 'Content-Type: application/json' -d "$checkin_body" \
  "$espsec_url/v1/devices/bench-0/checkin")
[[ $checkin_reply == *'"update":true'* ]] || { echo "bench_ota: unexpected check-in reply: $checkin_reply" >&2; exit 1; }

nginx_port=$(free_port)
mkdir -p nginx/logs
cat >nginx/nginx.conf <<EOF
daemon off;
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log $work/nginx/logs/access.log;
  client_body_temp_path $work/nginx/client_body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  sendfile on;
  server {
    listen 127.0.0.1:$nginx_port ssl;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location /v1/images/ {
      alias $work/store/images/;
      default_type application/octet-stream;
    }
    location ~ ^/v1/devices/[^/]+/checkin\$ {
      default_type application/json;
      return 200 '$checkin_reply';
    }
  }
}
EOF
"$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/logs/error.log" &
nginx_pid=$!
nginx_url=https://127.0.0.1:$nginx_port
wait_ready "$nginx_url$image_path"
cmp -s image.bin <(curl -s --cacert cert.pem "$nginx_url$image_path") || { echo "bench_ota: nginx serves other bytes" >&2; exit 1; }
cmp -s image.bin <(curl -s --cacert cert.pem "$espsec_url$image_path") || { echo "bench_ota: espsec serves other bytes" >&2; exit 1; }

# ---- load ---------------------------------------------------------------------------------------

# Check-ins from 5,000 device ids per wrk thread; non-2xx replies counted by the script, which
# prints them last.
cat >checkin.lua <<EOF
local threads = {}
local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end
local count = 0
bad = 0
function request()
  count = count + 1
  local path = string.format("/v1/devices/bench-%d-%d/checkin", tid, count % 5000)
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, '$checkin_body')
end
function response(status, headers, body)
  if status < 200 or status > 299 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("bad") end
  io.write(string.format("non-2xx responses (script): %d\n", total))
end
EOF

wrk_args=(-t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s")
run() {  # NAME URL [wrk args...]
  local name=$1 url=$2
  shift 2
  echo "== wrk ${wrk_args[*]}${*:+ $*} $url" | tee "$name.out"
  wrk "${wrk_args[@]}" "$@" "$url" | tee -a "$name.out"
}
run espsec_download "$espsec_url$image_path"
# The store alone doing the check-ins' database work, one after another (bench/ota_store_bench.cpp).
ESPSEC_BENCH_DIR=$work "$BENCH" --benchmark_filter='^BM_ota_store_checkin' --benchmark_min_time=2 \
  --benchmark_out=store.csv --benchmark_out_format=csv >/dev/null 2>store.err || { cat store.err >&2; exit 1; }
run espsec_checkin "$espsec_url" -s checkin.lua
run nginx_download "$nginx_url$image_path"
run nginx_checkin "$nginx_url" -s checkin.lua

# ---- summary ------------------------------------------------------------------------------------

field() { sed -n "s/^$2 *\([0-9.]*\).*/\1/p" "$1.out" | head -1; }
errors() {  # non-2xx (wrk's count of status >= 400, plus the script's count) and socket errors
  awk '/Non-2xx or 3xx responses:/ {n += $NF}
       /non-2xx responses \(script\):/ {n += $NF}
       /Socket errors:/ {gsub(",", ""); s += $4 + $6 + $8 + $10}
       END {printf "%d %d", n, s}' "$1.out"
}
failed=0
machine=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
store_rate=$(awk -F, '/^"BM_ota_store_checkin/ {print $7}' store.csv)
summary=bench-ota.txt
{
  echo
  echo "== OTA update server under load: espsec ota serve vs $("$NGINX" -v 2>&1 | sed 's|.*: ||'), same run"
  echo "   $machine, $(nproc) cores, Linux $(uname -r), $(date -u +%Y-%m-%d); wrk ${wrk_args[*]}, HTTPS on loopback"
  echo "   image $image_bytes bytes; espsec --threads 16 (default), nginx worker_processes auto"
  for kind in download checkin; do
    read -r e_bad e_sock <<<"$(errors "espsec_$kind")"
    read -r n_bad n_sock <<<"$(errors "nginx_$kind")"
    ((e_bad + e_sock + n_bad + n_sock == 0)) || failed=1
    awk -v k="$kind" -v e="$(field "espsec_$kind" 'Requests\/sec:')" -v n="$(field "nginx_$kind" 'Requests\/sec:')" \
      -v eb="$e_bad" -v es="$e_sock" -v nb="$n_bad" -v ns="$n_sock" 'BEGIN {
      printf "  %-9s espsec %8.1f req/s   nginx %8.1f req/s   espsec/nginx %.3f\n", k, e, n, e / n
      printf "            errors: espsec %d non-2xx, %d socket; nginx %d non-2xx, %d socket\n", eb, es, nb, ns }'
  done
  awk -v e="$(field espsec_checkin 'Requests\/sec:')" -v s="$store_rate" 'BEGIN {
    printf "  check-ins: the store alone commits %.1f check-ins/s (one after another): espsec/store %.3f\n", s, e / s }'
  for name in espsec_download nginx_download; do
    echo "  $name: $(sed -n 's/^Transfer\/sec: *//p' "$name.out")/s"
  done
} | tee "$summary"
mkdir -p "$repo/bench-out"
cp "$summary" "$repo/bench-out/ota.txt"
for name in espsec_download espsec_checkin nginx_download nginx_checkin; do cp "$name.out" "$repo/bench-out/ota-$name.txt"; done
if ((failed)); then
  echo "bench_ota: a load run had errors (see above)" >&2
  exit 1
fi
