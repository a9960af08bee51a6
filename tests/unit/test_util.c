/*
 * test_util.c - unit tests for lib/util.c: cJSON allocates through the
 * aborting xmalloc from process start (issue 14 point 8: a refused cJSON
 * allocation ends the process with "fatal: out of memory" instead of
 * handing NULL to a caller that may not check), and JSON still parses,
 * prints and frees with those hooks; the x* allocators (zero sizes,
 * zeroing, growth, cutting, formatting, aborting); ia_parse_int64's
 * bounds and refusals; ia_iso8601; ia_random_hex's length, alphabet and
 * freshness beyond its 64-byte chunk; ia_ascii_lower; ia_write_all
 * through a pipe smaller than the buffer and onto a closed descriptor;
 * ia_sleep_ms through signals; ia_strerror's names.
 */
#include "config.h"

#include "err.h"
#include "util.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#if defined(__SANITIZE_ADDRESS__)
/* Under ASan a refused malloc must come back NULL (as without it) for
 * xmalloc to see it, instead of ASan ending the process itself. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}
#endif

/* No allocator gives this much. */
#define HUGE_SIZE (SIZE_MAX / 4)

/* Run fn in a child with stderr captured; returns its wait status and
 * copies what it wrote to stderr into err. */
static int in_child(void (*fn)(void), char *err, size_t errlen)
{
	int fds[2], status = 0;
	ssize_t n;
	size_t got = 0;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		fn();
		_exit(3); /* fn returned: nothing aborted */
	}
	close(fds[1]);
	while (got + 1 < errlen && (n = read(fds[0], err + got, errlen - 1 - got)) > 0)
		got += (size_t)n;
	err[got] = '\0';
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_aborted_out_of_memory(void (*fn)(void))
{
	char err[512];
	int status = in_child(fn, err, sizeof(err));

	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
		      "expected an abort, got status %d (stderr: %s)", status, err);
	ck_assert_msg(strstr(err, "fatal: out of memory\n") != NULL, "stderr: %s", err);
}

/* ---- cJSON through xmalloc ---- */

static void cjson_huge_malloc(void)
{
	void *p = cJSON_malloc(HUGE_SIZE);

	/* Reached only when cJSON's allocator returned: plain malloc's NULL. */
	fprintf(stderr, "cJSON_malloc returned %p\n", p);
}

START_TEST(cjson_allocations_go_through_the_aborting_allocator)
{
	/* Nothing here calls cJSON_InitHooks: util.c does at process start. */
	assert_aborted_out_of_memory(cjson_huge_malloc);
}
END_TEST

START_TEST(cjson_parses_prints_and_frees_with_the_hooks)
{
	const char *text = "{\"a\":[1,2,3],\"b\":{\"c\":\"d\"},\"e\":null}";
	cJSON *o = cJSON_Parse(text), *big = cJSON_CreateArray();
	char *out = cJSON_PrintUnformatted(o), *long_out;
	int i;

	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(out, text);
	free(out); /* xmalloc memory: free() and cJSON_free() both do */
	/* Printing grows its buffer many times (no realloc with these hooks). */
	for (i = 0; i < 5000; i++)
		cJSON_AddItemToArray(big, cJSON_CreateString("0123456789"));
	long_out = cJSON_Print(big);
	ck_assert_uint_eq(strlen(long_out), 2 + 5000 * 12 + 4999 * 2); /* [a, b, ...] */
	cJSON_free(long_out);
	cJSON_Delete(big);
	cJSON_Delete(o);
}
END_TEST

/* ---- allocators ---- */

static void xmalloc_huge(void)
{
	(void)xmalloc(HUGE_SIZE);
}

static void xrealloc_huge(void)
{
	(void)xrealloc(xmalloc(8), HUGE_SIZE);
}

static void xcalloc_huge(void)
{
	(void)xcalloc(HUGE_SIZE, 2);
}

START_TEST(allocators_abort_when_memory_is_refused)
{
	assert_aborted_out_of_memory(xmalloc_huge);
	assert_aborted_out_of_memory(xrealloc_huge);
	assert_aborted_out_of_memory(xcalloc_huge);
}
END_TEST

START_TEST(allocators_handle_zero_sizes_zeroing_and_growth)
{
	unsigned char *z = xcalloc(1000, 3), *p = xmalloc(0), *q = xcalloc(0, 0);
	char *r = xmalloc(4);

	for (int i = 0; i < 3000; i++)
		ck_assert_int_eq(z[i], 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(q);
	memcpy(r, "abc", 4);
	r = xrealloc(r, 1 << 20);
	ck_assert_str_eq(r, "abc");
	r = xrealloc(r, 0);
	ck_assert_ptr_nonnull(r);
	free(z);
	free(p);
	free(q);
	free(r);
}
END_TEST

START_TEST(strndup_cuts_and_asprintf_formats)
{
	char *a = xstrndup("abcdef", 3), *b = xstrndup("ab", 10), *c = xstrdup("");
	char *d = xasprintf("%s-%d-%05.1f", "x", -42, 3.14159), *e;
	char big[3000];

	ck_assert_str_eq(a, "abc");
	ck_assert_str_eq(b, "ab");
	ck_assert_str_eq(c, "");
	ck_assert_str_eq(d, "x--42-003.1");
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	e = xasprintf("<%s>", big);
	ck_assert_uint_eq(strlen(e), sizeof(big) + 1);
	ck_assert(e[0] == '<' && e[sizeof(big)] == '>');
	free(a);
	free(b);
	free(c);
	free(d);
	free(e);
	ia_free_secret(NULL);
	ia_free_secret(xstrdup("secret"));
}
END_TEST

/* ---- ia_parse_int64 ---- */

START_TEST(parse_int64_takes_whole_numbers_in_bounds)
{
	int64_t v = 0;

	ck_assert_int_eq(ia_parse_int64("0", 0, 10, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(ia_parse_int64("10", 0, 10, &v), 0);
	ck_assert_int_eq(v, 10);
	ck_assert_int_eq(ia_parse_int64("-5", -5, 5, &v), 0);
	ck_assert_int_eq(v, -5);
	ck_assert_int_eq(ia_parse_int64("007", 0, 10, &v), 0);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(ia_parse_int64("9223372036854775807", 0, INT64_MAX, &v), 0);
	ck_assert(v == INT64_MAX);
	ck_assert_int_eq(ia_parse_int64("-9223372036854775808", INT64_MIN, 0, &v), 0);
	ck_assert(v == INT64_MIN);
}
END_TEST

START_TEST(parse_int64_refuses_junk_and_out_of_range)
{
	static const char *const bad[] = {
	    "",
	    " 1",
	    "+1",
	    "1 ",
	    "1x",
	    "0x10",
	    "1.0",
	    "-",
	    "--1",
	    "\n1",
	    "1e3",
	    "11",
	    "-6",
	    "9223372036854775808",
	    "-9223372036854775809",
	    "99999999999999999999",
	};
	int64_t v = 1234;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(ia_parse_int64(bad[i], -5, 10, &v) == IA_ERR_INVAL, "\"%s\"", bad[i]);
	ck_assert_int_eq(ia_parse_int64(NULL, -5, 10, &v), IA_ERR_INVAL);
	ck_assert_int_eq(v, 1234); /* written only on success */
}
END_TEST

/* ---- time ---- */

START_TEST(iso8601_formats_utc)
{
	char out[21];

	ia_iso8601(0, out);
	ck_assert_str_eq(out, "1970-01-01T00:00:00Z");
	ia_iso8601(951782400, out);
	ck_assert_str_eq(out, "2000-02-29T00:00:00Z");
	ia_iso8601(1800000000, out);
	ck_assert_str_eq(out, "2027-01-15T08:00:00Z");
	ia_iso8601(4102444799, out);
	ck_assert_str_eq(out, "2099-12-31T23:59:59Z");
}
END_TEST

START_TEST(now_and_now_us_agree)
{
	int64_t s = ia_now(), us = ia_now_us();

	ck_assert(s > 1700000000);
	ck_assert(us / 1000000 - s >= 0 && us / 1000000 - s <= 1);
	ck_assert(ia_now_us() >= us);
}
END_TEST

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

START_TEST(sleep_ms_sleeps_the_whole_time_through_signals)
{
	struct sigaction sa;
	struct itimerval it = {{0, 5000}, {0, 5000}}; /* every 5 ms */
	int64_t t0, t1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART: nanosleep returns EINTR */
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	t0 = ia_now_us();
	ia_sleep_ms(120);
	t1 = ia_now_us();
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	ck_assert_int_gt(alarms, 3);
	ck_assert_msg(t1 - t0 >= 120000, "slept %lld us", (long long)(t1 - t0));
	ck_assert_msg(t1 - t0 < 2000000, "slept %lld us", (long long)(t1 - t0));
}
END_TEST

/* ---- strings ---- */

static bool is_lower_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

START_TEST(random_hex_has_the_length_and_alphabet_and_is_fresh)
{
	static const size_t sizes[] = {0, 1, 16, 64, 65, 100, 200};
	char a[402], b[402];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(a, 'X', sizeof(a));
		ia_random_hex(a, sizes[i]);
		ck_assert_uint_eq(strlen(a), 2 * sizes[i]);
		ck_assert(is_lower_hex(a));
	}
	/* 200 bytes: four chunks; a later chunk repeating the first would show. */
	ia_random_hex(a, 200);
	ia_random_hex(b, 200);
	ck_assert_str_ne(a, b);
	ck_assert(memcmp(a, a + 128, 128) != 0);
	ck_assert(memcmp(a + 128, a + 256, 128) != 0);
}
END_TEST

START_TEST(ascii_lower_touches_only_ascii_capitals)
{
	char s[] = "AbC-XYZ@[`{\xc3\x89\xc3\xa9 Q";

	ia_ascii_lower(s);
	ck_assert_str_eq(s, "abc-xyz@[`{\xc3\x89\xc3\xa9 q");
}
END_TEST

START_TEST(strerror_names_every_code)
{
	ck_assert_str_eq(ia_strerror(IA_OK), "ok");
	ck_assert_str_eq(ia_strerror(IA_ERR_INVAL), "invalid input");
	ck_assert_str_eq(ia_strerror(IA_ERR_FUNDS), "insufficient credits");
	ck_assert_str_eq(ia_strerror(IA_ERR_BUSY), "busy");
	for (int e = IA_ERR_BUSY; e <= IA_OK; e++)
		ck_assert_str_ne(ia_strerror(e), "unknown error");
	ck_assert_str_eq(ia_strerror(IA_ERR_BUSY - 1), "unknown error");
	ck_assert_str_eq(ia_strerror(1), "unknown error");
}
END_TEST

/* ---- ia_write_all ---- */

START_TEST(write_all_writes_everything_through_a_small_pipe)
{
	size_t n = 1 << 20, got = 0; /* far more than a pipe holds */
	unsigned char *buf = xmalloc(n), *back = xmalloc(n);
	int fds[2], status;
	pid_t pid;

	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(i * 7 + i / 256);
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		_exit(ia_write_all(fds[1], buf, n) == 0 ? 0 : 1);
	}
	close(fds[1]);
	while (got < n) {
		ssize_t r = read(fds[0], back + got, n - got > 999 ? 999 : n - got);

		ck_assert_int_gt(r, 0);
		got += (size_t)r;
	}
	ck_assert_int_eq(read(fds[0], back, 1), 0); /* and nothing more */
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(memcmp(buf, back, n) == 0);
	free(buf);
	free(back);
}
END_TEST

START_TEST(write_all_fails_on_a_bad_descriptor)
{
	int fds[2];

	ck_assert_int_eq(ia_write_all(-1, "x", 1), IA_ERR_IO);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(ia_write_all(-1, "x", 0), 0); /* nothing to write */
	ck_assert_int_eq(pipe(fds), 0);
	close(fds[0]);
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(ia_write_all(fds[1], "abc", 3), IA_ERR_IO);
	ck_assert_int_eq(errno, EPIPE);
	close(fds[1]);
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, cjson_allocations_go_through_the_aborting_allocator);
	tcase_add_test(tc, cjson_parses_prints_and_frees_with_the_hooks);
	tcase_add_test(tc, allocators_abort_when_memory_is_refused);
	tcase_add_test(tc, allocators_handle_zero_sizes_zeroing_and_growth);
	tcase_add_test(tc, strndup_cuts_and_asprintf_formats);
	tcase_add_test(tc, parse_int64_takes_whole_numbers_in_bounds);
	tcase_add_test(tc, parse_int64_refuses_junk_and_out_of_range);
	tcase_add_test(tc, iso8601_formats_utc);
	tcase_add_test(tc, now_and_now_us_agree);
	tcase_add_test(tc, sleep_ms_sleeps_the_whole_time_through_signals);
	tcase_add_test(tc, random_hex_has_the_length_and_alphabet_and_is_fresh);
	tcase_add_test(tc, ascii_lower_touches_only_ascii_capitals);
	tcase_add_test(tc, strerror_names_every_code);
	tcase_add_test(tc, write_all_writes_everything_through_a_small_pipe);
	tcase_add_test(tc, write_all_fails_on_a_bad_descriptor);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(util_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
