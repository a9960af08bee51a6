/*
 * util.h - small helpers shared by every module: allocation that aborts on
 * out-of-memory (STYLE.md rule 7), bounded number parsing, time, randomness,
 * and writing a whole buffer to a file descriptor.
 */
#ifndef IA_UTIL_H
#define IA_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The text of a macro's value, for messages: IA_STRINGIFY(JOBS_MAX_ATTEMPTS) is "3". */
#define IA_STRINGIFY(x)  IA_STRINGIFY_(x)
#define IA_STRINGIFY_(x) #x

/* Allocate or abort: these never return NULL. Free results with free().
 * cJSON allocates through xmalloc too, set up by util.c at process start
 * before main (so cJSON_Parse and friends return NULL only for bad input). */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh heap string, caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Parse a whole decimal integer in [min, max] (no trailing junk, no
 * leading space). Returns 0 and writes *out, or IA_ERR_INVAL.
 */
int ia_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Seconds since the epoch. */
int64_t ia_now(void);
/* Microseconds since the epoch (CLOCK_REALTIME): an order of events that
 * holds across processes and hosts as far as their clocks agree. */
int64_t ia_now_us(void);
/* Sleep ms milliseconds, the whole time even when a signal interrupts. */
void ia_sleep_ms(int64_t ms);

/* Format a unix time as ISO 8601 UTC ("2026-11-29T12:00:00Z") into out[21]. */
void ia_iso8601(int64_t t, char out[21]);

/* Fill out with 2*nbytes lowercase hex chars of fresh randomness + NUL. */
void ia_random_hex(char *out, size_t nbytes);

/* Case-insensitive ASCII lower-casing in place. */
void ia_ascii_lower(char *s);

/*
 * write(2) all n bytes of buf to fd, retrying on EINTR and short writes.
 * 0, or IA_ERR_IO (errno tells why; a zero-byte write counts as failure).
 */
int ia_write_all(int fd, const void *buf, size_t n);

/*
 * Wipe a heap string that may hold a secret (a token, a mailed link) with
 * sodium_memzero, then free it. NULL is a no-op.
 */
void ia_free_secret(char *s);

#endif
