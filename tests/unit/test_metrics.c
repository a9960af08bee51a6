/*
 * test_metrics.c - unit tests for lib/metrics.c: the shared counter file
 * (exact sums from many forked processes at once, counts that outlive the
 * process that made them), label escaping and key bounds, buckets, and
 * the text format (families, cumulative histograms, merged keys).
 */
#include "config.h"

#include "metrics.h"
#include "err.h"
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char path[256];

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(path, sizeof(path), "%s/ia-metrics-test-%ld.shm", tmp ? tmp : "/tmp",
		 (long)getpid());
	unlink(path);
	ck_assert_int_eq(metrics_open(path), 0);
}

static void teardown(void)
{
	metrics_close();
	unlink(path);
}

/* The value of series key in the host file (0 when absent). */
static uint64_t value_of(const char *key, int idx)
{
	struct metrics_set set;
	uint64_t v = 0;

	metrics_set_init(&set);
	metrics_snapshot(&set);
	for (size_t i = 0; i < set.n; i++)
		if (strcmp(set.items[i].key, key) == 0)
			v += set.items[i].values[idx];
	metrics_set_cleanup(&set);
	return v;
}

/* The rendered text of the host file (heap). */
static char *render_file(void)
{
	struct metrics_set set;
	size_t len;
	char *text;

	metrics_set_init(&set);
	metrics_snapshot(&set);
	text = metrics_render(&set, &len);
	ck_assert_uint_eq(strlen(text), len);
	metrics_set_cleanup(&set);
	return text;
}

#define PROCS 8
#define ADDS  20000

START_TEST(test_forked_processes_add_up_exactly)
{
	pid_t pids[PROCS];
	int status;

	metrics_count("ia_test_total", 5); /* before the fork: children inherit the map */
	for (int p = 0; p < PROCS; p++) {
		pids[p] = fork();
		ck_assert_int_ge(pids[p], 0);
		if (pids[p] == 0) {
			char key[METRICS_KEY_MAX];

			/* Every child also creates new series concurrently. */
			for (int i = 0; i < ADDS; i++) {
				metrics_count("ia_test_total", 1);
				snprintf(key, sizeof(key), "ia_test_each_total{n=\"%d\"}", i % 50);
				metrics_count(key, 1);
				metrics_observe("ia_test_seconds", (i % 3) * 0.02);
			}
			_exit(0);
		}
	}
	for (int p = 0; p < PROCS; p++) {
		ck_assert_int_eq(waitpid(pids[p], &status, 0), pids[p]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	/* The children are gone; their counts are not. */
	ck_assert_uint_eq(value_of("ia_test_total", 0), 5 + (uint64_t)PROCS * ADDS);
	for (int n = 0; n < 50; n++) {
		char key[METRICS_KEY_MAX];

		snprintf(key, sizeof(key), "ia_test_each_total{n=\"%d\"}", n);
		ck_assert_uint_eq(value_of(key, 0), (uint64_t)PROCS * ADDS / 50);
	}
	/* i % 3 over 0..ADDS-1: 0 s, 0.02 s and 0.04 s in turn. */
	ck_assert_uint_eq(value_of("ia_test_seconds", metrics_bucket(0)),
			  (uint64_t)PROCS * ((ADDS + 2) / 3));
	ck_assert_uint_eq(value_of("ia_test_seconds", metrics_bucket(0.02)),
			  (uint64_t)PROCS * ((ADDS + 1) / 3));
	ck_assert_uint_eq(value_of("ia_test_seconds", metrics_bucket(0.04)),
			  (uint64_t)PROCS * (ADDS / 3));
	ck_assert_uint_eq(value_of("ia_test_seconds", METRICS_SUM_IDX),
			  (uint64_t)PROCS * ((ADDS + 1) / 3 * 20000 + ADDS / 3 * 40000));
}
END_TEST

START_TEST(test_reopen_keeps_counts)
{
	metrics_count("ia_kept_total", 7);
	metrics_close();
	metrics_count("ia_kept_total", 100); /* not open: dropped, no crash */
	ck_assert_int_eq(metrics_open(path), 0);
	metrics_count("ia_kept_total", 1);
	ck_assert_uint_eq(value_of("ia_kept_total", 0), 8);
}
END_TEST

START_TEST(test_foreign_file_is_refused)
{
	char other[300];
	FILE *f;

	snprintf(other, sizeof(other), "%s.other", path);
	f = fopen(other, "w");
	ck_assert_ptr_nonnull(f);
	fputs("not a counter file, but long enough to have a magic number", f);
	fclose(f);
	metrics_close();
	ck_assert_int_eq(metrics_open(other), IA_ERR_IO);
	metrics_count("ia_x_total", 1); /* counts nothing */
	unlink(other);
	ck_assert_int_eq(metrics_open(path), 0);
}
END_TEST

START_TEST(test_label_escaping)
{
	char key[METRICS_KEY_MAX];
	const char *labels[] = {"service", "a\"b\\c\nd", "engine", "local", NULL};

	ck_assert_int_eq(metrics_key(key, "ia_jobs_total", labels), 0);
	ck_assert_str_eq(key, "ia_jobs_total{service=\"a\\\"b\\\\c\\nd\",engine=\"local\"}");
	ck_assert_int_eq(metrics_key(key, "ia_plain_total", NULL), 0);
	ck_assert_str_eq(key, "ia_plain_total");
}
END_TEST

START_TEST(test_key_too_long_is_refused)
{
	char key[METRICS_KEY_MAX], value[METRICS_KEY_MAX];
	const char *labels[] = {"v", value, NULL};

	memset(value, 'x', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	ck_assert_int_eq(metrics_key(key, "ia_long_total", labels), IA_ERR_TOOBIG);
	ck_assert_str_eq(key, "");
	value[METRICS_KEY_MAX - 1 - strlen("ia_long_total{v=\"\"}")] = '\0';
	ck_assert_int_eq(metrics_key(key, "ia_long_total", labels), 0);
	ck_assert_uint_eq(strlen(key), METRICS_KEY_MAX - 1);
}
END_TEST

START_TEST(test_buckets)
{
	ck_assert_int_eq(metrics_bucket(0), 0);
	ck_assert_int_eq(metrics_bucket(0.005), 0);
	ck_assert_int_eq(metrics_bucket(0.0051), 1);
	ck_assert_int_eq(metrics_bucket(10), 10);
	ck_assert_int_eq(metrics_bucket(300), 14);
	ck_assert_int_eq(metrics_bucket(301), METRICS_BUCKETS - 1);
	ck_assert_str_eq(metrics_bucket_le(METRICS_BUCKETS - 1), "+Inf");
	ck_assert_str_eq(metrics_bucket_le(0), "0.005");
}
END_TEST

START_TEST(test_text_format)
{
	char *text;

	metrics_request("images", 202, 0.003);
	metrics_request("images", 202, 0.2);
	metrics_request("images", 404, 12);
	metrics_request("accounts", 200, 0.001);
	metrics_restart("ia-images", "worker");
	text = render_file();
	/* One HELP and TYPE per family, series after it. */
	ck_assert_ptr_nonnull(strstr(text, "# HELP ia_http_requests_total "));
	ck_assert_ptr_nonnull(strstr(text,
				     "# TYPE ia_http_requests_total counter\n"
				     "ia_http_requests_total{group=\"accounts\",status="
				     "\"200\"} 1\n"
				     "ia_http_requests_total{group=\"images\",status=\"202\"} "
				     "2\n"
				     "ia_http_requests_total{group=\"images\",status=\"404\"} "
				     "1\n"));
	ck_assert_ptr_null(strstr(strstr(text, "# TYPE ia_http_requests_total") + 1,
				  "# TYPE ia_http_requests_total"));
	/* Histograms: cumulative buckets, +Inf = count, sum in seconds. */
	ck_assert_ptr_nonnull(strstr(text, "# TYPE ia_http_request_duration_seconds histogram\n"));
	ck_assert_ptr_nonnull(strstr(
	    text, "ia_http_request_duration_seconds_bucket{group=\"images\",le=\"0.005\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(
	    text, "ia_http_request_duration_seconds_bucket{group=\"images\",le=\"0.25\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(
	    text, "ia_http_request_duration_seconds_bucket{group=\"images\",le=\"10\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(
	    text, "ia_http_request_duration_seconds_bucket{group=\"images\",le=\"30\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(
	    text, "ia_http_request_duration_seconds_bucket{group=\"images\",le=\"+Inf\"} 3\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "ia_http_request_duration_seconds_sum{group=\"images\"} 12.203000\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "ia_http_request_duration_seconds_count{group=\"images\"} 3\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "ia_process_restarts_total{program=\"ia-images\",level=\"worker\"} 1\n"));
	ck_assert(text[strlen(text) - 1] == '\n');
	free(text);
}
END_TEST

START_TEST(test_render_merges_sources)
{
	struct metrics_set set;
	uint64_t h[METRICS_VALUES] = {0};
	size_t len;
	char *text;

	h[0] = 2;
	h[METRICS_SUM_IDX] = 1500000; /* 1.5 s */
	metrics_set_init(&set);
	metrics_set_add(&set, "ia_b_total", METRICS_COUNTER, NULL, 3);
	metrics_set_add(&set, "ia_a", METRICS_GAUGE, NULL, (uint64_t)-4);
	metrics_set_add(&set, "ia_b_total", METRICS_COUNTER, NULL, 4); /* the same key again */
	metrics_set_add(&set, "ia_h_seconds", METRICS_HISTOGRAM, h, 0);
	text = metrics_render(&set, &len);
	ck_assert_str_eq(text, "# HELP ia_a Image Assistant metric.\n"
			       "# TYPE ia_a gauge\n"
			       "ia_a -4\n"
			       "# HELP ia_b_total Image Assistant metric.\n"
			       "# TYPE ia_b_total counter\n"
			       "ia_b_total 7\n"
			       "# HELP ia_h_seconds Image Assistant metric.\n"
			       "# TYPE ia_h_seconds histogram\n"
			       "ia_h_seconds_bucket{le=\"0.005\"} 2\n"
			       "ia_h_seconds_bucket{le=\"0.01\"} 2\n"
			       "ia_h_seconds_bucket{le=\"0.025\"} 2\n"
			       "ia_h_seconds_bucket{le=\"0.05\"} 2\n"
			       "ia_h_seconds_bucket{le=\"0.1\"} 2\n"
			       "ia_h_seconds_bucket{le=\"0.25\"} 2\n"
			       "ia_h_seconds_bucket{le=\"0.5\"} 2\n"
			       "ia_h_seconds_bucket{le=\"1\"} 2\n"
			       "ia_h_seconds_bucket{le=\"2.5\"} 2\n"
			       "ia_h_seconds_bucket{le=\"5\"} 2\n"
			       "ia_h_seconds_bucket{le=\"10\"} 2\n"
			       "ia_h_seconds_bucket{le=\"30\"} 2\n"
			       "ia_h_seconds_bucket{le=\"60\"} 2\n"
			       "ia_h_seconds_bucket{le=\"120\"} 2\n"
			       "ia_h_seconds_bucket{le=\"300\"} 2\n"
			       "ia_h_seconds_bucket{le=\"+Inf\"} 2\n"
			       "ia_h_seconds_sum 1.500000\n"
			       "ia_h_seconds_count 2\n");
	free(text);
	metrics_set_cleanup(&set);
}
END_TEST

START_TEST(test_outcome_labels)
{
	ck_assert_str_eq(metrics_outcome(0), "error");
	ck_assert_str_eq(metrics_outcome(200), "2xx");
	ck_assert_str_eq(metrics_outcome(402), "4xx");
	ck_assert_str_eq(metrics_outcome(429), "429");
	ck_assert_str_eq(metrics_outcome(503), "5xx");
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_forked_processes_add_up_exactly);
	tcase_add_test(tc, test_reopen_keeps_counts);
	tcase_add_test(tc, test_foreign_file_is_refused);
	tcase_add_test(tc, test_label_escaping);
	tcase_add_test(tc, test_key_too_long_is_refused);
	tcase_add_test(tc, test_buckets);
	tcase_add_test(tc, test_text_format);
	tcase_add_test(tc, test_render_merges_sources);
	tcase_add_test(tc, test_outcome_labels);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
