/*
 * store.c - media keys, HMAC-signed media URLs, and the dispatch of the
 * storage operations to the backend MEDIA_STORAGE chose (store_backend.h).
 */
#include "config.h"

#include "store.h"
#include "store_backend.h"
#include "err.h"
#include "settings.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sodium.h>

#define STORE_SIG_HEX (2 * crypto_auth_hmacsha256_BYTES)

static void store_sign(const struct settings *s, const char *key, int64_t exp,
		       unsigned char mac[crypto_auth_hmacsha256_BYTES]);

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

int store_keys_add(void *keys, const char *key)
{
	struct store_keys *k = keys;

	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 256;
		k->v = xrealloc(k->v, k->cap * sizeof(*k->v));
	}
	k->v[k->n++] = xstrdup(key);
	return 0;
}

static int store_keys_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void store_keys_sort(struct store_keys *k)
{
	size_t i, out = 0;

	if (k->n == 0)
		return;
	qsort(k->v, k->n, sizeof(char *), store_keys_cmp);
	for (i = 1; i < k->n; i++) {
		if (strcmp(k->v[i], k->v[out]) == 0)
			free(k->v[i]);
		else
			k->v[++out] = k->v[i];
	}
	k->n = out + 1;
}

bool store_keys_has(const struct store_keys *k, const char *key)
{
	return k->n > 0 && bsearch(&key, k->v, k->n, sizeof(char *), store_keys_cmp) != NULL;
}

void store_keys_cleanup(struct store_keys *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
	memset(k, 0, sizeof(*k));
}

/* The backend MEDIA_STORAGE chose (settings filled by hand: local). */
static const struct store_backend *store_backend(const struct settings *s)
{
	if (s->media_storage != NULL && strcmp(s->media_storage, "s3") == 0)
		return &store_s3_backend;
	return &store_local_backend;
}

const char *store_backend_name(const struct settings *s)
{
	return store_backend(s)->name;
}

int store_mkdirs(char *path)
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

char *store_tmp_dir(const struct settings *s)
{
	char *dir = xasprintf("%s/tmp/", s->media_root);

	store_mkdirs(dir);
	dir[strlen(dir) - 1] = '\0';
	return dir;
}

char *store_tmp_mkdtemp(const struct settings *s, const char *prefix)
{
	char *tmp = store_tmp_dir(s);
	char *dir = xasprintf("%s/%sXXXXXX", tmp, prefix);

	free(tmp);
	if (mkdtemp(dir) == NULL) {
		free(dir);
		return NULL;
	}
	return dir;
}

/* getdents64's record: the kernel's struct linux_dirent64. */
struct store_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* readdir allocates, so a signal handler cannot use it; getdents64 can. */
void store_tmp_rmdir(const char *dir)
{
	char buf[4096] __attribute__((aligned(8)));
	struct store_dirent64 *de;
	long n, off;
	int fd, pass, removed = 1;

	if (dir == NULL)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	/* Unlinking while reading may make a file system skip an entry: read
	 * again from the start until a pass finds nothing (a few files). */
	for (pass = 0; pass < 4 && removed; pass++) {
		removed = 0;
		lseek(fd, 0, SEEK_SET);
		while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
			for (off = 0; off < n; off += de->d_reclen) {
				de = (struct store_dirent64 *)(void *)(buf + off);
				if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
				    unlinkat(fd, de->d_name, 0) == 0)
					removed = 1;
			}
		}
	}
	close(fd);
	rmdir(dir);
}

int store_put_file(const struct settings *s, const char *key, const char *path,
		   const char *content_type)
{
	if (!store_key_valid(key)) {
		unlink(path);
		return IA_ERR_INVAL;
	}
	return store_backend(s)->put_file(s, key, path, content_type);
}

int store_fetch(const struct settings *s, const char *key, const char *dir, struct store_local *out)
{
	if (!store_key_valid(key))
		return IA_ERR_INVAL;
	return store_backend(s)->fetch(s, key, dir, out);
}

void store_local_cleanup(struct store_local *l)
{
	if (l->temp && l->path != NULL)
		unlink(l->path);
	free(l->path);
	memset(l, 0, sizeof(*l));
}

int store_remove(const struct settings *s, const char *key)
{
	if (key == NULL || !store_key_valid(key))
		return 0;
	return store_backend(s)->remove(s, key);
}

int store_stat(const struct settings *s, const char *key, int64_t *bytes)
{
	int64_t n = 0;
	int rc;

	if (!store_key_valid(key))
		return IA_ERR_INVAL;
	rc = store_backend(s)->stat(s, key, &n);
	if (rc == 0 && bytes != NULL)
		*bytes = n;
	return rc;
}

bool store_exists(const struct settings *s, const char *key, int64_t *bytes)
{
	return store_stat(s, key, bytes) == 0;
}

int store_check(const struct settings *s)
{
	const struct store_backend *b = store_backend(s);
	/* every backend keeps its temp files under MEDIA_ROOT */
	int rc = store_local_backend.check(s);

	if (rc == 0 && b != &store_local_backend)
		rc = b->check(s);
	return rc;
}

char *store_upstream_url(const struct settings *s, const char *key, int64_t now)
{
	if (!store_key_valid(key))
		return NULL;
	return store_backend(s)->upstream_url(s, key, now);
}

int store_each(const struct settings *s, const char *prefix, store_each_fn fn, void *ctx)
{
	return store_backend(s)->each(s, prefix, fn, ctx);
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
	return xasprintf("/media/%s?exp=%lld&sig=%s", key, (long long)exp, hex);
}

int store_uri_key(const char *uri, char key[STORE_KEY_MAX])
{
	const char *q;
	size_t klen;

	if (strncmp(uri, "/media/", 7) != 0)
		return IA_ERR_INVAL;
	q = uri + 7;
	klen = strcspn(q, "?");
	if (klen == 0 || klen >= STORE_KEY_MAX)
		return IA_ERR_INVAL;
	memcpy(key, q, klen);
	key[klen] = '\0';
	return store_key_valid(key) ? 0 : IA_ERR_INVAL;
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
