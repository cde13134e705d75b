/* The values of secret options, kept so the log writer can scrub them from
 * any text that reaches a log line (server replies, command stderr, plugin
 * messages), whatever path relayed it. */
#ifndef TOWER_SECRETS_H
#define TOWER_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

/* Shortest value registered: scrubbing every "ab" would make logs unreadable
 * and hide nothing worth hiding. */
#define TWI_SECRET_MIN 4
/* Longest value registered whole; a longer one is registered by its first
 * TWI_SECRET_MAX bytes (a log message is shorter than that anyway). */
#define TWI_SECRET_MAX 4096
/* Most values kept at once (every owner counted); beyond, a warning. */
#define TWI_SECRETS_LIMIT 256

/* Registers `value` (copied) on behalf of `owner` (a config view): its raw
 * bytes, its percent-encoding and its base64 encodings at every alignment
 * (as inside "Authorization: Basic base64(user:password)") are scrubbed until
 * twi_secrets_forget(owner). Values shorter than TWI_SECRET_MIN are ignored. */
void twi_secret_add(const void *owner, const char *value);
/* Drops every value `owner` registered. */
void twi_secrets_forget(const void *owner);

/* Sets mark[i] = 1 for every byte of s[0..n) inside an occurrence of a
 * registered value (occurrences may overlap). With `cut` (s is the start of
 * a longer text that was cut off) a tail of s that begins a value is marked
 * too, so no prefix of a secret survives truncation. Returns true when a
 * byte was marked; mark[] means something only then. Cost: linear in n for
 * each registered encoding. */
bool twi_secrets_mark(const char *s, size_t n, bool cut, unsigned char *mark);

#endif
