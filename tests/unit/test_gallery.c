/*
 * test_gallery.c - unit tests for lib/gallery.c: status lists (default,
 * several states, empty items, unknown and unprintable values with
 * django-filter's message), the service slug checked against the services
 * table of a real migrated database, both errors at once, and the query
 * the page links carry.
 */
#include "config.h"

#include "api.h"
#include "err.h"
#include "gallery.h"
#include "http.h"
#include "testdb.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct db *db;

static void setup(void)
{
	db = testdb_open();
}

static void teardown(void)
{
	testdb_close(db);
	db = NULL;
}

START_TEST(test_parse_status)
{
	unsigned bits = 0;
	char msg[160];

	ck_assert_int_eq(gallery_parse_status("", &bits, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(bits, JOBS_DONE | JOBS_FAILED);
	ck_assert_int_eq(gallery_parse_status("pending,processing", &bits, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(bits, JOBS_PENDING | JOBS_PROCESSING);
	ck_assert_int_eq(gallery_parse_status(",done,,done,", &bits, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(bits, JOBS_DONE);
	ck_assert_int_eq(gallery_parse_status(",,", &bits, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(bits, JOBS_PROCESSED);
	bits = 99;
	ck_assert_int_eq(gallery_parse_status("done,cancelled", &bits, msg, sizeof(msg)),
			 IA_ERR_INVAL);
	ck_assert_str_eq(msg,
			 "Select a valid choice. cancelled is not one of the available choices.");
	ck_assert_uint_eq(bits, 99); /* untouched on failure */
	ck_assert_int_eq(gallery_parse_status("Done", &bits, msg, sizeof(msg)), IA_ERR_INVAL);
	ck_assert_int_eq(gallery_parse_status("pending ", &bits, msg, sizeof(msg)), IA_ERR_INVAL);
	ck_assert_int_eq(gallery_parse_status("a\x01", &bits, msg, sizeof(msg)), IA_ERR_INVAL);
	ck_assert_str_eq(msg, "Select a valid choice. That choice is not one of the available "
			      "choices.");
	ck_assert_int_eq(gallery_parse_status("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
					      &bits, msg, sizeof(msg)),
			 IA_ERR_INVAL);
}
END_TEST

/* Read the filters of a request with query string qs. */
static int read_query(const char *qs, struct gallery_query *q, char **errors)
{
	struct http_request req;
	struct api_errors e;
	int rc;

	memset(&req, 0, sizeof(req));
	req.query = qs;
	api_errors_init(&e);
	rc = gallery_query_read(&req, db, q, &e);
	*errors = cJSON_PrintUnformatted(e.obj);
	api_errors_cleanup(&e);
	return rc;
}

START_TEST(test_query_defaults_and_links)
{
	struct gallery_query q;
	char *errors;

	ck_assert_int_eq(read_query("page=2", &q, &errors), 0);
	free(errors);
	ck_assert_uint_eq(q.filter.statuses, JOBS_PROCESSED);
	ck_assert_ptr_null(q.filter.service);
	ck_assert_str_eq(q.link, "");

	ck_assert_int_eq(
	    read_query("status=processing%2Cpending&service=resize&page=1", &q, &errors), 0);
	free(errors);
	ck_assert_uint_eq(q.filter.statuses, JOBS_PENDING | JOBS_PROCESSING);
	ck_assert_str_eq(q.filter.service, "resize");
	ck_assert_ptr_eq(q.filter.service, q.service);
	ck_assert_str_eq(q.link, "&service=resize&status=pending%2Cprocessing");

	ck_assert_int_eq(read_query("status=failed&service=", &q, &errors), 0);
	free(errors);
	ck_assert_ptr_null(q.filter.service);
	ck_assert_str_eq(q.link, "&status=failed");
}
END_TEST

START_TEST(test_query_errors)
{
	struct gallery_query q;
	char *errors;

	memset(&q, 0x5a, sizeof(q));
	ck_assert_int_eq(read_query("status=done,bogus&service=nope", &q, &errors), IA_ERR_INVAL);
	ck_assert_str_eq(errors, "{\"status\":[\"Select a valid choice. bogus is not one of the "
				 "available choices.\"],\"service\":[\"Select a valid choice. nope "
				 "is not one of the available choices.\"]}");
	free(errors);
	ck_assert_uint_eq(q.filter.statuses, 0x5a5a5a5aU); /* untouched */

	ck_assert_int_eq(
	    read_query("service=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &q, &errors),
	    IA_ERR_INVAL);
	ck_assert_str_eq(errors, "{\"service\":[\"Select a valid choice. That choice is not one of "
				 "the available choices.\"]}");
	free(errors);
}
END_TEST

static Suite *gallery_suite(void)
{
	Suite *s = suite_create("gallery");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_parse_status);
	tcase_add_test(tc, test_query_defaults_and_links);
	tcase_add_test(tc, test_query_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(gallery_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
