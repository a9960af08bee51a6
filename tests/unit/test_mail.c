/*
 * test_mail.c - unit tests for lib/mail.c's file transport: one complete
 * message per .eml file with the expected headers and CRLF line ends, the
 * directory created 0700, header injection refused, SMTP not yet there.
 */
#include "config.h"

#include "err.h"
#include "mail.h"
#include "settings.h"
#include "util.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];
static struct settings s;

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/ia-mailtest-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	memset(&s, 0, sizeof(s));
	s.mail_transport = xstrdup("file");
	s.mail_dir = xasprintf("%s/var/mail", root);
	s.default_from_email = xstrdup("Image Assistant <noreply@ia.example>");
}

static void teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", root);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(s.mail_transport);
	free(s.mail_dir);
	free(s.default_from_email);
}

/* Names of the entries in MAIL_DIR, one per line, into buf; returns the count. */
static int list_dir(char *buf, size_t size)
{
	DIR *d = opendir(s.mail_dir);
	struct dirent *de;
	int n = 0;

	buf[0] = '\0';
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(buf);

		if (de->d_name[0] == '.')
			continue;
		snprintf(buf + len, size - len, "%s\n", de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/* The single message in MAIL_DIR (heap). */
static char *read_only_message(void)
{
	char names[1024], *path, *text;
	FILE *f;
	long len;

	ck_assert_int_eq(list_dir(names, sizeof(names)), 1);
	names[strcspn(names, "\n")] = '\0';
	path = xasprintf("%s/%s", s.mail_dir, names);
	f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = xmalloc((size_t)len + 1);
	ck_assert_uint_eq(fread(text, 1, (size_t)len, f), (size_t)len);
	text[len] = '\0';
	fclose(f);
	free(path);
	return text;
}

START_TEST(test_file_message)
{
	char names[1024];
	struct stat st;
	char *m;
	size_t digits;

	ck_assert_int_eq(
	    mail_send(&s, "user@example.com", "Reset your password", "Hello,\nclick the link.\n"),
	    0);
	ck_assert_int_eq(stat(s.mail_dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(list_dir(names, sizeof(names)), 1);
	/* <unix>-<16 hex>.eml */
	digits = strspn(names, "0123456789");
	ck_assert_uint_ge(digits, 10);
	ck_assert_int_eq(names[digits], '-');
	ck_assert_uint_eq(strspn(names + digits + 1, "0123456789abcdef"), 16);
	ck_assert_str_eq(names + digits + 17, ".eml\n");
	m = read_only_message();
	ck_assert_str_eq(strstr(m, "From: "), m);
	ck_assert_ptr_nonnull(strstr(m, "From: Image Assistant <noreply@ia.example>\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "\r\nTo: user@example.com\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "\r\nSubject: Reset your password\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "\r\nDate: "));
	ck_assert_ptr_nonnull(strstr(m, " +0000\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "\r\nMessage-ID: <"));
	ck_assert_ptr_nonnull(strstr(m, "@ia.example>\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "\r\nMIME-Version: 1.0\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "\r\nContent-Transfer-Encoding: 8bit\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "\r\n\r\nHello,\r\nclick the link.\r\n"));
	ck_assert_ptr_null(strstr(m, "link.\r\n\r\n"));
	free(m);
}
END_TEST

START_TEST(test_injection_refused)
{
	char names[256];

	ck_assert_int_eq(mail_send(&s, "user@example.com", "Hi\r\nBcc: victim@example.com", "b"),
			 IA_ERR_INVAL);
	ck_assert_int_eq(mail_send(&s, "user@example.com", "Hi\nBcc: x@example.com", "b"),
			 IA_ERR_INVAL);
	ck_assert_int_eq(mail_send(&s, "user@example.com\r\nBcc: x@example.com", "Hi", "b"),
			 IA_ERR_INVAL);
	ck_assert_int_eq(mail_send(&s, NULL, "Hi", "b"), IA_ERR_INVAL);
	ck_assert_int_eq(mail_send(&s, "user@example.com", "Hi", NULL), IA_ERR_INVAL);
	/* nothing was written, not even the directory */
	ck_assert_int_eq(list_dir(names, sizeof(names)), -1);
}
END_TEST

START_TEST(test_utf8_subject_encoded)
{
	char *m;

	ck_assert_int_eq(mail_send(&s, "u@example.com",
				   "Passwort zur\xc3\xbc"
				   "cksetzen",
				   "Gr\xc3\xbc\xc3\x9f"
				   "e"),
			 0);
	m = read_only_message();
	/* base64("Passwort zurücksetzen") */
	ck_assert_ptr_nonnull(
	    strstr(m, "\r\nSubject: =?UTF-8?B?UGFzc3dvcnQgenVyw7xja3NldHplbg==?=\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "\r\n\r\nGr\xc3\xbc\xc3\x9f"
					"e\r\n"));
	free(m);
}
END_TEST

START_TEST(test_two_messages_two_files)
{
	char names[1024];

	ck_assert_int_eq(mail_send(&s, "a@example.com", "one", "1"), 0);
	ck_assert_int_eq(mail_send(&s, "a@example.com", "two", "2"), 0);
	ck_assert_int_eq(list_dir(names, sizeof(names)), 2);
	ck_assert_ptr_null(strstr(names, ".tmp"));
}
END_TEST

START_TEST(test_smtp_unavailable)
{
	free(s.mail_transport);
	s.mail_transport = xstrdup("smtp");
	ck_assert_int_eq(mail_send(&s, "a@example.com", "x", "y"), IA_ERR_UNAVAILABLE);
}
END_TEST

static Suite *mail_suite(void)
{
	Suite *su = suite_create("mail");
	TCase *tc = tcase_create("file");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_file_message);
	tcase_add_test(tc, test_injection_refused);
	tcase_add_test(tc, test_utf8_subject_encoded);
	tcase_add_test(tc, test_two_messages_two_files);
	tcase_add_test(tc, test_smtp_unavailable);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	SRunner *sr = srunner_create(mail_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
