#!/usr/bin/env bash
# The end-to-end demo: every step is a plain espsec command a user can copy.
set -euo pipefail
ESPSEC=$(realpath "${1:-build/espsec}")
OUT=demo-out
rm -rf "$OUT" && mkdir -p "$OUT" && cd "$OUT"

step() { printf '\n== %s\n' "$*"; }

step "Generate a Secure Boot v2 signing key (RSA-3072) and an XTS-AES flash-encryption key"
"$ESPSEC" secure generate-signing-key --version 2 --scheme rsa3072 signing_key.pem
"$ESPSEC" secure generate-flash-encryption-key --keylen 256 flash_key.bin

step "Report"
ls -l signing_key.pem flash_key.bin
