/*
 * util.c - allocation wrappers that abort on out-of-memory (also cJSON's,
 * from process start), bounded integer parsing, time formatting, random
 * hex strings and a whole-buffer write.
 */
#include "config.h"

#include "util.h"
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

static void util_oom(void) __attribute__((noreturn));
static void util_cjson_hooks(void) __attribute__((constructor));

static void util_oom(void)
{
	fputs("fatal: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		util_oom();
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		util_oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		util_oom();
	return q;
}

/*
 * cJSON allocates through xmalloc from process start (STYLE.md rule 7), so
 * a cJSON call never hands back NULL for want of memory: it aborts like
 * every other allocation. A constructor because this is the one file
 * every program links (everything allocates through it); none
 * of the mains (cgi-bin through app_run, ia-batch, iactl, ia-supervise)
 * has to remember a call, and none can run cJSON before it. cJSON's
 * memory is still released with free() or cJSON_free(): xmalloc is malloc.
 */
static void util_cjson_hooks(void)
{
	cJSON_Hooks hooks = {.malloc_fn = xmalloc, .free_fn = free};

	cJSON_InitHooks(&hooks);
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		util_oom();
	p = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

const char *ia_strerror(int err)
{
	switch (err) {
	case IA_OK: return "ok";
	case IA_ERR_INVAL: return "invalid input";
	case IA_ERR_NOTFOUND: return "not found";
	case IA_ERR_EXISTS: return "already exists";
	case IA_ERR_DB: return "database error";
	case IA_ERR_IO: return "i/o error";
	case IA_ERR_TOOBIG: return "too big";
	case IA_ERR_AUTH: return "authentication failed";
	case IA_ERR_EXPIRED: return "expired";
	case IA_ERR_FORBIDDEN: return "forbidden";
	case IA_ERR_FUNDS: return "insufficient credits";
	case IA_ERR_UNAVAILABLE: return "unavailable";
	case IA_ERR_UPSTREAM: return "upstream failure";
	case IA_ERR_UNSUPPORTED: return "unsupported";
	case IA_ERR_BUSY: return "busy";
	default: return "unknown error";
	}
}

int ia_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end = NULL;
	long long v;

	/* strtoll would skip any leading whitespace (\n, \r, \v, \f too) and take a '+' */
	if (s == NULL || !(*s == '-' || (*s >= '0' && *s <= '9')))
		return IA_ERR_INVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return IA_ERR_INVAL;
	if (v < min || v > max)
		return IA_ERR_INVAL;
	*out = (int64_t)v;
	return 0;
}

int64_t ia_now(void)
{
	return (int64_t)time(NULL);
}

int64_t ia_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void ia_sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void ia_iso8601(int64_t t, char out[21])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void ia_random_hex(char *out, size_t nbytes)
{
	unsigned char raw[64];
	size_t done = 0;

	while (done < nbytes) {
		size_t chunk = nbytes - done > sizeof(raw) ? sizeof(raw) : nbytes - done;

		randombytes_buf(raw, chunk);
		sodium_bin2hex(out + 2 * done, 2 * chunk + 1, raw, chunk);
		done += chunk;
	}
	out[2 * nbytes] = '\0';
}

void ia_ascii_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

int ia_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return IA_ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void ia_free_secret(char *s)
{
	if (s == NULL)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
}
