/*
 * store_s3.c - placeholder of the S3 media backend until its client lands:
 * every operation fails as unsupported.
 */
#include "config.h"

#include "store_backend.h"
#include "err.h"

#include <unistd.h>

static int s3_put(const struct settings *s, const char *k, const char *p, const char *c)
{
	(void)s, (void)k, (void)c;
	unlink(p);
	return IA_ERR_UNSUPPORTED;
}

static int s3_fetch(const struct settings *s, const char *k, const char *d, struct store_local *o)
{
	(void)s, (void)k, (void)d, (void)o;
	return IA_ERR_UNSUPPORTED;
}

static int s3_remove(const struct settings *s, const char *k)
{
	(void)s, (void)k;
	return IA_ERR_UNSUPPORTED;
}

static int s3_stat(const struct settings *s, const char *k, int64_t *b)
{
	(void)s, (void)k, (void)b;
	return IA_ERR_UNSUPPORTED;
}

static int s3_check(const struct settings *s)
{
	(void)s;
	return IA_ERR_UNSUPPORTED;
}

static char *s3_url(const struct settings *s, const char *k, int64_t now)
{
	(void)s, (void)k, (void)now;
	return NULL;
}

static int s3_each(const struct settings *s, const char *p, store_each_fn fn, void *ctx)
{
	(void)s, (void)p, (void)fn, (void)ctx;
	return IA_ERR_UNSUPPORTED;
}

const struct store_backend store_s3_backend = {
    "s3", s3_put, s3_fetch, s3_remove, s3_stat, s3_check, s3_url, s3_each,
};
