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

/* The keys named by rows, sorted for bsearch. */
struct orphans_keys {
	char **v;
	size_t n, cap;
};

/* Scan state. */
struct orphans_walk {
	const struct settings *s;
	struct orphans_keys keys;
	int64_t max_age, now;
	bool clean, sweep_only;
	void (*fn)(void *ud, const char *kind, const char *key);
	void *ud;
	struct orphans_report rep;
};

static int orphans_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

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

static void orphans_found(struct orphans_walk *w, const char *kind, const char *rel,
			  const char *path)
{
	if (w->fn != NULL)
		w->fn(w->ud, kind, rel);
	if (w->clean && strcmp(kind, "missing") != 0) {
		if (unlink(path) == 0)
			w->rep.removed++;
		else if (errno != ENOENT)
			log_warn("orphans: cannot remove %s: %s", path, strerror(errno));
	}
}

/* One file rel (relative to MEDIA_ROOT) with its stat. */
static void orphans_file(struct orphans_walk *w, const char *rel, const char *name,
			 const struct stat *sb)
{
	char *path = store_path(w->s, rel);
	bool old = w->now - (int64_t)sb->st_mtime > w->max_age;
	const char *k = rel;

	if (strncmp(rel, "tmp/", 4) == 0) {
		if (old && strncmp(name, "ia-upload-", 10) == 0) {
			w->rep.tmp_files++;
			orphans_found(w, "tmp", rel, path);
		}
	} else if (orphans_dead_tmp(name)) {
		if (old) {
			w->rep.tmp_files++;
			orphans_found(w, "tmp", rel, path);
		}
	} else if (!w->sweep_only && old &&
		   bsearch(&k, w->keys.v, w->keys.n, sizeof(char *), orphans_cmp) == NULL) {
		w->rep.orphan_files++;
		orphans_found(w, "orphan", rel, path);
	}
	free(path);
}

/* Walk MEDIA_ROOT/rel recursively (at most depth levels below). */
static void orphans_dir(struct orphans_walk *w, const char *rel, int depth)
{
	char *dirpath = store_path(w->s, rel);
	DIR *d = opendir(dirpath);
	struct dirent *de;
	struct stat sb;

	if (d == NULL) {
		free(dirpath);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char *sub, *path;

		if (de->d_name[0] == '.')
			continue;
		sub = xasprintf("%s/%s", rel, de->d_name);
		path = store_path(w->s, sub);
		if (lstat(path, &sb) == 0) {
			if (S_ISDIR(sb.st_mode) && depth > 0)
				orphans_dir(w, sub, depth - 1);
			else if (S_ISREG(sb.st_mode))
				orphans_file(w, sub, de->d_name, &sb);
		}
		free(path);
		free(sub);
	}
	closedir(d);
	free(dirpath);
}

static int orphans_add_key(void *ud, const char *key)
{
	struct orphans_keys *k = ud;

	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 256;
		k->v = xrealloc(k->v, k->cap * sizeof(*k->v));
	}
	k->v[k->n++] = xstrdup(key);
	return 0;
}

static void orphans_walk_media(struct orphans_walk *w)
{
	orphans_dir(w, "tmp", 0);
	orphans_dir(w, "sources", 1);
	orphans_dir(w, "images", 1);
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
	rc = jobs_each_media_key(db, orphans_add_key, &w.keys);
	if (rc != 0)
		goto out;
	qsort(w.keys.v, w.keys.n, sizeof(char *), orphans_cmp);
	for (i = 0; i < w.keys.n; i++) {
		if ((i > 0 && strcmp(w.keys.v[i], w.keys.v[i - 1]) == 0) ||
		    store_exists(s, w.keys.v[i], NULL))
			continue;
		w.rep.missing_files++;
		if (fn != NULL)
			fn(ud, "missing", w.keys.v[i]);
	}
	orphans_walk_media(&w);
	*out = w.rep;
out:
	for (i = 0; i < w.keys.n; i++)
		free(w.keys.v[i]);
	free(w.keys.v);
	return rc;
}
