/*
 * test_privdrop.c - unit tests for lib/privdrop.c. Every call runs in a
 * forked child that reports what it became through its exit status, so
 * the test process itself never changes identity. As root: a file of
 * another user (made with chown to ids no account needs) makes the
 * process that user and group for good (real, effective and saved ids,
 * no supplementary groups, root not regained); a root-owned file, a
 * missing path and NULL change nothing; a root without CAP_SETGID cannot
 * switch and gets IA_ERR_IO. Not root: nothing changes. (The root cases
 * are skipped, with a message, when the tests do not run as root.)
 */
#include "config.h"

#include "err.h"
#include "privdrop.h"

#include <check.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define OWNER_UID 4242
#define OWNER_GID 4343

static char path[64];

static void setup(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_privdrop.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

static void teardown(void)
{
	unlink(path);
}

/* Child exit codes: what the process is after privdrop_to_owner. */
enum outcome {
	STILL_ROOT = 10,   /* returned 0, ids unchanged */
	BECAME_OWNER = 11, /* returned 0, every id the owner's, root gone */
	FAILED_ROOT = 12,  /* returned IA_ERR_IO and is still root */
	UNCHANGED = 13,    /* not root before, 0 returned, same ids after */
	OTHER = 20,
};

static int become_owner_checked(int rc)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (rc != 0 || getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0)
		return OTHER;
	if (r != OWNER_UID || e != OWNER_UID || s != OWNER_UID)
		return OTHER;
	if (rg != OWNER_GID || eg != OWNER_GID || sg != OWNER_GID)
		return OTHER;
	if (getgroups(0, NULL) != 0 || setuid(0) == 0 || seteuid(0) == 0)
		return OTHER;
	return BECAME_OWNER;
}

static int still_root(int rc, int want_rc, int outcome)
{
	if (rc == want_rc && getuid() == 0 && geteuid() == 0 && getgid() == 0)
		return outcome;
	return OTHER;
}

/* Drop CAP_SETGID and CAP_SETUID from the effective set (still uid 0). */
static int drop_setid_caps(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) != 0)
		return -1;
	d[0].effective &= ~((1u << CAP_SETGID) | (1u << CAP_SETUID));
	return (int)syscall(SYS_capset, &h, d);
}

enum scenario { OWN_FILE, ROOT_FILE, MISSING, NULL_PATH, NO_CAPS, NOT_ROOT };

static int run(enum scenario sc)
{
	int status, rc;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		switch (sc) {
		case OWN_FILE: {
			/* Supplementary groups root may hold (disk, adm) must go too. */
			static const gid_t extra[] = {0, 4, 6};

			if (setgroups(3, extra) != 0)
				_exit(OTHER + 4);
			_exit(become_owner_checked(privdrop_to_owner(path)));
		}
		case ROOT_FILE: _exit(still_root(privdrop_to_owner(path), 0, STILL_ROOT));
		case MISSING:
			_exit(still_root(privdrop_to_owner("/nonexistent/ia.sqlite3"), 0,
					 STILL_ROOT));
		case NULL_PATH: _exit(still_root(privdrop_to_owner(NULL), 0, STILL_ROOT));
		case NO_CAPS:
			if (drop_setid_caps() != 0)
				_exit(OTHER + 1);
			_exit(still_root(privdrop_to_owner(path), IA_ERR_IO, FAILED_ROOT));
		case NOT_ROOT:
			/* Become some other user first, as a service user would be. */
			if (geteuid() == 0 &&
			    (setgroups(0, NULL) != 0 || setgid(5151) != 0 || setuid(5151) != 0))
				_exit(OTHER + 2);
			{
				uid_t before = geteuid();

				rc = privdrop_to_owner(path);
				_exit(rc == 0 && geteuid() == before ? UNCHANGED : OTHER);
			}
		}
		_exit(OTHER + 3);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "child status %d", status);
	return WEXITSTATUS(status);
}

#define NEED_ROOT()                                                                                \
	do {                                                                                       \
		if (geteuid() != 0) {                                                              \
			fprintf(stderr, "%s: skipped, not root\n", __func__);                      \
			return;                                                                    \
		}                                                                                  \
	} while (0)

START_TEST(root_becomes_the_owner_of_the_file_for_good)
{
	NEED_ROOT();
	ck_assert_int_eq(chown(path, OWNER_UID, OWNER_GID), 0);
	ck_assert_int_eq(run(OWN_FILE), BECAME_OWNER);
}
END_TEST

START_TEST(root_stays_root_for_a_root_owned_missing_or_null_path)
{
	NEED_ROOT();
	ck_assert_int_eq(chown(path, 0, 0), 0);
	ck_assert_int_eq(run(ROOT_FILE), STILL_ROOT);
	ck_assert_int_eq(run(MISSING), STILL_ROOT);
	ck_assert_int_eq(run(NULL_PATH), STILL_ROOT);
}
END_TEST

START_TEST(failed_switch_is_an_error_and_leaves_root)
{
	NEED_ROOT();
	ck_assert_int_eq(chown(path, OWNER_UID, OWNER_GID), 0);
	ck_assert_int_eq(run(NO_CAPS), FAILED_ROOT);
}
END_TEST

START_TEST(not_root_changes_nothing)
{
	if (geteuid() == 0)
		ck_assert_int_eq(chown(path, OWNER_UID, OWNER_GID), 0);
	ck_assert_int_eq(run(NOT_ROOT), UNCHANGED);
}
END_TEST

static Suite *privdrop_suite(void)
{
	Suite *s = suite_create("privdrop");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, root_becomes_the_owner_of_the_file_for_good);
	tcase_add_test(tc, root_stays_root_for_a_root_owned_missing_or_null_path);
	tcase_add_test(tc, failed_switch_is_an_error_and_leaves_root);
	tcase_add_test(tc, not_root_changes_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(privdrop_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
