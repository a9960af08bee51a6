/*
 * store.c - media keys, paths, and HMAC-signed media URLs.
 */
#include "config.h"

#include "store.h"
#include "err.h"
#include "settings.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define STORE_SIG_HEX (2 * crypto_auth_hmacsha256_BYTES)

static void store_sign(const struct settings *s, const char *key, int64_t exp,
		       unsigned char mac[crypto_auth_hmacsha256_BYTES]);
static int store_mkdirs(char *path);

void store_new_key(const char *dir, const char *ext, char out[STORE_KEY_MAX])
{
	char rnd[33];

	ia_random_hex(rnd, 16);
	snprintf(out, STORE_KEY_MAX, "%s/%.2s/%s.%s", dir, rnd, rnd, ext);
}

/*
 * Only the two media trees are keys: everything else under MEDIA_ROOT (the
 * upload temp files under tmp/, a stray file beside the trees) must never be
 * signed, attached to an image or unlinked through a key. A key names a file
 * below "images/" or "sources/" through non-empty segments, none "." or "..".
 */
static bool store_key_segments_ok(const char *key)
{
	const char *seg = key, *end;
	size_t n;

	for (;;) {
		end = strchr(seg, '/');
		n = end != NULL ? (size_t)(end - seg) : strlen(seg);
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return false;
		if (end == NULL)
			return true;
		seg = end + 1;
	}
}

bool store_key_valid(const char *key)
{
	const char *p;
	size_t len = strlen(key);

	if (len == 0 || len >= STORE_KEY_MAX || strstr(key, "..") != NULL)
		return false;
	if (strncmp(key, "images/", 7) != 0 && strncmp(key, "sources/", 8) != 0)
		return false;
	for (p = key; *p; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == '/'))
			return false;
	}
	return store_key_segments_ok(key);
}

char *store_path(const struct settings *s, const char *key)
{
	return xasprintf("%s/%s", s->media_root, key);
}

/* mkdir -p of every parent of path (path is modified and restored). */
static int store_mkdirs(char *path)
{
	char *p;

	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0750) != 0 && errno != EEXIST) {
			*p = '/';
			return IA_ERR_IO;
		}
		*p = '/';
	}
	return 0;
}

int store_prepare(const struct settings *s, const char *key)
{
	char *path = store_path(s, key);
	int rc = store_mkdirs(path);

	free(path);
	return rc;
}

char *store_tmp_dir(const struct settings *s)
{
	char *dir = xasprintf("%s/tmp/", s->media_root);

	store_mkdirs(dir);
	dir[strlen(dir) - 1] = '\0';
	return dir;
}

int store_remove(const struct settings *s, const char *key)
{
	char *path;
	int rc = 0;

	if (key == NULL || !store_key_valid(key))
		return 0;
	path = store_path(s, key);
	if (unlink(path) != 0 && errno != ENOENT)
		rc = IA_ERR_IO;
	free(path);
	return rc;
}

bool store_exists(const struct settings *s, const char *key, int64_t *bytes)
{
	struct stat sb;
	char *path;
	bool ok;

	if (!store_key_valid(key))
		return false;
	path = store_path(s, key);
	ok = stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
	free(path);
	if (ok && bytes != NULL)
		*bytes = (int64_t)sb.st_size;
	return ok;
}

static void store_sign(const struct settings *s, const char *key, int64_t exp,
		       unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;
	char expbuf[24];

	snprintf(expbuf, sizeof(expbuf), "\n%lld", (long long)exp);
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)s->secret_key, s->secret_key_len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)key, strlen(key));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)expbuf, strlen(expbuf));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

char *store_signed_url(const struct settings *s, const char *key, int64_t now)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char hex[STORE_SIG_HEX + 1];
	int64_t exp = now + s->media_url_lifetime;

	store_sign(s, key, exp, mac);
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	return xasprintf("%s/media/%s?exp=%lld&sig=%s", s->public_url, key, (long long)exp, hex);
}

int store_verify_uri(const struct settings *s, const char *uri, int64_t now)
{
	int64_t exp;

	return store_verify_uri_exp(s, uri, now, &exp);
}

int store_verify_uri_exp(const struct settings *s, const char *uri, int64_t now, int64_t *exp_out)
{
	unsigned char want[crypto_auth_hmacsha256_BYTES], got[crypto_auth_hmacsha256_BYTES];
	char key[STORE_KEY_MAX], expbuf[24];
	const char *q, *e, *sig;
	size_t klen, elen;
	int64_t exp;

	if (strncmp(uri, "/media/", 7) != 0 || (q = strchr(uri, '?')) == NULL)
		return IA_ERR_AUTH;
	klen = (size_t)(q - (uri + 7));
	if (klen == 0 || klen >= sizeof(key))
		return IA_ERR_AUTH;
	memcpy(key, uri + 7, klen);
	key[klen] = '\0';
	if (!store_key_valid(key) || strncmp(q, "?exp=", 5) != 0)
		return IA_ERR_AUTH;
	e = q + 5;
	elen = strcspn(e, "&");
	sig = e + elen;
	if (elen == 0 || elen >= sizeof(expbuf) || strncmp(sig, "&sig=", 5) != 0)
		return IA_ERR_AUTH;
	memcpy(expbuf, e, elen);
	expbuf[elen] = '\0';
	sig += 5;
	if (ia_parse_int64(expbuf, 0, INT64_MAX, &exp) != 0 || strlen(sig) != STORE_SIG_HEX ||
	    sodium_hex2bin(got, sizeof(got), sig, STORE_SIG_HEX, NULL, NULL, NULL) != 0)
		return IA_ERR_AUTH;
	store_sign(s, key, exp, want);
	if (crypto_verify_32(want, got) != 0)
		return IA_ERR_AUTH;
	if (exp <= now)
		return IA_ERR_EXPIRED;
	*exp_out = exp;
	return 0;
}
