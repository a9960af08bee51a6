/*
 * test_imagefiles.c - unit tests for lib/imagefiles.c on the local backend
 * in a temp MEDIA_ROOT with image rows of a real migrated database:
 * deleting an image removes its row and then its files (another user's
 * image stays); the staff override refuses a missing key or a file that
 * is not an image as a field error, updates the row from a real PNG's
 * header and removes the preview the row showed before.
 */
#include "config.h"

#include "api.h"
#include "db.h"
#include "err.h"
#include "imagefiles.h"
#include "jobs.h"
#include "settings.h"
#include "testdb.h"
#include "users.h"
#include "util.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct db *db;
static struct settings st;
static char *root;
static int64_t uid, other;

/* A done row of user with its three files on disk. */
static int64_t add_done(int64_t user, const char *src, const char *img, const char *thumb)
{
	struct db_stmt *s;

	ck_assert_int_eq(db_prepare(db,
				    "INSERT INTO images (user_id, service, status, source_key, "
				    "image_key, thumbnail_key, created, updated) VALUES (?, "
				    "'resize', 'done', ?, ?, ?, 1, 1)",
				    &s),
			 0);
	db_bind_int64(s, 1, user);
	db_bind_text(s, 2, src);
	db_bind_text(s, 3, img);
	db_bind_text(s, 4, thumb);
	ck_assert_int_eq(db_step(s), DB_DONE);
	db_reset(s);
	testdb_put(root, src, "data", 4);
	testdb_put(root, img, "data", 4);
	testdb_put(root, thumb, "data", 4);
	return testdb_int(db, "SELECT max(id) FROM images WHERE user_id = ?", user);
}

static void setup(void)
{
	db = testdb_open();
	uid = testdb_user(db, "files@example.com", 0);
	other = testdb_user(db, "other@example.com", 0);
	root = testdb_tmpdir("imagefiles");
	memset(&st, 0, sizeof(st));
	st.media_root = root;
}

static void teardown(void)
{
	testdb_rmtree(root);
	testdb_close(db);
	db = NULL;
}

START_TEST(test_delete_removes_row_then_files)
{
	int64_t id =
	    add_done(uid, "sources/aa/a.png", "images/aa/a-out.png", "images/aa/a.preview.webp");
	int64_t keep =
	    add_done(other, "sources/bb/b.png", "images/bb/b-out.png", "images/bb/b.preview.webp");

	/* not the owner: nothing happens */
	ck_assert_int_eq(imagefiles_delete(db, &st, keep, uid), IA_ERR_NOTFOUND);
	ck_assert(testdb_exists(root, "images/bb/b-out.png"));
	ck_assert_int_eq(imagefiles_delete(db, &st, id, uid), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM images WHERE id = ?", id), 0);
	ck_assert(!testdb_exists(root, "sources/aa/a.png"));
	ck_assert(!testdb_exists(root, "images/aa/a-out.png"));
	ck_assert(!testdb_exists(root, "images/aa/a.preview.webp"));
	ck_assert(testdb_exists(root, "sources/bb/b.png"));
	ck_assert_int_eq(imagefiles_delete(db, &st, id, uid), IA_ERR_NOTFOUND);
}
END_TEST

/* Run the override; the first field error's text into msg ("" for none). */
static int override(int64_t id, const char *name, struct job_row *r, char *msg, size_t len)
{
	struct api_errors e;
	const cJSON *f;
	int rc;

	api_errors_init(&e);
	rc = imagefiles_override(db, &st, id, name, NULL, &e, r);
	f = cJSON_GetObjectItemCaseSensitive(e.obj, "name");
	snprintf(msg, len, "%s", cJSON_IsArray(f) ? cJSON_GetArrayItem(f, 0)->valuestring : "");
	api_errors_cleanup(&e);
	return rc;
}

START_TEST(test_override_field_errors_change_nothing)
{
	int64_t id =
	    add_done(uid, "sources/aa/a.png", "images/aa/a-out.png", "images/aa/a.preview.webp");
	struct job_row r;
	char msg[128];

	ck_assert_int_eq(override(id, "images/aa/none.png", &r, msg, sizeof(msg)), 0);
	ck_assert_str_eq(msg, "No media file with this key.");
	ck_assert_int_eq(override(id, "../etc/passwd", &r, msg, sizeof(msg)), 0);
	ck_assert_str_eq(msg, "A media key is a path under images/ or sources/.");
	testdb_put(root, "images/aa/text.png", "not an image", 12);
	ck_assert_int_eq(override(id, "images/aa/text.png", &r, msg, sizeof(msg)), 0);
	ck_assert_str_eq(msg, "The media file is not an image.");
	ck_assert(testdb_exists(root, "images/aa/a.preview.webp"));
	ck_assert_int_eq(testdb_int(db,
				    "SELECT count(*) FROM images WHERE id = ? AND image_key = "
				    "'images/aa/a-out.png'",
				    id),
			 1);
}
END_TEST

START_TEST(test_override_updates_row_and_drops_old_preview)
{
	int64_t id =
	    add_done(uid, "sources/aa/a.png", "images/aa/a-out.png", "images/aa/a.preview.webp");
	struct job_row r;
	char msg[128];

	testdb_put(root, "images/ff/staff.png", testdb_png1x1, testdb_png1x1_len);
	ck_assert_int_eq(override(id, "images/ff/staff.png", &r, msg, sizeof(msg)), 0);
	ck_assert_str_eq(msg, "");
	ck_assert_str_eq(r.image_key, "images/ff/staff.png");
	ck_assert_int_eq(r.width, 1);
	ck_assert_int_eq(r.height, 1);
	ck_assert_int_eq(r.bytes, (int64_t)testdb_png1x1_len);
	ck_assert_str_eq(r.content_type, "image/png");
	jobs_row_cleanup(&r);
	ck_assert(!testdb_exists(root, "images/aa/a.preview.webp"));
	ck_assert(testdb_exists(root, "images/ff/staff.png"));
	ck_assert_int_eq(override(id + 100, "images/ff/staff.png", &r, msg, sizeof(msg)),
			 IA_ERR_NOTFOUND);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("imagefiles");
	TCase *tc = tcase_create("imagefiles");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_delete_removes_row_then_files);
	tcase_add_test(tc, test_override_field_errors_change_nothing);
	tcase_add_test(tc, test_override_updates_row_and_drops_old_preview);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
