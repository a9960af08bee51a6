/*
 * imagefiles.c - the operations on one image that change its row and its
 * media files together. This module implements the order that keeps the
 * two consistent: the row changes first (in the database's transaction),
 * and only then are the files it no longer names removed, so a failure in
 * between leaves an unreferenced file (swept by lib/orphans.c), never a
 * row pointing at nothing.
 */
#include "config.h"

#include "imagefiles.h"
#include "api.h"
#include "err.h"
#include "imgio.h"
#include "jobs.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

static int imagefiles_probe(const struct settings *s, const char *name, struct api_errors *e,
			    struct img_info *info, int64_t *bytes);
static char *imagefiles_old_thumbnail(struct db *db, int64_t id);

int imagefiles_delete(struct db *db, const struct settings *s, int64_t id, int64_t user_id)
{
	char *source = NULL, *image = NULL, *thumbnail = NULL;
	int rc;

	rc = jobs_delete(db, id, user_id, &source, &image, &thumbnail);
	if (rc != 0)
		return rc;
	store_remove(s, source);
	store_remove(s, image);
	store_remove(s, thumbnail);
	free(source);
	free(image);
	free(thumbnail);
	return 0;
}

/*
 * The staff's media key must name an image in the storage: its header
 * gives the row's size and type. Field errors go to e; a storage that
 * cannot be reached is a non-zero return.
 */
static int imagefiles_probe(const struct settings *s, const char *name, struct api_errors *e,
			    struct img_info *info, int64_t *bytes)
{
	struct store_local file = {0};
	int rc;

	if (!store_key_valid(name)) {
		api_errors_add(e, "name", "A media key is a path under images/ or sources/.");
		return 0;
	}
	rc = store_stat(s, name, bytes);
	if (rc == 0)
		rc = store_fetch(s, name, NULL, &file);
	if (rc == IA_ERR_NOTFOUND) {
		api_errors_add(e, "name", "No media file with this key.");
		return 0;
	}
	if (rc == 0 && imgio_probe_file(file.path, info) != 0)
		api_errors_add(e, "name", "The media file is not an image.");
	store_local_cleanup(&file);
	return rc;
}

/*
 * The preview of image id before a staff override, which no longer shows
 * the result afterwards (jobs_set_processed clears it): heap key or NULL.
 */
static char *imagefiles_old_thumbnail(struct db *db, int64_t id)
{
	struct job_row r;
	char *key = NULL;

	if (jobs_get(db, id, 0, &r) == 0) {
		key = r.thumbnail_key;
		r.thumbnail_key = NULL;
		jobs_row_cleanup(&r);
	}
	return key;
}

int imagefiles_override(struct db *db, const struct settings *s, int64_t id, const char *name,
			const char *alternate_url, struct api_errors *e, struct job_row *out)
{
	struct img_info info;
	char *old_thumbnail = NULL;
	int64_t bytes = 0;
	int rc;

	rc = imagefiles_probe(s, name, e, &info, &bytes);
	if (rc != 0) {
		rc = IA_ERR_UNAVAILABLE;
		goto out;
	}
	if (api_errors_any(e))
		goto out;
	old_thumbnail = imagefiles_old_thumbnail(db, id);
	if (jobs_set_processed(db, id, name, alternate_url, info.width, info.height, bytes,
			       imgio_format_mime(info.format)) != 0 ||
	    jobs_get(db, id, 0, out) != 0) {
		rc = IA_ERR_NOTFOUND;
		goto out;
	}
	/* the staff's key may be anything under images/, never the preview itself */
	if (old_thumbnail != NULL && strcmp(old_thumbnail, name) != 0)
		store_remove(s, old_thumbnail);
out:
	free(old_thumbnail);
	return rc;
}
