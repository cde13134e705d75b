#!/bin/sh
# Prints what the command inherited: blocked and ignored signals (as seen
# by a program it runs), whether it leads its own process group, and stdin.
blk=$(sed -n 's/^SigBlk:[[:space:]]*//p' /proc/self/status)
ign=$(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/self/status)
# /proc/PID/stat after "PID (comm) ": state ppid pgrp session ...
set -- $(sed 's/^.*) //' /proc/$$/stat)
[ "$3" = "$$" ] && leader=true || leader=false
stdin=$(readlink /proc/$$/fd/0)
echo "proc blk=\"$blk\",ign=\"$ign\",leader=$leader,stdin=\"$stdin\""
