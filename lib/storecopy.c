/*
 * storecopy.c - copy the media rows name from one storage to another and
 * verify each object by reading it back (storecopy.h).
 */
#include "config.h"

#include "storecopy.h"
#include "err.h"
#include "imgio.h"
#include "jobs.h"
#include "settings.h"
#include "store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

/* SHA-256 and size of a local file; IA_ERR_IO when it cannot be read. */
static int storecopy_digest(const char *path, unsigned char sum[crypto_hash_sha256_BYTES],
			    int64_t *bytes)
{
	crypto_hash_sha256_state st;
	unsigned char buf[65536];
	FILE *f = fopen(path, "rb");
	size_t n;
	int rc = 0;

	if (f == NULL)
		return IA_ERR_IO;
	*bytes = 0;
	crypto_hash_sha256_init(&st);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		crypto_hash_sha256_update(&st, buf, n);
		*bytes += (int64_t)n;
	}
	if (ferror(f))
		rc = IA_ERR_IO;
	fclose(f);
	crypto_hash_sha256_final(&st, sum);
	return rc;
}

/*
 * A private copy of a local file in dir to hand to store_put_file, which
 * consumes what it is given: a hard link when the file system allows one
 * (no bytes copied), else a byte copy. Heap path or NULL.
 */
static char *storecopy_stage(const char *path, const char *dir)
{
	char *tmp = xasprintf("%s/ia-copy-%d", dir, (int)getpid());
	unsigned char buf[65536];
	FILE *in = NULL, *out = NULL;
	size_t n;
	int ok = 0;

	unlink(tmp);
	if (link(path, tmp) == 0)
		return tmp;
	in = fopen(path, "rb");
	out = in != NULL ? fopen(tmp, "wb") : NULL;
	if (out != NULL) {
		ok = 1;
		while (ok && (n = fread(buf, 1, sizeof(buf), in)) > 0)
			ok = fwrite(buf, 1, n, out) == n;
		ok = ok && !ferror(in);
	}
	if (in != NULL)
		fclose(in);
	if (out != NULL && fclose(out) != 0)
		ok = 0;
	if (!ok) {
		unlink(tmp);
		free(tmp);
		return NULL;
	}
	return tmp;
}

/* Copy one key and read it back from the target. */
static int storecopy_one(const struct settings *from, const struct settings *to, const char *key,
			 const char *dir, int64_t *bytes, char *err, size_t errlen)
{
	unsigned char want[crypto_hash_sha256_BYTES], got[crypto_hash_sha256_BYTES];
	struct store_local src = {0}, back = {0};
	int64_t got_bytes = -1, stat_bytes = -1;
	char *staged = NULL;
	int rc;

	rc = store_fetch(from, key, dir, &src);
	if (rc == 0)
		rc = storecopy_digest(src.path, want, bytes);
	if (rc != 0) {
		snprintf(err, errlen, "%s: cannot read the source (%s)", key, ia_strerror(rc));
		goto out;
	}
	staged = storecopy_stage(src.path, dir);
	rc = staged != NULL ? store_put_file(to, key, staged, imgio_key_mime(key)) : IA_ERR_IO;
	if (rc == 0)
		rc = store_stat(to, key, &stat_bytes);
	if (rc == 0)
		rc = store_fetch(to, key, dir, &back);
	if (rc == 0)
		rc = storecopy_digest(back.path, got, &got_bytes);
	if (rc != 0) {
		snprintf(err, errlen, "%s: cannot store or read back the copy (%s)", key,
			 ia_strerror(rc));
		goto out;
	}
	if (stat_bytes != *bytes || got_bytes != *bytes || sodium_memcmp(want, got, sizeof(want))) {
		snprintf(err, errlen,
			 "%s: the copy differs (%lld bytes listed, %lld read back, %lld sent)", key,
			 (long long)stat_bytes, (long long)got_bytes, (long long)*bytes);
		rc = IA_ERR_IO;
	}
out:
	store_local_cleanup(&back);
	store_local_cleanup(&src);
	free(staged);
	return rc;
}

int storecopy_run(struct db *db, const struct settings *from, const struct settings *to,
		  struct storecopy_report *out, char *err, size_t errlen)
{
	struct storecopy_report rep = {0, 0, 0};
	struct store_keys keys = {NULL, 0, 0};
	char *dir = store_tmp_mkdtemp(from, "ia-copy-");
	int64_t bytes;
	size_t i;
	int rc;

	if (dir == NULL) {
		snprintf(err, errlen, "cannot create a temp directory under %s/tmp",
			 from->media_root);
		return IA_ERR_IO;
	}
	rc = jobs_each_media_key(db, store_keys_add, &keys);
	if (rc != 0)
		snprintf(err, errlen, "cannot read the media keys of the images");
	store_keys_sort(&keys);
	for (i = 0; rc == 0 && i < keys.n; i++) {
		rc = storecopy_one(from, to, keys.v[i], dir, &bytes, err, errlen);
		if (rc == IA_ERR_NOTFOUND)
			rep.missing++;
		if (rc == 0) {
			rep.objects++;
			rep.bytes += bytes;
		}
	}
	store_keys_cleanup(&keys);
	store_tmp_rmdir(dir);
	free(dir);
	if (out != NULL)
		*out = rep;
	return rc;
}
