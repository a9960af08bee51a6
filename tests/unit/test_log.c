/*
 * test_log.c - unit tests for lib/log.c with stderr redirected to a file:
 * a record is "<ISO 8601 UTC> <level> <program>[<pid>]: <message>\n" with
 * the time of the call, the level of the function called and the name
 * given to log_init ("ia" before it); a message longer than the record
 * buffer is cut, still one line; records of several processes logging at
 * once into one file never interleave (one write per record).
 *
 * log.c has no redaction: "never secrets" (log.h) is a rule for callers,
 * so there is nothing of it to test here.
 */
#include "config.h"

#include "log.h"
#include "util.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char path[64];
static int saved_stderr = -1;

/* Point fd 2 at a fresh file (O_APPEND, as the stack's logs are). */
static void setup(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_log.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	fd = open(path, O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

static void teardown(void)
{
	dup2(saved_stderr, 2);
	close(saved_stderr);
	unlink(path);
}

/* What the records wrote so far (heap, caller frees). */
static char *written(void)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 24, n;
	char *buf = xmalloc(cap + 1);

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, cap, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Check one record line (without its newline) and return its message. */
static const char *parse_record(const char *line, const char *level, const char *prog, long pid)
{
	char want[128];
	struct tm tm;
	time_t t;
	const char *p;

	memset(&tm, 0, sizeof(tm));
	p = strptime(line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
	ck_assert_msg(p != NULL, "no timestamp: %s", line);
	t = timegm(&tm);
	/* the time of the call, give or take a slow (sanitizer) run */
	ck_assert_msg(t <= time(NULL) && time(NULL) - t <= 60, "timestamp off: %s", line);
	snprintf(want, sizeof(want), "%s %s[%ld]: ", level, prog, pid);
	ck_assert_msg(strncmp(p, want, strlen(want)) == 0, "want \"%s\" in %s", want, line);
	return p + strlen(want);
}

START_TEST(record_has_time_level_program_pid_and_message)
{
	char *out, *nl;

	log_init("ia-test");
	log_info("hello %d %s", 42, "world");
	out = written();
	nl = strchr(out, '\n');
	ck_assert_ptr_nonnull(nl);
	ck_assert_ptr_eq(nl + 1, out + strlen(out)); /* exactly one line */
	*nl = '\0';
	ck_assert_str_eq(parse_record(out, "info", "ia-test", (long)getpid()), "hello 42 world");
	free(out);
}
END_TEST

START_TEST(each_function_writes_its_level)
{
	char *out, *line, *save = NULL;
	static const char *const levels[] = {"info", "warn", "error"};
	int i = 0;

	log_init("lv");
	log_info("a");
	log_warn("b");
	log_error("c");
	out = written();
	for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		const char *msg;

		ck_assert_int_lt(i, 3);
		msg = parse_record(line, levels[i], "lv", (long)getpid());
		ck_assert_int_eq(msg[0], 'a' + i);
		ck_assert_int_eq(msg[1], '\0');
		i++;
	}
	ck_assert_int_eq(i, 3);
	free(out);
}
END_TEST

START_TEST(program_is_ia_until_log_init)
{
	char *out;

	log_warn("before");
	out = written();
	out[strlen(out) - 1] = '\0';
	ck_assert_str_eq(parse_record(out, "warn", "ia", (long)getpid()), "before");
	free(out);
}
END_TEST

START_TEST(long_message_is_cut_and_stays_one_line)
{
	char *big = xmalloc(5001), *out;
	const char *msg;

	memset(big, 'm', 5000);
	big[5000] = '\0';
	log_init("cut");
	log_error("%s", big);
	out = written();
	ck_assert_int_eq(out[strlen(out) - 1], '\n');
	out[strlen(out) - 1] = '\0';
	ck_assert_ptr_null(strchr(out, '\n'));
	msg = parse_record(out, "error", "cut", (long)getpid());
	ck_assert_uint_eq(strlen(msg), 1023); /* the 1024-byte buffer */
	ck_assert_int_eq(strspn(msg, "m"), 1023);
	free(out);
	free(big);
}
END_TEST

#define WRITERS 4
#define RECORDS 3000

/* Four processes log long records into one file at once: every line is a
 * whole record of one writer, and none is lost. */
START_TEST(records_of_concurrent_processes_never_interleave)
{
	char body[901], *out, *line, *save = NULL;
	int counts[WRITERS] = {0}, status, lines = 0;
	pid_t pids[WRITERS];

	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		ck_assert_int_ge(pids[w], 0);
		if (pids[w] == 0) {
			memset(body, 'a' + w, 900);
			body[900] = '\0';
			log_init("conc");
			for (int i = 0; i < RECORDS; i++)
				log_info("%d %s", w, body);
			_exit(0);
		}
	}
	for (int w = 0; w < WRITERS; w++) {
		ck_assert_int_eq(waitpid(pids[w], &status, 0), pids[w]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	out = written();
	for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		const char *msg = strstr(line, "]: ");
		int w;

		ck_assert_msg(msg != NULL, "line %d: %.80s", lines, line);
		msg += 3;
		w = msg[0] - '0';
		ck_assert_msg(w >= 0 && w < WRITERS && msg[1] == ' ', "line %d: %.80s", lines,
			      line);
		parse_record(line, "info", "conc", (long)pids[w]);
		ck_assert_uint_eq(strlen(msg + 2), 900);
		ck_assert_uint_eq(strspn(msg + 2, (char[]){(char)('a' + w), '\0'}), 900);
		counts[w]++;
		lines++;
	}
	for (int w = 0; w < WRITERS; w++)
		ck_assert_int_eq(counts[w], RECORDS);
	free(out);
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, record_has_time_level_program_pid_and_message);
	tcase_add_test(tc, each_function_writes_its_level);
	tcase_add_test(tc, program_is_ia_until_log_init);
	tcase_add_test(tc, long_message_is_cut_and_stays_one_line);
	tcase_add_test(tc, records_of_concurrent_processes_never_interleave);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
