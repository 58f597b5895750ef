#!/usr/bin/env bash
# make-certs.sh DIR: the certificates and keys for TLS between comet's processes and clients
# (docs/security.md), as PEM files with these names:
#
#   ca.pem ca.key                    the CA every process and client trusts
#                                    (tls.server.trustCertPath, tls.client.trustCertPath)
#   server.pem server.key            a server certificate the CA signed, for 127.0.0.1 and
#                                    localhost (tls.server.certPath, tls.server.keyPath)
#   client.pem client.key            a client certificate the CA signed (tls.client.certPath,
#                                    tls.client.keyPath; for tls.server.need.client.auth)
#   misnamed-server.pem .key         signed by the CA but for elsewhere.invalid only: a server
#                                    whose certificate does not name the host dialled
#   other-ca.pem other-ca.key        a second CA nobody trusts, and its
#   other-server.pem .key            server certificate (127.0.0.1, localhost) and
#   other-client.pem .key            client certificate
#
# EC P-256 keys (fast), valid for ten years. Idempotent: when DIR already holds every file it is
# left as it is; otherwise the whole set is made again. Concurrent runs on one DIR (tests started
# in parallel) take turns on DIR/.lock, so the files always belong to one set. Needs the openssl
# command (scripts/install-deps.sh). For production, use certificates from your own CA and the
# same tls.* keys; this script is for tests, benchmarks and trying TLS out.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$1
mkdir -p "$dir"
files=(ca.pem ca.key server.pem server.key client.pem client.key misnamed-server.pem
       misnamed-server.key other-ca.pem other-ca.key other-server.pem other-server.key
       other-client.pem other-client.key)

exec 9>"$dir/.lock"
flock 9

complete() {
  local f
  for f in "${files[@]}"; do [[ -s "$dir/$f" ]] || return 1; done
}
if complete; then exit 0; fi

work=$(mktemp -d "$dir/.make-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ca NAME SUBJECT: a self-signed CA certificate NAME.pem with its key NAME.key.
ca() {
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/O=comet/CN=$2" -keyout "$work/$1.key" -out "$work/$1.pem" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# leaf NAME CA CN USAGE SAN: NAME.pem/NAME.key signed by CA for USAGE (serverAuth|clientAuth).
leaf() {
  local name=$1 issuer=$2 cn=$3 usage=$4 san=$5
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=comet/CN=$cn" \
    -keyout "$work/$name.key" -out "$work/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyAgreement"
    echo "extendedKeyUsage=$usage"
    echo "subjectKeyIdentifier=hash"
    echo "authorityKeyIdentifier=keyid"
    if [[ -n "$san" ]]; then echo "subjectAltName=$san"; fi
  } >"$work/$name.ext"
  openssl x509 -req -in "$work/$name.csr" -CA "$work/$issuer.pem" -CAkey "$work/$issuer.key" \
    -set_serial "0x$(openssl rand -hex 8)" -days 3650 -extfile "$work/$name.ext" \
    -out "$work/$name.pem" 2>/dev/null
}

ca ca "comet test CA"
leaf server ca localhost serverAuth "IP:127.0.0.1,DNS:localhost"
leaf client ca comet-client clientAuth ""
leaf misnamed-server ca elsewhere.invalid serverAuth "DNS:elsewhere.invalid"
ca other-ca "untrusted CA"
leaf other-server other-ca localhost serverAuth "IP:127.0.0.1,DNS:localhost"
leaf other-client other-ca comet-client clientAuth ""

chmod 600 "$work"/*.key
for f in "${files[@]}"; do mv -f "$work/$f" "$dir/$f"; done
echo "make-certs: wrote ${#files[@]} files to $dir"
