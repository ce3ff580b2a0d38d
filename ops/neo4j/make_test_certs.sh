#!/usr/bin/env bash
# A throwaway certificate authority and a Bolt server certificate it signed, for testing TLS
# against the local Neo4j (never for production: the CA's key sits next to it, valid 2 days).
#
#   ops/neo4j/make_test_certs.sh DIR
#
# Writes DIR/ca.pem (the CA certificate: what clients trust, e.g. NEO4J_TRUSTED_CA=DIR/ca.pem)
# and DIR/bolt/{private.key,public.crt} (the server's key and certificate for 127.0.0.1 and
# localhost: give DIR/bolt to ops/services.sh as NEO4J_BOLT_TLS_DIR), plus DIR/bolt/trusted and
# DIR/bolt/revoked, the folders Neo4j's SSL policy expects. Uses Debian's openssl.
set -euo pipefail
DIR="${1:?usage: $0 DIR}"
mkdir -p "$DIR/bolt/trusted" "$DIR/bolt/revoked"
cd "$DIR"
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -sha256 -keyout ca.key -out ca.pem \
  -subj "/CN=CAP-01 throwaway test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  2>/dev/null
openssl req -newkey rsa:2048 -nodes -sha256 -keyout bolt/private.key -out bolt/server.csr \
  -subj "/CN=localhost" 2>/dev/null
cat > bolt/server.ext <<'EXT'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
openssl x509 -req -in bolt/server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
  -extfile bolt/server.ext -out bolt/public.crt 2>/dev/null
rm -f bolt/server.csr bolt/server.ext ca.srl
cp ca.pem bolt/trusted/ca.pem
chmod 644 ca.pem bolt/public.crt bolt/trusted/ca.pem
echo "$DIR/ca.pem"
