#!/bin/sh
# Prometheus text exposition.
cat <<'PROM'
# HELP x509_expiry_seconds Seconds until the certificate expires.
# TYPE x509_expiry_seconds gauge
x509_expiry_seconds{host="a.example"} 86400
# TYPE jobs_total counter
jobs_total 7
PROM
