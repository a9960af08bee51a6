/*
 * test_text.c - unit tests for lib/text.c: the text rules of API.md
 * (valid UTF-8; no control characters in one-line text, only newline and
 * tab in multi-line text) and the escapes that keep stored text from
 * acting on an admin's terminal.
 */
#include "config.h"

#include "err.h"
#include "text.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Byte sequences that are not UTF-8 (RFC 3629). */
static const char *const bad_utf8[] = {
    "\x80",             /* lone continuation byte */
    "a\xbf",            /* continuation byte after ASCII */
    "\xc0\xaf",         /* overlong '/' */
    "\xc1\xbf",         /* overlong U+007F */
    "\xc3",             /* truncated at the end */
    "\xc3x",            /* truncated by ASCII */
    "\xe2\x82",         /* truncated 3-byte */
    "\xf0\x9f\x98",     /* truncated 4-byte */
    "\xf5\x80\x80\x80", /* lead byte beyond U+10FFFF */
    "\xff",             /* never valid */
    "\xe0\x80\xaf",     /* overlong 3-byte '/' */
    "\xed\xa0\x80",     /* UTF-16 surrogate U+D800 */
    "\xf0\x8f\xbf\xbf", /* overlong U+FFFF */
    "\xf4\x90\x80\x80", /* U+110000 */
    "ok\xa9then",       /* Latin-1 byte in the middle */
};

START_TEST(test_check_accepts_text)
{
	static const char *const good[] = {
	    "",
	    "Ada Lovelace",
	    "Zo\xc3\xab \xc3\x9cn\xc3\xaf"
	    "c\xc3\xb8"
	    "d\xc3\xa9",        /* Zoë Ünïcødé */
	    "\xe2\x82\xac 5",   /* € */
	    "\xf0\x9f\x98\x80", /* 😀 */
	    "\xc2\xa0nbsp",     /* U+00A0: first after C1 */
	    "~",                /* U+007E: last before DEL */
	};
	const char *why = "untouched";
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_int_eq(text_check(good[i], false, &why), 0);
		ck_assert_int_eq(text_check(good[i], true, &why), 0);
	}
	ck_assert_str_eq(why, "untouched"); /* written only on failure */
}
END_TEST

START_TEST(test_check_refuses_invalid_utf8)
{
	const char *why = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		why = NULL;
		ck_assert_int_eq(text_check(bad_utf8[i], true, &why), IA_ERR_INVAL);
		ck_assert_str_eq(why, "Not a valid string.");
		ck_assert_int_eq(text_check(bad_utf8[i], false, NULL), IA_ERR_INVAL);
	}
}
END_TEST

/* The bug: a name holding ESC [ 2 J cleared the admin's screen in iactl. */
START_TEST(test_check_refuses_controls_in_names)
{
	static const char *const bad[] = {
	    "Eve\x1b[2J", /* ESC: a terminal escape sequence */
	    "a\nb",       /* newline: one-line text */
	    "a\tb",       /* tab */
	    "a\rb",       /* CR */
	    "a\r\nb",     /* CRLF */
	    "\x01",       /* SOH */
	    "\x1f",       /* last C0 */
	    "del\x7f",    /* DEL */
	    "c1\xc2\x80", /* U+0080, first C1 */
	    "csi\xc2\x9b"
	    "2J",         /* U+009B CSI, an 8-bit escape */
	    "c1\xc2\x9f", /* U+009F, last C1 */
	};
	const char *why = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		ck_assert_msg(text_check(bad[i], false, &why) == IA_ERR_INVAL, "case %zu", i);
		ck_assert_str_eq(why, "Control characters are not allowed.");
	}
}
END_TEST

START_TEST(test_check_multiline_allows_newline_and_tab)
{
	const char *why = NULL;

	ck_assert_int_eq(text_check("line one\nline two\n", true, NULL), 0);
	ck_assert_int_eq(text_check("a\tb", true, NULL), 0);
	ck_assert_int_eq(text_check("browser\r\nline ends\r\n", true, NULL), 0);
	ck_assert_int_eq(text_check("lone\rcr", true, &why), IA_ERR_INVAL);
	ck_assert_str_eq(why, "Control characters other than newline and tab are not allowed.");
	ck_assert_int_eq(text_check("cr at end\r", true, NULL), IA_ERR_INVAL);
	ck_assert_int_eq(text_check("esc\x1b[31m", true, NULL), IA_ERR_INVAL);
	ck_assert_int_eq(text_check("del\x7f", true, NULL), IA_ERR_INVAL);
	ck_assert_int_eq(text_check("csi\xc2\x9b", true, NULL), IA_ERR_INVAL);
	ck_assert_int_eq(text_check("bell\a", true, NULL), IA_ERR_INVAL);
}
END_TEST

static void assert_escaped(const char *in, const char *want)
{
	char *got = text_escape(in);

	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_escape)
{
	assert_escaped(NULL, "");
	assert_escaped("", "");
	assert_escaped("Ada Lovelace", "Ada Lovelace");
	assert_escaped("Zo\xc3\xab \xf0\x9f\x98\x80", "Zo\xc3\xab \xf0\x9f\x98\x80");
	assert_escaped("Eve\x1b[2J", "Eve\\x1b[2J");
	assert_escaped("a\nb\tc\rd", "a\\x0ab\\x09c\\x0dd");
	assert_escaped("del\x7f", "del\\x7f");
	assert_escaped("csi\xc2\x9b"
		       "2J",
		       "csi\\u009b2J");
	assert_escaped("bad\xff\xc3", "bad\\xff\\xc3");
	assert_escaped("back\\slash", "back\\\\slash"); /* unambiguous: \x1b typed is \\x1b */
	/* worst case: every byte grows to four */
	assert_escaped("\x01\x02\x03", "\\x01\\x02\\x03");
}
END_TEST

static void assert_json_escaped(const char *in, const char *want)
{
	char *got = text_escape_json(in);

	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_escape_json)
{
	assert_json_escaped("{\"a\": \"plain \\u001b\"}", "{\"a\": \"plain \\u001b\"}");
	assert_json_escaped("{\"a\": \"x\x7f\"}", "{\"a\": \"x\\u007f\"}");
	assert_json_escaped("{\"a\": \"\xc2\x9b\"}", "{\"a\": \"\\u009b\"}");
	assert_json_escaped("{\"a\": \"\xff\"}", "{\"a\": \"\\ufffd\"}");
	assert_json_escaped("{\"a\": \"\xc3\xa9\xe2\x82\xac\"}",
			    "{\"a\": \"\xc3\xa9\xe2\x82\xac\"}");
	assert_json_escaped("\x7f\x7f", "\\u007f\\u007f"); /* six bytes per input byte */
}
END_TEST

/* text_file_name(raw) is want (NULL: no name at all). */
static void assert_file_name(const char *raw, const char *want)
{
	char *got = text_file_name(raw);

	if (want == NULL)
		ck_assert_msg(got == NULL, "\"%s\" gave \"%s\"", raw ? raw : "(null)", got);
	else
		ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_file_name_strips_directories_and_controls)
{
	assert_file_name("photo.png", "photo.png");
	assert_file_name("../../evil\n.png", "evil.png");
	assert_file_name("/etc/passwd", "passwd");
	assert_file_name("C:\\Users\\me\\Desktop\\cat.jpg", "cat.jpg");
	assert_file_name("..\\..\\win.png", "win.png");
	assert_file_name("a\x01\x1b[31mb\x7f\xc2\x9b.png", "a[31mb.png");
	assert_file_name("  spaced name.webp  ", "spaced name.webp");
	assert_file_name("bad\xff\xfe utf8.png", "bad utf8.png");
	assert_file_name("caf\xc3\xa9 \xe2\x82\xac.png", "caf\xc3\xa9 \xe2\x82\xac.png");
}
END_TEST

START_TEST(test_file_name_never_a_path)
{
	assert_file_name(NULL, NULL);
	assert_file_name("", NULL);
	assert_file_name("dir/", NULL);
	assert_file_name("..", NULL);
	assert_file_name("a/..", NULL);
	assert_file_name("a/.", NULL);
	assert_file_name("x/\n\t ", NULL);
}
END_TEST

START_TEST(test_file_name_bounded)
{
	char raw[1200], want[TEXT_FILE_NAME_MAX + 1];
	char *got;
	size_t i;

	/* 1000 ASCII bytes: the stem is cut, the extension kept */
	memset(raw, 'a', 1000);
	memcpy(raw + 1000, ".png", 5);
	memset(want, 'a', TEXT_FILE_NAME_MAX - 4);
	memcpy(want + TEXT_FILE_NAME_MAX - 4, ".png", 5);
	assert_file_name(raw, want);
	/* two-byte characters: never cut inside one, always valid UTF-8 */
	for (i = 0; i < 500; i++)
		memcpy(raw + 2 * i, "\xc3\xa9", 2);
	memcpy(raw + 1000, ".jpeg", 6);
	got = text_file_name(raw);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_le(strlen(got), TEXT_FILE_NAME_MAX);
	ck_assert_int_ge(text_length(got), 0);
	ck_assert_int_eq(strcmp(got + strlen(got) - 5, ".jpeg"), 0);
	free(got);
	/* an "extension" too long to keep is cut with the rest */
	memset(raw, 'b', 1000);
	raw[10] = '.';
	raw[1000] = '\0';
	got = text_file_name(raw);
	ck_assert_uint_eq(strlen(got), TEXT_FILE_NAME_MAX);
	free(got);
}
END_TEST

static Suite *text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_check_accepts_text);
	tcase_add_test(tc, test_check_refuses_invalid_utf8);
	tcase_add_test(tc, test_check_refuses_controls_in_names);
	tcase_add_test(tc, test_check_multiline_allows_newline_and_tab);
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_escape_json);
	tcase_add_test(tc, test_file_name_strips_directories_and_controls);
	tcase_add_test(tc, test_file_name_never_a_path);
	tcase_add_test(tc, test_file_name_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(text_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
