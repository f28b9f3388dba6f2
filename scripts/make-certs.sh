#!/usr/bin/env bash
# Makes a certificate authority and one member certificate for a local cluster (docs/TLS.md).
#
#   scripts/make-certs.sh DIR [NAME ...]
#
# DIR gets ca.pem and ca.key (the authority; keep ca.key off the cluster's machines) and
# member.pem and member.key, signed by it, usable as server and as client certificate, naming
# each NAME (a DNS name or an IP address; default: localhost 127.0.0.1 ::1). Every process of
# the cluster can share member.pem, or run the script's last step once per machine.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 DIR [NAME ...]" >&2; exit 2; }
dir=$1
shift
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(localhost 127.0.0.1 ::1)
command -v openssl >/dev/null || { echo "make-certs.sh: openssl not found" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"

san=""
for name in "${names[@]}"; do
  if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then entry="IP:$name"; else entry="DNS:$name"; fi
  san="${san:+$san,}$entry"
done

if [ ! -f ca.pem ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 825 \
    -keyout ca.key -out ca.pem -subj "/CN=swift-dialer cluster CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
  -keyout member.key -out member.csr -subj "/CN=swift-dialer member" 2>/dev/null
extensions=$(mktemp)
trap 'rm -f "$extensions"' EXIT
cat >"$extensions" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$san
EXT
openssl x509 -req -in member.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 825 \
  -extfile "$extensions" -out member.pem 2>/dev/null
rm -f member.csr ca.srl
chmod 600 ca.key member.key
echo "make-certs.sh: $dir/ca.pem, $dir/member.pem, $dir/member.key for $san"
