/*
 * test_storecopy.c - unit tests for lib/storecopy.c from one local media
 * root to another, with the keys named by image rows of a real migrated
 * database (testdb): every key a row names (source and result, named
 * twice or once) arrives with the same bytes, the report counts objects
 * and bytes, the source and the rows are left alone, a second run copies
 * again; a key whose source is missing stops the run with
 * IA_ERR_NOTFOUND, its name in err and the count of what was done; no
 * temp files are left under MEDIA_ROOT/tmp. (The S3 target is exercised
 * by `iactl db copy-to --media` in the API tests.)
 */
#include "config.h"

#include "db.h"
#include "err.h"
#include "settings.h"
#include "storecopy.h"
#include "testdb.h"
#include "users.h"
#include "util.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct db *db;
static struct settings from, to;
static char *root_from, *root_to;
static int64_t uid;

static void setup(void)
{
	db = testdb_open();
	uid = testdb_user(db, "copy@example.com", 0);
	root_from = testdb_tmpdir("storecopy");
	root_to = testdb_tmpdir("storecopy");
	memset(&from, 0, sizeof(from));
	memset(&to, 0, sizeof(to));
	from.media_root = root_from;
	to.media_root = root_to;
}

static void teardown(void)
{
	testdb_rmtree(root_from);
	testdb_rmtree(root_to);
	testdb_close(db);
}

/* root/key with len bytes of a pattern seeded by seed; dirs made. */
static void put(const char *root, const char *key, size_t len, int seed)
{
	unsigned char *buf = xmalloc(len + 1);

	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)((i * 31 + (size_t)seed) & 0xFF);
	testdb_put(root, key, buf, len);
	free(buf);
}

/* Whole file root/key into a heap buffer; *len its size, NULL if absent. */
static unsigned char *slurp(const char *root, const char *key, size_t *len)
{
	char *path = xasprintf("%s/%s", root, key);
	FILE *f = fopen(path, "rb");
	unsigned char *buf;

	free(path);
	if (f == NULL)
		return NULL;
	buf = xmalloc(1 << 20);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static void assert_same(const char *key)
{
	size_t a = 0, b = 0;
	unsigned char *x = slurp(root_from, key, &a), *y = slurp(root_to, key, &b);

	ck_assert_msg(x != NULL, "%s missing from the source", key);
	ck_assert_msg(y != NULL, "%s missing from the target", key);
	ck_assert_uint_eq(a, b);
	ck_assert_msg(memcmp(x, y, a) == 0, "%s differs", key);
	free(x);
	free(y);
}

static void add_row(const char *source_key, const char *image_key)
{
	struct db_stmt *st;

	ck_assert_int_eq(
	    db_prepare(db,
		       "INSERT INTO images (user_id, service, status, source_key, "
		       "image_key, created, updated) VALUES (?, 'resize', 'done', ?, ?, "
		       "0, 0)",
		       &st),
	    0);
	db_bind_int64(st, 1, uid);
	if (source_key != NULL)
		db_bind_text(st, 2, source_key);
	else
		db_bind_null(st, 2);
	if (image_key != NULL)
		db_bind_text(st, 3, image_key);
	else
		db_bind_null(st, 3);
	ck_assert_int_eq(db_step(st), DB_DONE);
	db_reset(st);
}

/* Entries in root/tmp other than . and .. */
static int tmp_entries(const char *root)
{
	char *path = xasprintf("%s/tmp", root);
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	free(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

static const char *const keys[] = {
    "sources/aa/aaaa1111.png",
    "images/bb/bbbb2222.png",
    "sources/cc/cccc3333.jpg",
    "images/dd/dddd4444.webp",
};

START_TEST(every_key_a_row_names_arrives_with_the_same_bytes)
{
	struct storecopy_report rep = {-1, -1, -1};
	char err[256] = "";

	put(root_from, keys[0], 1000, 1);
	put(root_from, keys[1], 70000, 2); /* more than one read buffer */
	put(root_from, keys[2], 0, 3);     /* empty */
	put(root_from, keys[3], 4096, 4);
	put(root_from, "images/ee/eeee5555.png", 10, 5); /* named by no row */
	add_row(keys[0], keys[1]);
	add_row(keys[2], NULL);
	add_row(NULL, keys[3]);
	add_row(keys[0], NULL); /* a key named twice is copied once */
	ck_assert_int_eq(storecopy_run(db, &from, &to, &rep, err, sizeof(err)), 0);
	ck_assert_int_eq(rep.objects, 4);
	ck_assert_int_eq(rep.bytes, 1000 + 70000 + 0 + 4096);
	ck_assert_int_eq(rep.missing, 0);
	for (int i = 0; i < 4; i++)
		assert_same(keys[i]);
	{
		char *p = xasprintf("%s/images/ee/eeee5555.png", root_to);

		ck_assert_int_eq(access(p, F_OK), -1);
		free(p);
	}
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM images", 0), 4);
	ck_assert_int_eq(tmp_entries(root_from), 0);
	ck_assert_int_eq(tmp_entries(root_to), 0);
	/* Again: the same bytes under the same keys. */
	ck_assert_int_eq(storecopy_run(db, &from, &to, &rep, err, sizeof(err)), 0);
	ck_assert_int_eq(rep.objects, 4);
	for (int i = 0; i < 4; i++)
		assert_same(keys[i]);
}
END_TEST

START_TEST(missing_source_stops_with_notfound_and_names_the_key)
{
	struct storecopy_report rep = {-1, -1, -1};
	char err[256] = "";

	/* Sorted, the keys are images/bb..., images/dd..., sources/aa... */
	put(root_from, keys[1], 300, 1);
	put(root_from, keys[0], 200, 2);
	add_row(keys[0], keys[1]);
	add_row(NULL, keys[3]); /* images/dd/...: no such file */
	ck_assert_int_eq(storecopy_run(db, &from, &to, &rep, err, sizeof(err)), IA_ERR_NOTFOUND);
	ck_assert_int_eq(rep.missing, 1);
	ck_assert_int_eq(rep.objects, 1); /* images/bb went before it */
	ck_assert_int_eq(rep.bytes, 300);
	ck_assert_msg(strstr(err, keys[3]) != NULL, "err: %s", err);
	assert_same(keys[1]);
	ck_assert_int_eq(tmp_entries(root_from), 0);
}
END_TEST

START_TEST(no_rows_copy_nothing)
{
	struct storecopy_report rep = {-1, -1, -1};
	char err[64] = "";

	put(root_from, keys[0], 10, 1);
	ck_assert_int_eq(storecopy_run(db, &from, &to, &rep, err, sizeof(err)), 0);
	ck_assert_int_eq(rep.objects, 0);
	ck_assert_int_eq(rep.bytes, 0);
	ck_assert_int_eq(rep.missing, 0);
	ck_assert_int_eq(storecopy_run(db, &from, &to, NULL, err, sizeof(err)), 0);
}
END_TEST

static Suite *storecopy_suite(void)
{
	Suite *s = suite_create("storecopy");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, every_key_a_row_names_arrives_with_the_same_bytes);
	tcase_add_test(tc, missing_source_stops_with_notfound_and_names_the_key);
	tcase_add_test(tc, no_rows_copy_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(storecopy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
