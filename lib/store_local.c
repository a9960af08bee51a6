/*
 * store_local.c - the media storage backend of one machine: each object is
 * the file MEDIA_ROOT/<key>, nginx serves it itself after the signature
 * check, and a put is a rename from MEDIA_ROOT/tmp (the same file system),
 * so a reader sees the old state or the whole new file, never a part.
 */
#include "config.h"

#include "store_backend.h"
#include "err.h"
#include "log.h"
#include "settings.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_LOCAL_DEPTH 4 /* "images/3f/<name>": deeper trees are not ours */

static char *store_local_path(const struct settings *s, const char *key)
{
	return xasprintf("%s/%s", s->media_root, key);
}

static int store_local_put_file(const struct settings *s, const char *key, const char *path,
				const char *content_type)
{
	char *dest = store_local_path(s, key);
	int rc = store_mkdirs(dest);

	(void)content_type; /* nginx derives it from the key's extension */
	if (rc == 0 && rename(path, dest) != 0) {
		log_error("store: cannot move a file to %s: %s", key, strerror(errno));
		rc = IA_ERR_IO;
	}
	if (rc != 0)
		unlink(path);
	free(dest);
	return rc;
}

static int store_local_fetch(const struct settings *s, const char *key, const char *dir,
			     struct store_local *out)
{
	char *path = store_local_path(s, key);
	struct stat sb;

	(void)dir;
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		free(path);
		return IA_ERR_NOTFOUND;
	}
	out->path = path;
	out->temp = false;
	return 0;
}

static int store_local_remove(const struct settings *s, const char *key)
{
	char *path = store_local_path(s, key);
	int rc = 0;

	if (unlink(path) != 0 && errno != ENOENT)
		rc = IA_ERR_IO;
	free(path);
	return rc;
}

static int store_local_stat(const struct settings *s, const char *key, int64_t *bytes)
{
	char *path = store_local_path(s, key);
	struct stat sb;
	int rc = IA_ERR_NOTFOUND;

	if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
		*bytes = (int64_t)sb.st_size;
		rc = 0;
	}
	free(path);
	return rc;
}

static int store_local_check(const struct settings *s)
{
	struct stat st;

	if (s->media_root == NULL || stat(s->media_root, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    access(s->media_root, W_OK | X_OK) != 0)
		return IA_ERR_IO;
	return 0;
}

static char *store_local_upstream_url(const struct settings *s, const char *key, int64_t now)
{
	(void)s;
	(void)key;
	(void)now;
	return NULL;
}

/* Walk MEDIA_ROOT/rel, calling fn for each regular file that is a key. */
static int store_local_walk(const struct settings *s, const char *rel, int depth, store_each_fn fn,
			    void *ctx)
{
	char *dirpath = store_local_path(s, rel);
	DIR *d = opendir(dirpath);
	struct dirent *de;
	struct stat sb;
	int rc = 0;

	free(dirpath);
	if (d == NULL)
		return 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char *sub, *path;

		if (de->d_name[0] == '.')
			continue;
		sub = xasprintf("%s/%s", rel, de->d_name);
		path = store_local_path(s, sub);
		if (lstat(path, &sb) == 0) {
			if (S_ISDIR(sb.st_mode) && depth > 0)
				rc = store_local_walk(s, sub, depth - 1, fn, ctx);
			else if (S_ISREG(sb.st_mode) && store_key_valid(sub))
				rc = fn(sub, (int64_t)sb.st_size, (int64_t)sb.st_mtime, ctx);
		}
		free(path);
		free(sub);
	}
	closedir(d);
	return rc;
}

static int store_local_each(const struct settings *s, const char *prefix, store_each_fn fn,
			    void *ctx)
{
	char *rel = xstrdup(prefix);
	size_t len = strlen(rel);
	int rc;

	while (len > 0 && rel[len - 1] == '/')
		rel[--len] = '\0';
	rc = len > 0 ? store_local_walk(s, rel, STORE_LOCAL_DEPTH, fn, ctx) : 0;
	free(rel);
	return rc;
}

const struct store_backend store_local_backend = {
    .name = "local",
    .put_file = store_local_put_file,
    .fetch = store_local_fetch,
    .remove = store_local_remove,
    .stat = store_local_stat,
    .check = store_local_check,
    .upstream_url = store_local_upstream_url,
    .each = store_local_each,
};
