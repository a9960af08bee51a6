/*
 * test_password.c - unit tests for lib/password.c: Argon2id hash and verify,
 * unusable hashes, rehash detection and per-hash salts.
 */
#include "config.h"

#include "err.h"
#include "password.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

START_TEST(test_hash_verify)
{
	char h[PASSWORD_HASH_MAX];

	ck_assert_int_eq(password_hash("correct horse battery staple", h), 0);
	ck_assert_int_eq(strncmp(h, "$argon2id$", 10), 0);
	ck_assert_uint_lt(strlen(h), PASSWORD_HASH_MAX);
	ck_assert_int_eq(password_verify(h, "correct horse battery staple"), 0);
}
END_TEST

START_TEST(test_wrong_password)
{
	char h[PASSWORD_HASH_MAX];

	ck_assert_int_eq(password_hash("s3cret-Passw0rd", h), 0);
	ck_assert_int_eq(password_verify(h, "s3cret-Passw0rD"), IA_ERR_AUTH);
	ck_assert_int_eq(password_verify(h, "s3cret-Passw0r"), IA_ERR_AUTH);
	ck_assert_int_eq(password_verify(h, ""), IA_ERR_AUTH);
	ck_assert_int_eq(password_verify(h, NULL), IA_ERR_AUTH);
	/* a damaged hash matches nothing */
	h[strlen(h) - 2] = h[strlen(h) - 2] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(password_verify(h, "s3cret-Passw0rd"), IA_ERR_AUTH);
}
END_TEST

START_TEST(test_empty_password_hashes)
{
	char h[PASSWORD_HASH_MAX];

	ck_assert_int_eq(password_hash("", h), 0);
	ck_assert_int_eq(password_verify(h, ""), 0);
	ck_assert_int_eq(password_verify(h, "x"), IA_ERR_AUTH);
	ck_assert_int_eq(password_hash(NULL, h), IA_ERR_INVAL);
}
END_TEST

START_TEST(test_unusable)
{
	ck_assert_int_eq(password_verify(PASSWORD_UNUSABLE, ""), IA_ERR_AUTH);
	ck_assert_int_eq(password_verify(PASSWORD_UNUSABLE, "!"), IA_ERR_AUTH);
	ck_assert_int_eq(password_verify("!dGhpcyBpcyBub3QgYSBoYXNo", "anything"), IA_ERR_AUTH);
	ck_assert_int_eq(password_verify("", ""), IA_ERR_AUTH);
	ck_assert_int_eq(password_verify(NULL, "x"), IA_ERR_AUTH);
	/* a Django hash is not ours to check */
	ck_assert_int_eq(password_verify("pbkdf2_sha256$600000$salt$abc=", "x"), IA_ERR_AUTH);
	ck_assert(!password_needs_rehash(PASSWORD_UNUSABLE));
	ck_assert(!password_needs_rehash(""));
	ck_assert(!password_needs_rehash(NULL));
}
END_TEST

START_TEST(test_unusable_costs_a_hash)
{
	/*
	 * The refusal must not be instant, or it tells unusable accounts apart.
	 * One Argon2id pass over 64 MiB takes tens of milliseconds anywhere; a
	 * shortcut takes microseconds. Load only makes it slower, so 5 ms is safe.
	 */
	struct timespec a, b;
	double dt;

	clock_gettime(CLOCK_MONOTONIC, &a);
	ck_assert_int_eq(password_verify(PASSWORD_UNUSABLE, "pw-pw-pw-pw"), IA_ERR_AUTH);
	clock_gettime(CLOCK_MONOTONIC, &b);
	dt = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	ck_assert_msg(dt > 0.005, "unusable hash refused in %.6f s", dt);
}
END_TEST

START_TEST(test_needs_rehash)
{
	char fresh[PASSWORD_HASH_MAX];
	char weak[crypto_pwhash_STRBYTES];
	char argon2i[crypto_pwhash_STRBYTES];

	ck_assert_int_eq(password_hash("pw", fresh), 0);
	ck_assert(!password_needs_rehash(fresh));
	ck_assert_int_eq(
	    crypto_pwhash_str_alg(weak, "pw", 2, crypto_pwhash_OPSLIMIT_INTERACTIVE - 1,
				  crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13),
	    0);
	ck_assert(password_needs_rehash(weak));
	ck_assert_int_eq(password_verify(weak, "pw"), 0); /* old hashes still work */
	ck_assert_int_eq(crypto_pwhash_str_alg(weak, "pw", 2, crypto_pwhash_OPSLIMIT_INTERACTIVE,
					       crypto_pwhash_MEMLIMIT_INTERACTIVE / 2,
					       crypto_pwhash_ALG_ARGON2ID13),
			 0);
	ck_assert(password_needs_rehash(weak));
	/* another algorithm (older libsodium default) is "other parameters" */
	ck_assert_int_eq(crypto_pwhash_str_alg(argon2i, "pw", 2, crypto_pwhash_argon2i_OPSLIMIT_MIN,
					       crypto_pwhash_MEMLIMIT_INTERACTIVE,
					       crypto_pwhash_ALG_ARGON2I13),
			 0);
	ck_assert(password_needs_rehash(argon2i));
	ck_assert_int_eq(password_verify(argon2i, "pw"), 0);
}
END_TEST

/* Reference hashes from Python's hashlib.pbkdf2_hmac, in Django's format. */
#define DJANGO_1000 "pbkdf2_sha256$1000$seasalt$mQnueSakb748zqBAC1tmWVZsZbi2zPGZarEzTGdfmso="
#define DJANGO_260000                                                                              \
	"pbkdf2_sha256$260000$Zl4Jc9sSmtmFJ0a1Q7Pa2e$EePooSEg5T7NyDN91QbKPF/7A44eIunh+ASHmlTY3Qo="

START_TEST(test_django_pbkdf2_verifies)
{
	ck_assert_int_eq(password_verify(DJANGO_1000, "correct horse"), 0);
	ck_assert_int_eq(password_verify(DJANGO_260000, "l\xc3\xa8tmein"), 0);
	ck_assert_int_eq(password_verify(DJANGO_1000, "correct horsE"), IA_ERR_AUTH);
	ck_assert_int_eq(password_verify(DJANGO_1000, ""), IA_ERR_AUTH);
	ck_assert(password_needs_rehash(DJANGO_1000)); /* the first sign-in upgrades it */
}
END_TEST

START_TEST(test_django_pbkdf2_malformed)
{
	static const char *const bad[] = {
	    "pbkdf2_sha256$999$seasalt$mQnueSakb748zqBAC1tmWVZsZbi2zPGZarEzTGdfmso=",  /* rounds */
	    "pbkdf2_sha256$1000$seasalu$mQnueSakb748zqBAC1tmWVZsZbi2zPGZarEzTGdfmso=", /* salt */
	    "pbkdf2_sha256$1000$seasalt$mQnueSakb748zqBAC1tmWVZsZbi2zPGZarEzTGdfmsA=", /* key */
	    "pbkdf2_sha256$1000$seasalt$mQnueSakb748zqBAC1tmWVZsZbi2zPGZarEzTGdfms",   /* short */
	    "pbkdf2_sha256$1000$seasalt$!!!",
	    "pbkdf2_sha256$0$seasalt$mQnueSakb748zqBAC1tmWVZsZbi2zPGZarEzTGdfmso=",
	    "pbkdf2_sha256$99999999999$seasalt$mQnueSakb748zqBAC1tmWVZsZbi2zPGZarEzTGdfmso=",
	    "pbkdf2_sha256$1000$$mQnueSakb748zqBAC1tmWVZsZbi2zPGZarEzTGdfmso=",
	    "pbkdf2_sha256$1000$seasalt",
	    "pbkdf2_sha256$x$seasalt$mQnueSakb748zqBAC1tmWVZsZbi2zPGZarEzTGdfmso=",
	    "pbkdf2_sha256$",
	    "pbkdf2_sha1$1000$seasalt$mQnueSakb748zqBAC1tmWVZsZbi2zPGZarEzTGdfmso=",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(password_verify(bad[i], "correct horse") == IA_ERR_AUTH,
			      "accepted %s", bad[i]);
}
END_TEST

START_TEST(test_salted)
{
	char a[PASSWORD_HASH_MAX], b[PASSWORD_HASH_MAX];

	ck_assert_int_eq(password_hash("same password", a), 0);
	ck_assert_int_eq(password_hash("same password", b), 0);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(password_verify(a, "same password"), 0);
	ck_assert_int_eq(password_verify(b, "same password"), 0);
}
END_TEST

START_TEST(test_init_repeatable)
{
	ck_assert_int_eq(password_init(), 0);
	ck_assert_int_eq(password_init(), 0);
}
END_TEST

static Suite *password_suite(void)
{
	Suite *s = suite_create("password");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60); /* each hash is ~64 MiB of Argon2id work */
	tcase_add_test(tc, test_init_repeatable);
	tcase_add_test(tc, test_hash_verify);
	tcase_add_test(tc, test_wrong_password);
	tcase_add_test(tc, test_empty_password_hashes);
	tcase_add_test(tc, test_unusable);
	tcase_add_test(tc, test_unusable_costs_a_hash);
	tcase_add_test(tc, test_needs_rehash);
	tcase_add_test(tc, test_salted);
	tcase_add_test(tc, test_django_pbkdf2_verifies);
	tcase_add_test(tc, test_django_pbkdf2_malformed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (password_init() != 0)
		return EXIT_FAILURE;
	sr = srunner_create(password_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
