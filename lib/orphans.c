/*
 * orphans.c - finding and removing media files nobody owns (orphans.h).
 */
#include "config.h"

#include "orphans.h"
#include "err.h"
#include "jobs.h"
#include "log.h"
#include "settings.h"
#include "store.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Scan state. */
struct orphans_walk {
	const struct settings *s;
	struct store_keys keys; /* named by rows, sorted */
	int64_t max_age, now;
	bool clean, sweep_only;
	void (*fn)(void *ud, const char *kind, const char *key);
	void *ud;
	struct orphans_report rep;
};

/* True when name ends in ".<digits>.tmp" with a pid that is not running. */
static bool orphans_dead_tmp(const char *name)
{
	size_t len = strlen(name);
	const char *end, *p;
	int64_t pid;
	char digits[16];

	if (len < 6 || strcmp(name + len - 4, ".tmp") != 0)
		return false;
	end = name + len - 4;
	for (p = end; p > name && p[-1] >= '0' && p[-1] <= '9'; p--)
		;
	if (p == end || p == name || p[-1] != '.' || (size_t)(end - p) >= sizeof(digits))
		return false;
	memcpy(digits, p, (size_t)(end - p));
	digits[end - p] = '\0';
	if (ia_parse_int64(digits, 1, INT32_MAX, &pid) != 0)
		return false;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Report one finding; with clean, remove it (remove_fn's way). */
static void orphans_found(struct orphans_walk *w, const char *kind, const char *key,
			  int (*remove_fn)(struct orphans_walk *w, const char *key))
{
	if (w->fn != NULL)
		w->fn(w->ud, kind, key);
	if (w->clean && strcmp(kind, "missing") != 0 && remove_fn(w, key) == 0)
		w->rep.removed++;
}

/* Remove a media object. */
static int orphans_remove_object(struct orphans_walk *w, const char *key)
{
	int rc = store_remove(w->s, key);

	if (rc != 0)
		log_warn("orphans: cannot remove %s: %s", key, ia_strerror(rc));
	return rc;
}

/* Remove "tmp/<name>" under MEDIA_ROOT: a file, or a job's directory. */
static int orphans_remove_tmp(struct orphans_walk *w, const char *rel)
{
	char *path = xasprintf("%s/%s", w->s->media_root, rel);
	struct stat sb;
	int rc = 0;

	if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		store_tmp_rmdir(path);
	} else if (unlink(path) != 0 && errno != ENOENT) {
		log_warn("orphans: cannot remove %s: %s", path, strerror(errno));
		rc = IA_ERR_IO;
	}
	free(path);
	return rc;
}

/* One media object: an encoder's dead temp file, or a key no row names. */
static int orphans_object(const char *key, int64_t bytes, int64_t mtime, void *ctx)
{
	struct orphans_walk *w = ctx;
	const char *name = strrchr(key, '/');
	bool old = w->now - mtime > w->max_age;

	(void)bytes;
	if (orphans_dead_tmp(name != NULL ? name + 1 : key)) {
		if (old) {
			w->rep.tmp_files++;
			orphans_found(w, "tmp", key, orphans_remove_object);
		}
	} else if (!w->sweep_only && old && !store_keys_has(&w->keys, key)) {
		w->rep.orphan_files++;
		orphans_found(w, "orphan", key, orphans_remove_object);
	}
	return 0;
}

/*
 * MEDIA_ROOT/tmp on this host: uploads in flight (ia-upload-*) and the
 * directories of running jobs (ia-job-*), left behind by killed workers
 * once old.
 */
static void orphans_tmp(struct orphans_walk *w)
{
	char *dirpath = xasprintf("%s/tmp", w->s->media_root);
	DIR *d = opendir(dirpath);
	struct dirent *de;
	struct stat sb;

	while (d != NULL && (de = readdir(d)) != NULL) {
		char *rel, *path;

		if (strncmp(de->d_name, "ia-upload-", 10) != 0 &&
		    strncmp(de->d_name, "ia-job-", 7) != 0)
			continue;
		rel = xasprintf("tmp/%s", de->d_name);
		path = xasprintf("%s/%s", dirpath, de->d_name);
		if (lstat(path, &sb) == 0 && w->now - (int64_t)sb.st_mtime > w->max_age &&
		    (S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode))) {
			w->rep.tmp_files++;
			orphans_found(w, "tmp", rel, orphans_remove_tmp);
		}
		free(path);
		free(rel);
	}
	if (d != NULL)
		closedir(d);
	free(dirpath);
}

/*
 * The temp files, then the media trees. The periodic sweep looks for
 * encoders' temp files in the trees only on local disk: they are never
 * written to a bucket, and listing one costs.
 */
static int orphans_walk_media(struct orphans_walk *w)
{
	int rc = 0;

	orphans_tmp(w);
	if (w->sweep_only && strcmp(store_backend_name(w->s), "local") != 0)
		return 0;
	rc = store_each(w->s, "sources/", orphans_object, w);
	if (rc == 0)
		rc = store_each(w->s, "images/", orphans_object, w);
	return rc;
}

int orphans_sweep_tmp(const struct settings *s, int64_t max_age, int *removed)
{
	struct orphans_walk w;

	memset(&w, 0, sizeof(w));
	w.s = s;
	w.max_age = max_age;
	w.now = ia_now();
	w.clean = true;
	w.sweep_only = true;
	orphans_walk_media(&w);
	if (w.rep.removed > 0)
		log_info("swept %lld stale temp file(s) under %s", (long long)w.rep.removed,
			 s->media_root);
	if (removed != NULL)
		*removed = (int)w.rep.removed;
	return 0;
}

int orphans_scan(struct db *db, const struct settings *s, int64_t max_age, bool clean,
		 void (*fn)(void *ud, const char *kind, const char *key), void *ud,
		 struct orphans_report *out)
{
	struct orphans_walk w;
	size_t i;
	int rc;

	memset(&w, 0, sizeof(w));
	w.s = s;
	w.max_age = max_age;
	w.now = ia_now();
	w.clean = clean;
	w.fn = fn;
	w.ud = ud;
	rc = jobs_each_media_key(db, store_keys_add, &w.keys);
	if (rc != 0)
		goto out;
	store_keys_sort(&w.keys);
	for (i = 0; i < w.keys.n; i++) {
		if (store_exists(s, w.keys.v[i], NULL))
			continue;
		w.rep.missing_files++;
		if (fn != NULL)
			fn(ud, "missing", w.keys.v[i]);
	}
	rc = orphans_walk_media(&w);
	*out = w.rep;
out:
	store_keys_cleanup(&w.keys);
	return rc;
}
