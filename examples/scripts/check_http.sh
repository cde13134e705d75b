#!/bin/sh
# A check script for inputs.exec: probes each URL given as an argument and
# prints one line of InfluxDB line protocol per URL:
#   check_http,url=https://example.com/ up=1i,status_code=200i,response_time_seconds=0.042
# up is 1 when the URL answered with a 2xx or 3xx status within 5 seconds,
# else 0, with the reason in the string field `error` (a label once it
# reaches outputs.prometheus, where the series is check_http_up{url=...}).
# Needs curl. Exits 0 even when a URL is down: a down target is data, not a
# failed check.
for url in "$@"; do
  out=$(curl -s -o /dev/null --max-time 5 -w '%{http_code} %{time_total}' "$url" 2>/dev/null)
  rc=$?
  code=$(printf '%s' "${out%% *}" | sed 's/^0*//') # curl prints 000 when nothing answered
  code=${code:-0}
  secs=${out##* }
  # Tag values escape commas, spaces and equals signs in line protocol.
  tag=$(printf '%s' "$url" | sed 's/[ ,=]/\\&/g')
  if [ "$rc" -eq 0 ] && [ "$code" -ge 200 ] && [ "$code" -lt 400 ]; then
    printf 'check_http,url=%s up=1i,status_code=%si,response_time_seconds=%s\n' "$tag" "$code" "$secs"
  else
    if [ "$rc" -ne 0 ]; then error="curl exit status $rc"; else error="HTTP status $code"; fi
    printf 'check_http,url=%s up=0i,status_code=%si,error="%s"\n' "$tag" "$code" "$error"
  fi
done
