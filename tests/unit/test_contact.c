/*
 * test_contact.c - unit tests for lib/contact.c against a real migrated
 * database (testdb): a message is stored and its mail queued to
 * CONTACT_EMAIL with the row's number in the subject and the sender in
 * the body; line breaks in the subject become spaces (a mail header
 * stays one line) while the message keeps them; when the mail cannot be
 * queued the message is not stored either (one transaction).
 */
#include "config.h"

#include "contact.h"
#include "db.h"
#include "err.h"
#include "settings.h"
#include "testdb.h"
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct db *db;
static struct settings st;

static void setup(void)
{
	db = testdb_open();
	memset(&st, 0, sizeof(st));
	st.contact_email = "team@example.com";
}

static void teardown(void)
{
	testdb_close(db);
}

START_TEST(message_is_stored_and_its_mail_queued)
{
	struct contact_message m = {.name = "Ada Lovelace",
				    .email = "ada@example.org",
				    .subject = "Bulk pricing",
				    .message = "Hello,\nhow much for 10000 images?"};
	int64_t id = 0;
	char *v, *want;

	ck_assert_int_eq(contact_submit(db, &st, &m, &id), 0);
	ck_assert_int_gt(id, 0);
	v = testdb_text(db,
			"SELECT name || '|' || email || '|' || subject || '|' || message FROM "
			"contact_messages WHERE id = ?",
			id);
	ck_assert_str_eq(v, "Ada Lovelace|ada@example.org|Bulk pricing|Hello,\nhow much for "
			    "10000 images?");
	free(v);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM outbox", 0), 1);
	v = testdb_text(db, "SELECT kind || '|' || rcpt || '|' || state FROM outbox WHERE ? > 0",
			1);
	ck_assert_str_eq(v, "contact|team@example.com|pending");
	free(v);
	v = testdb_text(db, "SELECT subject FROM outbox WHERE ? > 0", 1);
	want = xasprintf("[Contact #%lld] Bulk pricing", (long long)id);
	ck_assert_str_eq(v, want);
	free(v);
	free(want);
	v = testdb_text(db, "SELECT body FROM outbox WHERE ? > 0", 1);
	ck_assert_str_eq(v, "From: Ada Lovelace <ada@example.org>\n\nHello,\nhow much for 10000 "
			    "images?\n");
	free(v);
}
END_TEST

START_TEST(line_breaks_in_the_subject_become_spaces)
{
	struct contact_message m = {.name = "Eve",
				    .email = "eve@example.org",
				    .subject = "Hi\r\nBcc: victim@example.com\nX",
				    .message = "two\nlines"};
	int64_t id = 0;
	char *v, *want;

	ck_assert_int_eq(contact_submit(db, &st, &m, NULL), 0);
	id = testdb_int(db, "SELECT max(id) FROM contact_messages", 0);
	v = testdb_text(db, "SELECT subject FROM outbox WHERE ? > 0", 1);
	want = xasprintf("[Contact #%lld] Hi  Bcc: victim@example.com X", (long long)id);
	ck_assert_str_eq(v, want);
	free(v);
	free(want);
	/* The stored message and the mail body keep the text as written. */
	v = testdb_text(db, "SELECT subject FROM contact_messages WHERE id = ?", id);
	ck_assert_str_eq(v, "Hi\r\nBcc: victim@example.com\nX");
	free(v);
}
END_TEST

START_TEST(no_mail_no_message)
{
	struct contact_message m = {
	    .name = "Bob", .email = "bob@example.org", .subject = "s", .message = "m"};
	int64_t id = -5;

	/* A recipient with a line break is refused by the outbox. */
	st.contact_email = "team@example.com\nBcc: x@example.com";
	ck_assert_int_eq(contact_submit(db, &st, &m, &id), IA_ERR_INVAL);
	ck_assert_int_eq(id, -5);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM contact_messages", 0), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM outbox", 0), 0);
	/* Nothing left open: the next submission works. */
	st.contact_email = "team@example.com";
	ck_assert_int_eq(contact_submit(db, &st, &m, &id), 0);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM contact_messages", 0), 1);
	ck_assert_int_eq(testdb_int(db, "SELECT count(*) FROM outbox", 0), 1);
}
END_TEST

static Suite *contact_suite(void)
{
	Suite *s = suite_create("contact");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, message_is_stored_and_its_mail_queued);
	tcase_add_test(tc, line_breaks_in_the_subject_become_spaces);
	tcase_add_test(tc, no_mail_no_message);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(contact_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
