#!/bin/sh
# A check script for inputs.exec: how old the newest file of each backup
# directory given as an argument is, as one line of InfluxDB line protocol
# per directory:
#   backup,dir=/var/backups/db age_seconds=3600i,files=14i
# A directory without files reports files=0i and no age; a directory that
# does not exist is skipped with a message on stderr (which tower logs).
# Exits 0 either way: a stale backup is data, not a failed check.
now=$(date +%s)
for dir in "$@"; do
  if [ ! -d "$dir" ]; then
    echo "W! $dir is not a directory" >&2
    continue
  fi
  # Tag values escape commas, spaces and equals signs in line protocol.
  tag=$(printf '%s' "$dir" | sed 's/[ ,=]/\\&/g')
  newest=$(find "$dir" -maxdepth 1 -type f -printf '%T@\n' 2>/dev/null | sort -n | tail -1)
  files=$(find "$dir" -maxdepth 1 -type f 2>/dev/null | wc -l)
  if [ -n "$newest" ]; then
    printf 'backup,dir=%s age_seconds=%di,files=%di\n' "$tag" "$((now - ${newest%.*}))" "$files"
  else
    printf 'backup,dir=%s files=0i\n' "$tag"
  fi
done
