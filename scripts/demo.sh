#!/usr/bin/env bash
# The end-to-end demo: a product's whole security workflow on a virtual ESP32-C3, every step a
# plain espsec command a user can copy. Usage: scripts/demo.sh [path/to/espsec]
set -euo pipefail
ESPSEC=$(realpath "${1:-build/espsec}")
OUT=demo-out
rm -rf "$OUT" && mkdir -p "$OUT" && cd "$OUT"

step() { printf '\n== %s\n' "$*"; }
espsec() { "$ESPSEC" "$@"; }
# Runs a command that must be refused (exit non-zero) and shows its one-line reason.
refused() {
  local out
  if out=$("$@" 2>&1); then
    echo "demo: expected a refusal: $*" >&2
    exit 1
  fi
  printf '%s\n' "$out" | grep -E "error|refused|nothing booted|==" | head -3 | sed 's/^/   refused: /'
}
SERVER_PID=""
cleanup() { [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null || true; }
trap cleanup EXIT

step "1. Keys: a Secure Boot v2 signing key (RSA-3072, the ESP32-C3's scheme) and a host flash-encryption key"
espsec secure generate-signing-key --version 2 --scheme rsa3072 signing_key.pem
espsec secure extract-public-key --version 2 --keyfile signing_key.pem signing_key.pub.pem
espsec secure digest-sbv2-public-key --keyfile signing_key.pub.pem --output key_digest.bin
espsec secure generate-flash-encryption-key --keylen 256 flash_key.bin

step "2. Firmware: a bootloader and app 1.0.0 (secure_version 1), signed"
espsec image new --bootloader --chip esp32c3 bootloader.bin
espsec image new --chip esp32c3 --project thermostat --version 1.0.0 --secure-version 1 --size 0x60000 app-1.0.0.bin
espsec secure sign-data --version 2 --keyfile signing_key.pem --output bootloader.signed.bin bootloader.bin
espsec secure sign-data --version 2 --keyfile signing_key.pem --output app-1.0.0.signed.bin app-1.0.0.bin
espsec secure verify-signature --version 2 --keyfile signing_key.pub.pem app-1.0.0.signed.bin
espsec image info app-1.0.0.signed.bin | grep -E "Project|Version|Secure version|Signature block|digest" | head -6

step "3. Host flash encryption (what esptool --encrypt sends), and back"
espsec secure encrypt-flash-data --aes-xts --keyfile flash_key.bin --address 0x20000 \
  --output app.enc.bin app-1.0.0.signed.bin
espsec secure decrypt-flash-data --aes-xts --keyfile flash_key.bin --address 0x20000 \
  --output app.dec.bin app.enc.bin
cmp app.dec.bin app-1.0.0.signed.bin && echo "decrypt(encrypt(app)) == app"

step "4. A virtual ESP32-C3 configured for Secure Boot v2 and release-mode flash encryption"
espsec device create device --chip esp32c3 --flash-size 4MB --secure-boot --flash-encryption release --id thermostat-0001
espsec device flash device 0x0 bootloader.signed.bin 0x20000 app-1.0.0.signed.bin

step "5. First boot: the bootloader burns the key digest, enables Secure Boot, generates the flash key, encrypts in place, resets"
espsec device boot device | grep -E "secure_boot_v2|flash_encrypt|EFUSE_BLK|Resetting|^==|^   \*" || true

step "6. Second boot: the ROM verifies the bootloader, the bootloader verifies the app, all through flash decryption"
espsec device boot device | grep -E "flash encryption is enabled|Loaded app|Flash encryption mode|^==" || true

step "7. The firmware stores a Wi-Fi password in NVS (NVS encryption, keys in nvs_keys under flash encryption)"
espsec device nvs set device wifi psk "correct horse battery staple"
echo "   the app reads back: $(espsec device nvs get device wifi psk)"
dd if=device/flash.bin of=nvs-raw.bin bs=4096 skip=9 count=6 status=none
if grep -q "correct horse" device/flash.bin; then echo "demo: the password is in the raw flash" >&2; exit 1; fi
echo "   raw flash dump (desoldered chip): the password does not appear; NVS entries read as:"
espsec nvs dump nvs-raw.bin | sed -n '3,5p' | sed 's/^/   /'

step "8. Attacks the chip refuses"
espsec image new --chip esp32c3 --project thermostat --version 6.6.6 --secure-version 9 --size 0x60000 --seed 666 evil.bin
espsec secure generate-signing-key --version 2 --scheme rsa3072 attacker_key.pem >/dev/null
espsec secure sign-data --version 2 --keyfile attacker_key.pem --output evil.signed.bin evil.bin >/dev/null
echo " - plaintext over the encrypted app (secure download mode refuses it):"
refused espsec device flash device 0x20000 evil.signed.bin
echo " - reading the flash back through download mode:"
refused espsec device read-flash device 0x0 0x1000 dump.bin
echo " - an image signed by another key, written encrypted (the ROM's own engine): the bootloader refuses it"
espsec device flash device --encrypt 0x20000 evil.signed.bin
refused espsec device boot device
echo " - a tampered copy of the genuine app (one byte in its appended SHA-256)"
cp app-1.0.0.signed.bin app.tampered.bin
hash_at=$(( $(espsec image info --format json app-1.0.0.signed.bin | sed -n 's/.*"checksum_offset": *\([0-9]*\).*/\1/p' | head -1) + 5 ))
printf '\x5a' | dd of=app.tampered.bin bs=1 seek="$hash_at" conv=notrunc status=none
espsec device flash device --encrypt 0x20000 app.tampered.bin
refused espsec device boot device
echo " - restored the genuine app:"
espsec device flash device --encrypt 0x20000 app-1.0.0.signed.bin
espsec device boot device | grep "^==" || true

step "9. An HTTPS update server (TLS 1.2+), a product that requires signatures, release 2.0.0 (secure_version 2)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 30 \
  -subj "/CN=Thermostat Update CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null
printf "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n" > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 10 -extfile server.ext 2>/dev/null
espsec ota product --root store thermostat --chip esp32c3 --secure-boot-key signing_key.pub.pem
espsec image new --chip esp32c3 --project thermostat --version 2.0.0 --secure-version 2 --size 0x60000 --seed 2 app-2.0.0.bin
espsec secure sign-data --version 2 --keyfile signing_key.pem --output app-2.0.0.signed.bin app-2.0.0.bin
espsec ota publish --root store --product thermostat --channel stable app-2.0.0.signed.bin
espsec ota serve --root store --cert server.pem --key server.key --host 127.0.0.1 --port 0 > server.log 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do grep -q "update server on" server.log && break; sleep 0.1; done
PORT=$(sed -n 's/.*https:\/\/127.0.0.1:\([0-9]*\).*/\1/p' server.log | head -1)
URL="https://127.0.0.1:$PORT/v1/products/thermostat/channels"
echo "   serving on port $PORT"

step "10. The device updates: prechecks, streamed download, verification, switch, reboot, confirmation, eFuse raise"
espsec device ota device --url "$URL/stable/manifest" --ca ca.pem | grep -E "^ota:|^==|^   \*" || true

step "11. Attacks on the update path"
echo " - a tampered 3.0.0 (a byte flipped after signing): the server refuses to publish it"
espsec image new --chip esp32c3 --project thermostat --version 3.0.0 --secure-version 3 --size 0x60000 --seed 3 app-3.0.0.bin
espsec secure sign-data --version 2 --keyfile signing_key.pem --output app-3.0.0.signed.bin app-3.0.0.bin >/dev/null
cp app-3.0.0.signed.bin app-3.0.0.tampered.bin
printf '\x00' | dd of=app-3.0.0.tampered.bin bs=1 seek=70000 conv=notrunc status=none
refused espsec ota publish --root store --product thermostat --channel stable app-3.0.0.tampered.bin
echo " - 1.0.0 again on the stable channel: refused as a downgrade by the server"
refused espsec ota publish --root store --product thermostat --channel stable app-1.0.0.signed.bin
echo " - 1.0.0 on a fresh 'legacy' channel: the device refuses it before writing flash (secure_version 1 < eFuse 2)"
espsec ota publish --root store --product thermostat --channel legacy app-1.0.0.signed.bin >/dev/null
refused espsec device ota device --url "$URL/legacy/manifest" --ca ca.pem
echo " - a device told to trust another CA does not accept this server:"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other-ca.pem -days 30 \
  -subj "/CN=Some Other CA" 2>/dev/null
refused espsec device ota device --url "$URL/stable/manifest" --ca other-ca.pem

step "12. What the server knows, and what the chip's eFuses say (SECURE_VERSION is a thermometer code: 0x3 = version 2)"
espsec ota status --root store
espsec device info device
espsec efuse --virt --chip esp32c3 --path-efuse-file device/efuse.bin summary \
  SECURE_BOOT_EN SPI_BOOT_CRYPT_CNT SECURE_VERSION KEY_PURPOSE_0 KEY_PURPOSE_1 \
  SECURE_BOOT_KEY_REVOKE1 SECURE_BOOT_KEY_REVOKE2 DIS_DOWNLOAD_MANUAL_ENCRYPT ENABLE_SECURITY_DOWNLOAD DIS_PAD_JTAG
echo
echo "Demo complete: every file is in $(pwd)"
