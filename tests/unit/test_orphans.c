/*
 * test_orphans.c - unit tests for lib/orphans.c on the local backend in a
 * temp MEDIA_ROOT against image rows of a real migrated database
 * (testdb), with file ages set by utimes: orphans_scan reports old files
 * no row names ("orphan"), rows whose file is gone ("missing"), old
 * upload and job temp files and old encoder temp files of dead processes
 * ("tmp"), and leaves young files, named files, live processes' temp
 * files and foreign names in tmp/ alone; with clean it removes exactly
 * the tmp and orphan findings (a job directory whole) and never a row;
 * orphans_sweep_tmp removes only the temp files.
 */
#include "config.h"

#include "db.h"
#include "err.h"
#include "orphans.h"
#include "settings.h"
#include "testdb.h"
#include "users.h"
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define HOUR 3600

static struct db *db;
static struct settings st;
static char *root;
static int64_t uid;
static char dead_tmp[96], live_tmp[96];

/* A pid that has just exited (and was reaped): not a running process. */
static long dead_pid(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	return (long)pid;
}

/* Set the times of root/rel (a file or a directory) to age seconds ago. */
static void age_dir(const char *rel, int64_t age)
{
	char *path = xasprintf("%s/%s", root, rel);
	struct timeval tv[2];

	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= (time_t)age;
	tv[1] = tv[0];
	ck_assert_int_eq(utimes(path, tv), 0);
	free(path);
}

/* root/rel with a few bytes, its mtime age seconds ago; dirs made. */
static void put(const char *rel, int64_t age)
{
	testdb_put(root, rel, "data", 4);
	age_dir(rel, age);
}

static void add_row(const char *source_key, const char *image_key)
{
	struct db_stmt *s;

	ck_assert_int_eq(
	    db_prepare(db,
		       "INSERT INTO images (user_id, service, status, source_key, "
		       "image_key, created, updated) VALUES (?, 'resize', 'done', ?, ?, "
		       "0, 0)",
		       &s),
	    0);
	db_bind_int64(s, 1, uid);
	db_bind_text(s, 2, source_key);
	db_bind_text(s, 3, image_key);
	ck_assert_int_eq(db_step(s), DB_DONE);
	db_reset(s);
}

/* The media tree every test starts from. */
static void setup(void)
{
	db = testdb_open();
	uid = testdb_user(db, "orphans@example.com", 0);
	root = testdb_tmpdir("orphans");
	memset(&st, 0, sizeof(st));
	st.media_root = root;
	snprintf(dead_tmp, sizeof(dead_tmp), "images/cc/cccc.png.%ld.tmp", dead_pid());
	snprintf(live_tmp, sizeof(live_tmp), "images/cc/dddd.png.%ld.tmp", (long)getpid());

	put("sources/aa/aaaa.png", 2 * HOUR);    /* named by a row */
	put("images/aa/aaaa-out.png", 2 * HOUR); /* named by a row */
	add_row("sources/aa/aaaa.png", "images/aa/aaaa-out.png");
	add_row("sources/bb/gone.png", "images/bb/gone-out.png"); /* both missing */
	put("images/ee/old-orphan.png", 2 * HOUR);
	put("sources/ee/young-orphan.png", 10);
	put(dead_tmp, 2 * HOUR);
	put(live_tmp, 0);
	put("tmp/ia-upload-Old123", 2 * HOUR);
	put("tmp/ia-upload-New456", 10);
	put("tmp/ia-job-Old789/in.png", 2 * HOUR);
	put("tmp/ia-job-Old789/out.png", 2 * HOUR);
	age_dir("tmp/ia-job-Old789", 2 * HOUR);
	put("tmp/something-else", 2 * HOUR);
}

static void teardown(void)
{
	testdb_rmtree(root);
	testdb_close(db);
}

/* Findings as "kind key" lines, in the order reported. */
static void collect(void *ud, const char *kind, const char *key)
{
	char *buf = ud;
	size_t len = strlen(buf);

	snprintf(buf + len, 4096 - len, "%s %s\n", kind, key);
}

static void assert_found(const char *got, const char *line)
{
	char *want = xasprintf("%s\n", line);

	ck_assert_msg(strstr(got, want) != NULL, "\"%s\" not in:\n%s", line, got);
	free(want);
}

static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

START_TEST(scan_reports_orphans_missing_and_stale_temp_files)
{
	struct orphans_report rep;
	char got[4096] = "", *dead = xasprintf("tmp %s", dead_tmp);

	ck_assert_int_eq(orphans_scan(db, &st, HOUR, false, collect, got, &rep), 0);
	assert_found(got, "missing images/bb/gone-out.png");
	assert_found(got, "missing sources/bb/gone.png");
	assert_found(got, "orphan images/ee/old-orphan.png");
	assert_found(got, dead);
	assert_found(got, "tmp tmp/ia-upload-Old123");
	assert_found(got, "tmp tmp/ia-job-Old789");
	ck_assert_msg(lines(got) == 6, "%s", got);
	ck_assert_int_eq(rep.missing_files, 2);
	ck_assert_int_eq(rep.orphan_files, 1);
	ck_assert_int_eq(rep.tmp_files, 3);
	ck_assert_int_eq(rep.removed, 0);
	/* Reporting removes nothing. */
	ck_assert(testdb_exists(root, "images/ee/old-orphan.png") && testdb_exists(root, dead_tmp));
	ck_assert(testdb_exists(root, "tmp/ia-upload-Old123") &&
		  testdb_exists(root, "tmp/ia-job-Old789/in.png"));
	free(dead);
}
END_TEST

START_TEST(clean_removes_exactly_the_tmp_and_orphan_findings)
{
	struct orphans_report rep;

	ck_assert_int_eq(orphans_scan(db, &st, HOUR, true, NULL, NULL, &rep), 0);
	ck_assert_int_eq(rep.removed, 4);
	ck_assert(!testdb_exists(root, "images/ee/old-orphan.png"));
	ck_assert(!testdb_exists(root, dead_tmp));
	ck_assert(!testdb_exists(root, "tmp/ia-upload-Old123"));
	ck_assert(!testdb_exists(root, "tmp/ia-job-Old789")); /* the directory, whole */
	/* Left alone: named, young, live, foreign. */
	ck_assert(testdb_exists(root, "sources/aa/aaaa.png") &&
		  testdb_exists(root, "images/aa/aaaa-out.png"));
	ck_assert(testdb_exists(root, "sources/ee/young-orphan.png"));
	ck_assert(testdb_exists(root, live_tmp));
	ck_assert(testdb_exists(root, "tmp/ia-upload-New456"));
	ck_assert(testdb_exists(root, "tmp/something-else"));
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM images", 0), 2);
	/* A second scan finds only the rows whose files are missing. */
	ck_assert_int_eq(orphans_scan(db, &st, HOUR, true, NULL, NULL, &rep), 0);
	ck_assert_int_eq(rep.removed, 0);
	ck_assert_int_eq(rep.tmp_files + rep.orphan_files, 0);
	ck_assert_int_eq(rep.missing_files, 2);
}
END_TEST

START_TEST(max_age_decides_what_is_old)
{
	struct orphans_report rep;

	/* With a 3-hour bound nothing here is old enough. */
	ck_assert_int_eq(orphans_scan(db, &st, 3 * HOUR, false, NULL, NULL, &rep), 0);
	ck_assert_int_eq(rep.tmp_files + rep.orphan_files, 0);
	ck_assert_int_eq(rep.missing_files, 2);
	/* With a 1-second bound the young orphan counts too. */
	ck_assert_int_eq(orphans_scan(db, &st, 1, false, NULL, NULL, &rep), 0);
	ck_assert_int_eq(rep.orphan_files, 2);
	ck_assert_int_eq(rep.tmp_files, 4); /* and the young upload */
}
END_TEST

START_TEST(sweep_removes_only_stale_temp_files)
{
	int removed = -1;

	ck_assert_int_eq(orphans_sweep_tmp(&st, HOUR, &removed), 0);
	ck_assert_int_eq(removed, 3);
	ck_assert(!testdb_exists(root, dead_tmp));
	ck_assert(!testdb_exists(root, "tmp/ia-upload-Old123"));
	ck_assert(!testdb_exists(root, "tmp/ia-job-Old789"));
	ck_assert(
	    testdb_exists(root, "images/ee/old-orphan.png")); /* orphans are iactl's to clean */
	ck_assert(testdb_exists(root, live_tmp) && testdb_exists(root, "tmp/ia-upload-New456"));
	ck_assert(testdb_exists(root, "tmp/something-else"));
	ck_assert_int_eq(orphans_sweep_tmp(&st, HOUR, NULL), 0);
}
END_TEST

static Suite *orphans_suite(void)
{
	Suite *s = suite_create("orphans");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, scan_reports_orphans_missing_and_stale_temp_files);
	tcase_add_test(tc, clean_removes_exactly_the_tmp_and_orphan_findings);
	tcase_add_test(tc, max_age_decides_what_is_old);
	tcase_add_test(tc, sweep_removes_only_stale_temp_files);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(orphans_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
