#!/bin/sh
# Make throwaway TLS material in DIR for tests, benchmarks and the demo
# (generated when needed, never committed: STYLE rule 34):
#   ca.pem ca.key            test certificate authority (EC P-256)
#   server.pem server.key    server certificate for 127.0.0.1, ::1, localhost
#   other-ca.pem             an unrelated CA (a client trusting only it
#                            must refuse the server)
# Idempotent: does nothing when DIR/server.pem exists.
set -eu
dir=${1:?usage: gen-dev-certs.sh DIR}
mkdir -p "$dir"
[ -f "$dir/server.pem" ] && exit 0
tmp=$(mktemp -d "$dir/.gen.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days 30 \
	-subj "/CN=cloister test CA" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/other-ca.key" -out "$tmp/other-ca.pem" -days 30 \
	-subj "/CN=cloister other CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/server.key" -out "$tmp/server.csr" \
	-subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n' > "$tmp/ext.cnf"
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
	-CAcreateserial -out "$tmp/server.pem" -days 30 \
	-extfile "$tmp/ext.cnf" 2>/dev/null
chmod 600 "$tmp"/*.key
for f in ca.pem ca.key other-ca.pem server.key server.pem; do
	mv "$tmp/$f" "$dir/$f"
done
