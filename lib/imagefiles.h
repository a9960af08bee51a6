/*
 * imagefiles.h - the operations on one of a user's images that touch its
 * row (lib/jobs.c) and its media files (lib/store.c) together: deleting
 * an image with its files, and the staff override that points a row at
 * another stored image (API.md "Images": DELETE /images/<id>/ and
 * update-processed).
 */
#ifndef IA_IMAGEFILES_H
#define IA_IMAGEFILES_H

#include <stdint.h>

struct api_errors;
struct db;
struct job_row;
struct settings;

/*
 * Delete image id of user_id and then remove its source,
 * result and preview files from the storage (a file that cannot be
 * removed is left to lib/orphans.c). IA_ERR_NOTFOUND when there is no
 * such image; the row is gone once this returns 0 (database write, and a
 * refund when the job was still in flight: jobs_delete).
 */
int imagefiles_delete(struct db *db, const struct settings *s, int64_t id, int64_t user_id);

/*
 * The staff override: point image id at the stored image name (a media
 * key under images/ or sources/) and alternate_url (may be NULL). The
 * file's header gives the row's size and type. Problems with name are
 * field errors added to e (then nothing changes, return 0 and check e);
 * IA_ERR_UNAVAILABLE when the storage cannot be read; IA_ERR_NOTFOUND
 * when there is no image id. On success *out is the updated row
 * (release with jobs_row_cleanup) and the preview the row showed before,
 * which no longer belongs to it, is removed from the storage.
 */
int imagefiles_override(struct db *db, const struct settings *s, int64_t id, const char *name,
			const char *alternate_url, struct api_errors *e, struct job_row *out);

#endif
