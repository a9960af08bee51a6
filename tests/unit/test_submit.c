/*
 * test_submit.c - unit tests for lib/submit.c on a real migrated database
 * and a temp MEDIA_ROOT: an accepted job (a prompt, or an uploaded PNG) is
 * charged once and writes one ledger row; insufficient credits (402), too
 * many active jobs (429) and bad parameters (400) change nothing: no row,
 * no charge, no stored file.
 */
#include "config.h"

#include "db.h"
#include "err.h"
#include "settings.h"
#include "submit.h"
#include "testdb.h"
#include "users.h"
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#define BOUNDARY "XyZzYboundary"

static struct db *db;
static struct settings st;
static char *root;
static int64_t uid;

static void setup(void)
{
	db = testdb_open();
	uid = testdb_user(db, "submit@example.com", 100);
	root = testdb_tmpdir("submit");
	memset(&st, 0, sizeof(st));
	st.media_root = root;
	st.stability_ai_key = (char *)"";
	st.local_generator = true;
	st.max_active_jobs_per_user = 2;
}

static void teardown(void)
{
	testdb_rmtree(root);
	testdb_close(db);
	db = NULL;
}

static int64_t balance(void)
{
	return testdb_int(db, "SELECT credits FROM users WHERE id = ?", uid);
}

static int64_t rows(const char *sql)
{
	return testdb_int(db, sql, uid);
}

/* Files under MEDIA_ROOT/sources. */
static int64_t sources(void)
{
	char *cmd = xasprintf("find '%s/sources' -type f 2>/dev/null | wc -l", root);
	FILE *p = popen(cmd, "r");
	long n = -1;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(fscanf(p, "%ld", &n), 1);
	pclose(p);
	free(cmd);
	return n;
}

/* submit_generate with the JSON text body; the reply's status. */
static int generate(const char *json, char **detail)
{
	struct submit_reply r;
	cJSON *body = cJSON_Parse(json);
	int status;

	ck_assert_ptr_nonnull(body);
	submit_generate(db, &st, uid, body, &r);
	status = r.status;
	if (detail != NULL)
		*detail = cJSON_PrintUnformatted(r.body);
	cJSON_Delete(r.body);
	cJSON_Delete(body);
	return status;
}

START_TEST(test_accepted_job_charges_once)
{
	char *d = NULL;
	int64_t id;

	ck_assert_int_eq(generate("{\"prompt\":\"a red fox\"}", &d), 202);
	id = testdb_int(db, "SELECT max(id) FROM images WHERE user_id = ?", uid);
	ck_assert_int_gt(id, 0);
	ck_assert_int_eq(balance(), 100 - 9); /* generate costs 9 */
	ck_assert_int_eq(testdb_int(db,
				    "SELECT count(*) FROM credit_ledger WHERE image_id = ? AND "
				    "reason = 'charge' AND delta = -9 AND balance_after = 91",
				    id),
			 1);
	ck_assert_int_eq(testdb_user_ledger(db, uid, NULL), 2); /* signup + charge */
	ck_assert_int_eq(testdb_int(db,
				    "SELECT count(*) FROM images WHERE id = ? AND status = "
				    "'pending' AND cost = 9 AND prompt = 'a red fox'",
				    id),
			 1);
	free(d);
}
END_TEST

START_TEST(test_insufficient_credits_changes_nothing)
{
	char *d = NULL;

	ck_assert_int_eq(db_exec(db, "UPDATE users SET credits = 8"), 0);
	ck_assert_int_eq(generate("{\"prompt\":\"a red fox\"}", &d), 402);
	ck_assert_str_eq(d, "{\"detail\":\"Insufficient credits.\"}");
	ck_assert_int_eq(balance(), 8);
	ck_assert_int_eq(rows("SELECT count(*) FROM images WHERE user_id = ?"), 0);
	ck_assert_int_eq(testdb_user_ledger(db, uid, "charge"), 0);
	free(d);
}
END_TEST

START_TEST(test_too_many_active_jobs)
{
	char *d = NULL;

	ck_assert_int_eq(generate("{\"prompt\":\"one\"}", NULL), 202);
	ck_assert_int_eq(generate("{\"prompt\":\"two\"}", NULL), 202);
	ck_assert_int_eq(generate("{\"prompt\":\"three\"}", &d), 429);
	ck_assert_str_eq(d, "{\"detail\":\"Too many images in progress.\"}");
	ck_assert_int_eq(balance(), 100 - 18);
	ck_assert_int_eq(rows("SELECT count(*) FROM images WHERE user_id = ?"), 2);
	free(d);
}
END_TEST

START_TEST(test_bad_params_change_nothing)
{
	static const char *const bad[] = {
	    "{}",
	    "{\"prompt\":\"\"}",
	    "{\"prompt\":\"x\",\"seed\":\"seven\"}",
	    "{\"prompt\":\"x\",\"seed\":1e300}",
	    "{\"prompt\":\"x\",\"aspect_ratio\":\"7:3\"}",
	};
	char *d = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(generate(bad[i], &d) == 400, "%s -> %s", bad[i], d);
		free(d);
	}
	ck_assert_int_eq(balance(), 100);
	ck_assert_int_eq(rows("SELECT count(*) FROM images WHERE user_id = ?"), 0);
}
END_TEST

/* --- uploads ------------------------------------------------------------- */

struct body_reader {
	const char *data;
	size_t len, off;
};

static long read_body(void *ctx, char *buf, size_t len)
{
	struct body_reader *b = ctx;
	size_t n = b->len - b->off < len ? b->len - b->off : len;

	memcpy(buf, b->data + b->off, n);
	b->off += n;
	return (long)n;
}

/* A multipart body with the image part (file name, bytes) and one field. */
static char *multipart(const char *file_name, const char *data, size_t len, const char *field,
		       const char *value, size_t *out_len)
{
	char *head =
	    xasprintf("--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n"
		      "%s\r\n--" BOUNDARY "\r\nContent-Disposition: form-data; "
		      "name=\"image\"; filename=\"%s\"\r\nContent-Type: image/png\r\n\r\n",
		      field, value, file_name);
	const char *tail = "\r\n--" BOUNDARY "--\r\n";
	size_t hl = strlen(head), tl = strlen(tail);
	char *b = xmalloc(hl + len + tl);

	memcpy(b, head, hl);
	memcpy(b + hl, data, len);
	memcpy(b + hl + len, tail, tl);
	*out_len = hl + len + tl;
	free(head);
	return b;
}

static int upload(const char *slug, const char *file_name, const char *data, size_t len,
		  const char *field, const char *value)
{
	struct body_reader br = {0};
	struct submit_upload_req req = {0};
	struct submit_reply r;

	br.data = multipart(file_name, data, len, field, value, &br.len);
	req.user_id = uid;
	req.slug = slug;
	req.content_type = "multipart/form-data; boundary=" BOUNDARY;
	req.content_length = (int64_t)br.len;
	req.read = read_body;
	req.read_ctx = &br;
	submit_upload(db, &st, &req, &r);
	cJSON_Delete(r.body);
	free((char *)br.data);
	return r.status;
}

START_TEST(test_upload_png_accepted)
{
	ck_assert_int_eq(
	    upload("greyscale", "dot.png", testdb_png1x1, testdb_png1x1_len, "note", "x"), 202);
	ck_assert_int_eq(balance(), 99); /* greyscale costs 1 */
	ck_assert_int_eq(sources(), 1);
	ck_assert_int_eq(
	    rows("SELECT count(*) FROM images WHERE user_id = ? AND status = 'pending' "
		 "AND original_name = 'dot.png' AND source_key LIKE 'sources/%'"),
	    1);
}
END_TEST

START_TEST(test_upload_rejected_leaves_nothing)
{
	/* not an image; the wrong extension; a bad parameter of resize */
	ck_assert_int_eq(upload("greyscale", "dot.png", "plain text", 10, "note", "x"), 400);
	ck_assert_int_eq(
	    upload("greyscale", "dot.jpg", testdb_png1x1, testdb_png1x1_len, "note", "x"), 400);
	ck_assert_int_eq(
	    upload("resize", "dot.png", testdb_png1x1, testdb_png1x1_len, "width", "-5"), 400);
	ck_assert_int_eq(
	    upload("no-such-service", "dot.png", testdb_png1x1, testdb_png1x1_len, "note", "x"),
	    404);
	ck_assert_int_eq(balance(), 100);
	ck_assert_int_eq(sources(), 0);
	ck_assert_int_eq(rows("SELECT count(*) FROM images WHERE user_id = ?"), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("submit");
	TCase *tc = tcase_create("generate");
	TCase *up = tcase_create("upload");
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_accepted_job_charges_once);
	tcase_add_test(tc, test_insufficient_credits_changes_nothing);
	tcase_add_test(tc, test_too_many_active_jobs);
	tcase_add_test(tc, test_bad_params_change_nothing);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(up, setup, teardown);
	tcase_set_timeout(up, 60);
	tcase_add_test(up, test_upload_png_accepted);
	tcase_add_test(up, test_upload_rejected_leaves_nothing);
	suite_add_tcase(s, up);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
