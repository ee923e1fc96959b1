#!/usr/bin/env bash
# The end-to-end demo: every step is a plain espsec command a user can copy.
set -euo pipefail
ESPSEC=$(realpath "${1:-build/espsec}")
OUT=demo-out
rm -rf "$OUT" && mkdir -p "$OUT" && cd "$OUT"

step() { printf '\n== %s\n' "$*"; }
hex() { od -An -tx1 -v "$1" | tr -d ' \n'; }

step "Generate two Secure Boot v2 signing keys (RSA-3072: the only scheme of the ESP32-C3) and an XTS-AES-128 flash-encryption key"
"$ESPSEC" secure generate-signing-key --version 2 --scheme rsa3072 signing_key_1.pem
"$ESPSEC" secure generate-signing-key --version 2 --scheme rsa3072 signing_key_2.pem
"$ESPSEC" secure generate-flash-encryption-key --keylen 256 flash_key.bin

step "Public keys, and the digests eFuse SECURE_BOOT_DIGEST0/1 would hold"
for k in 1 2; do
  "$ESPSEC" secure extract-public-key --version 2 --keyfile "signing_key_$k.pem" "signing_key_$k.pub.pem"
  "$ESPSEC" secure digest-sbv2-public-key --keyfile "signing_key_$k.pub.pem" --output "key_digest_$k.bin"
done

step "A sample 1 MiB application (random bytes)"
head -c 1048576 /dev/urandom > app.bin
ls -l app.bin

step "Sign it with both keys: signature blocks 0 and 1"
"$ESPSEC" secure sign-data --version 2 --keyfile signing_key_1.pem signing_key_2.pem --output app.signed.bin app.bin

step "Verify with each public key"
"$ESPSEC" secure verify-signature --version 2 --keyfile signing_key_1.pub.pem app.signed.bin
"$ESPSEC" secure verify-signature --version 2 --keyfile signing_key_2.pub.pem app.signed.bin

step "Signature blocks of the signed image"
"$ESPSEC" secure signature-info-v2 app.signed.bin

step "A tampered copy is refused"
cp app.signed.bin app.tampered.bin
printf '\x00' | dd of=app.tampered.bin bs=1 seek=4096 conv=notrunc status=none
if "$ESPSEC" secure verify-signature --version 2 --keyfile signing_key_1.pub.pem app.tampered.bin; then
  echo "demo: the tampered image verified" >&2
  exit 1
fi

step "Encrypt the signed image for flash address 0x10000 (XTS-AES-128), then decrypt it again"
"$ESPSEC" secure encrypt-flash-data --aes-xts --keyfile flash_key.bin --address 0x10000 \
  --output app.signed.enc.bin app.signed.bin
"$ESPSEC" secure decrypt-flash-data --aes-xts --keyfile flash_key.bin --address 0x10000 \
  --output app.signed.dec.bin app.signed.enc.bin
cmp app.signed.bin app.signed.dec.bin

step "Report"
size() { stat -c %s "$1"; }
blocks=$("$ESPSEC" secure signature-info-v2 app.signed.bin | grep -c '^Public key digest')
cat <<REPORT
  application                  app.bin                $(size app.bin) bytes
  signed image                 app.signed.bin         $(size app.signed.bin) bytes ($blocks signature blocks)
  key digest, block 0          $(hex key_digest_1.bin)
  key digest, block 1          $(hex key_digest_2.bin)
  encrypted image @ 0x10000    app.signed.enc.bin     $(size app.signed.enc.bin) bytes
  first 16 bytes, plain        $(head -c 16 app.signed.bin | od -An -tx1 | tr -d ' \n')
  first 16 bytes, encrypted    $(head -c 16 app.signed.enc.bin | od -An -tx1 | tr -d ' \n')
  decrypt(encrypt(image))      identical to the signed image
  tampered image               refused by verify-signature
  key files                    $(stat -c '%a %n' signing_key_1.pem signing_key_2.pem flash_key.bin | tr '\n' ' ')
REPORT
