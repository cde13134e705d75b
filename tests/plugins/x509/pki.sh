#!/bin/sh
# Makes the test PKI of inputs.x509_cert in directory $1 with the openssl
# command (fixed subjects, serials and dates, so tests can check exact
# values):
#   root.pem       RSA 2048, self-signed CA, serial 1001
#   inter.pem      ECDSA P-256 CA signed by the root (SHA256-RSA), serial 2002,
#                  subject serialNumber INT-42
#   leaf.pem       RSA 2048 "localhost" (SAN DNS:localhost, IP:127.0.0.1) signed
#                  by the intermediate (ECDSA-SHA256), serial 0a1b2c3d4e5f,
#                  2024-01-01 00:00:00 to 2099-12-31 23:59:59 UTC
#   expired.pem    like leaf, 2020-01-01 to 2021-01-01, serial 3003
#   notyet.pem     like leaf, 2098-01-01 to 2099-01-01, serial 4004
#   wrong.pem      for other.example only, serial 5005
#   sni.pem        for sni.example, signed by the root, serial 6006
#   self.pem       self-signed "self.test" (SAN localhost), serial 7007
#   sha1.pem       like leaf, signed with ECDSA-SHA1, serial 8008
#   ed25519.pem    self-signed Ed25519 "ed.test"
#   client.pem     client certificate "tower-client" + intermediate
#   chain.pem      inter + root (what servers send after their leaf)
#   full.pem       leaf + inter + root; *-full.pem: that leaf + inter + root
# Keys: leaf.key (all leaves), root.key, inter.key, self.key, ed25519.key,
# client.key.
set -eu
cd "$1"
cat > ca.cnf <<'CNF'
[ ca ]
default_ca = test_ca
[ test_ca ]
database = index.txt
new_certs_dir = newcerts
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
[ policy_any ]
countryName = optional
stateOrProvinceName = optional
localityName = optional
organizationName = optional
organizationalUnitName = optional
serialNumber = optional
commonName = supplied
[ v3_root ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_inter ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_leaf ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
[ v3_wrong ]
basicConstraints = CA:FALSE
subjectAltName = DNS:other.example
[ v3_sni ]
basicConstraints = CA:FALSE
subjectAltName = DNS:sni.example
[ v3_client ]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
CNF
mkdir -p newcerts
: > index.txt

# sign NAME SUBJECT SERIAL START END EXTENSIONS ISSUER KEY [MD]: a certificate
# for a request made with KEY, signed by ISSUER (ISSUER.pem and ISSUER.key,
# or "self").
sign() {
  name=$1 subj=$2 ser=$3 start=$4 end=$5 ext=$6 issuer=$7 key=$8 md=${9:-sha256}
  openssl req -new -key "$key" -subj "$subj" -out "$name.csr"
  echo "$ser" > serial
  if [ "$issuer" = self ]; then
    by="-selfsign -keyfile $key"
  else
    by="-cert $issuer.pem -keyfile $issuer.key"
  fi
  # shellcheck disable=SC2086 # $by is two options and their file names
  openssl ca -batch -config ca.cnf -notext -preserveDN -in "$name.csr" -out "$name.pem" \
    -startdate "$start" -enddate "$end" -extensions "$ext" -md "$md" $by
}

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out root.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out inter.key
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out leaf.key
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out self.key
openssl genpkey -algorithm ED25519 -out ed25519.key
cp leaf.key client.key

sign root "/C=KR/ST=Seoul/L=Jongno/O=Tower Test/OU=PKI/CN=Tower Test Root CA" 1001 \
  20240101000000Z 20991231235959Z v3_root self root.key
sign inter "/C=KR/O=Tower Test/OU=PKI/serialNumber=INT-42/CN=Tower Test Intermediate CA" 2002 \
  20240101000000Z 20991231235959Z v3_inter root inter.key
sign leaf "/C=KR/ST=Seoul/L=Mapo/O=Tower Test/OU=Web/CN=localhost" 0A1B2C3D4E5F \
  20240101000000Z 20991231235959Z v3_leaf inter leaf.key
sign expired "/O=Tower Test/CN=expired.test" 3003 \
  20200101000000Z 20210101000000Z v3_leaf inter leaf.key
sign notyet "/O=Tower Test/CN=notyet.test" 4004 \
  20980101000000Z 20990101000000Z v3_leaf inter leaf.key
sign wrong "/O=Tower Test/CN=other.example" 5005 \
  20240101000000Z 20991231235959Z v3_wrong inter leaf.key
sign sni "/O=Tower Test/CN=sni.example" 6006 \
  20240101000000Z 20991231235959Z v3_sni root leaf.key
sign self "/O=Tower Test/CN=self.test" 7007 \
  20240101000000Z 20991231235959Z v3_leaf self self.key
sign sha1 "/O=Tower Test/CN=sha1.test" 8008 \
  20240101000000Z 20991231235959Z v3_leaf inter leaf.key sha1
sign client "/O=Tower Test/CN=tower-client" 9009 \
  20240101000000Z 20991231235959Z v3_client inter client.key
openssl req -x509 -key ed25519.key -subj /CN=ed.test -days 3650 -out ed25519.pem

cat inter.pem root.pem > chain.pem
cat leaf.pem chain.pem > full.pem
for n in expired notyet wrong sha1; do cat "$n.pem" chain.pem > "$n-full.pem"; done
cat client.pem inter.pem > client-full.pem
chmod 644 ./*.key
