/*
 * test_clientip.c - unit tests for lib/clientip.c: parsing TRUSTED_PROXIES
 * (IPv4 and IPv6 CIDR blocks, bare hosts, separators, refusal of
 * malformed entries with a message naming them), matching addresses
 * against the list (prefix boundaries, IPv4-mapped IPv6), and the
 * right-to-left X-Forwarded-For walk that picks the client address.
 */
#include "config.h"

#include "clientip.h"
#include "err.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct clientip_nets *nets_of(const char *list)
{
	struct clientip_nets *n = NULL;
	char err[256] = "";

	ck_assert_msg(clientip_nets_parse(list, &n, err, sizeof(err)) == 0, "%s: %s", list, err);
	ck_assert_ptr_nonnull(n);
	return n;
}

START_TEST(test_parse_good)
{
	static const char *const good[] = {
	    "",
	    "   ",
	    "127.0.0.1",
	    "127.0.0.1/32",
	    "10.0.0.0/8,192.168.0.0/16",
	    "10.0.0.0/8, 192.168.0.0/16 ,  172.16.0.0/12",
	    "10.0.0.0/8 2001:db8::/32\t::1",
	    "0.0.0.0/0",
	    "::/0",
	    "10.1.2.3/8", /* host bits are ignored, as nginx does */
	    "::ffff:10.0.0.0/104",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		clientip_nets_free(nets_of(good[i]));
	clientip_nets_free(NULL);
}
END_TEST

START_TEST(test_parse_bad)
{
	static const char *const bad[] = {
	    "10.0.0.0/33",
	    "10.0.0.0/",
	    "10.0.0.0/-1",
	    "10.0.0.0/8/8",
	    "10.0.0",
	    "10.0.0.256",
	    "2001:db8::/129",
	    "2001:db8:::/32",
	    "localhost",
	    "10.0.0.0/08x",
	    "*",
	    "10.0.0.0/8;rm",
	    "fe80::1%eth0",
	    "1.2.3.4:80",
	    "[::1]",
	    "10.0.0.0/8,bad",
	};
	struct clientip_nets *none = NULL;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct clientip_nets *n = NULL;

		err[0] = '\0';
		ck_assert_msg(clientip_nets_parse(bad[i], &n, err, sizeof(err)) == IA_ERR_INVAL,
			      "accepted %s", bad[i]);
		ck_assert_ptr_null(n);
		ck_assert_msg(strstr(err, "TRUSTED_PROXIES") != NULL, "err \"%s\"", err);
	}
	ck_assert_int_eq(clientip_nets_parse("10.0.0.0/8, nonsense", &none, err, sizeof(err)),
			 IA_ERR_INVAL);
	ck_assert_msg(strstr(err, "\"nonsense\"") != NULL, "err \"%s\"", err);
}
END_TEST

START_TEST(test_match_ipv4)
{
	struct clientip_nets *n = nets_of("10.0.0.0/8, 192.168.1.0/24 127.0.0.1 172.16.0.0/12");

	ck_assert(clientip_nets_match(n, "10.0.0.0"));
	ck_assert(clientip_nets_match(n, "10.255.255.255"));
	ck_assert(!clientip_nets_match(n, "11.0.0.0"));
	ck_assert(!clientip_nets_match(n, "9.255.255.255"));
	ck_assert(clientip_nets_match(n, "192.168.1.77"));
	ck_assert(!clientip_nets_match(n, "192.168.2.1"));
	ck_assert(clientip_nets_match(n, "127.0.0.1"));
	ck_assert(!clientip_nets_match(n, "127.0.0.2"));
	ck_assert(clientip_nets_match(n, "172.31.255.255")); /* /12: 172.16-31 */
	ck_assert(!clientip_nets_match(n, "172.32.0.0"));
	ck_assert(clientip_nets_match(n, "::ffff:10.9.8.7")); /* IPv4-mapped */
	ck_assert(!clientip_nets_match(n, "::ffff:11.9.8.7"));
	ck_assert(!clientip_nets_match(n, "::a00:1")); /* IPv4-compatible is not mapped */
	ck_assert(!clientip_nets_match(n, "unknown"));
	ck_assert(!clientip_nets_match(n, ""));
	ck_assert(!clientip_nets_match(n, NULL));
	clientip_nets_free(n);
}
END_TEST

START_TEST(test_match_ipv6)
{
	struct clientip_nets *n = nets_of("2001:db8::/32 ::1 fd00:1:2:3::/63");

	ck_assert(clientip_nets_match(n, "2001:db8::1"));
	ck_assert(clientip_nets_match(n, "2001:DB8:ffff:ffff:ffff:ffff:ffff:ffff"));
	ck_assert(!clientip_nets_match(n, "2001:db9::1"));
	ck_assert(clientip_nets_match(n, "::1"));
	ck_assert(clientip_nets_match(n, "0:0:0:0:0:0:0:1"));
	ck_assert(!clientip_nets_match(n, "::2"));
	ck_assert(clientip_nets_match(n, "fd00:1:2:2::5")); /* /63: ...:2 and ...:3 */
	ck_assert(clientip_nets_match(n, "fd00:1:2:3::5"));
	ck_assert(!clientip_nets_match(n, "fd00:1:2:4::5"));
	ck_assert(!clientip_nets_match(n, "127.0.0.1"));
	clientip_nets_free(n);
}
END_TEST

START_TEST(test_match_empty_list_trusts_none)
{
	struct clientip_nets *n = nets_of("");

	ck_assert(!clientip_nets_match(n, "127.0.0.1"));
	ck_assert(!clientip_nets_match(n, "::1"));
	ck_assert(!clientip_nets_match(NULL, "127.0.0.1"));
	clientip_nets_free(n);
	n = nets_of("0.0.0.0/0");
	ck_assert(clientip_nets_match(n, "1.2.3.4"));
	ck_assert(!clientip_nets_match(n, "::1"));
	clientip_nets_free(n);
}
END_TEST

static void assert_client(const struct clientip_nets *n, const char *remote, const char *xff,
			  const char *want)
{
	char out[CLIENTIP_ADDR_MAX];

	ck_assert_int_eq(clientip_resolve(n, remote, xff, out, sizeof(out)), 0);
	ck_assert_msg(strcmp(out, want) == 0, "remote %s xff \"%s\": got %s, want %s", remote,
		      xff ? xff : "(none)", out, want);
}

START_TEST(test_resolve_untrusted_peer_ignores_xff)
{
	struct clientip_nets *n = nets_of("10.0.0.0/8");

	assert_client(n, "203.0.113.9", "198.51.100.1", "203.0.113.9");
	assert_client(n, "203.0.113.9", NULL, "203.0.113.9");
	assert_client(NULL, "127.0.0.1", "198.51.100.1", "127.0.0.1");
	clientip_nets_free(n);
	n = nets_of("");
	assert_client(n, "127.0.0.1", "198.51.100.1", "127.0.0.1");
	clientip_nets_free(n);
}
END_TEST

START_TEST(test_resolve_walks_right_to_left)
{
	struct clientip_nets *n = nets_of("10.0.0.0/8 2001:db8::/32");

	/* one proxy: the address it appended */
	assert_client(n, "10.0.0.1", "198.51.100.7", "198.51.100.7");
	/* a client's forged entry sits left of the real one and is never reached */
	assert_client(n, "10.0.0.1", "1.1.1.1, 198.51.100.7", "198.51.100.7");
	/* two trusted hops are skipped */
	assert_client(n, "10.0.0.1", "6.6.6.6, 198.51.100.7, 10.2.3.4, 10.9.9.9", "198.51.100.7");
	/* spacing and empty elements */
	assert_client(n, "10.0.0.1", "  198.51.100.7 ,, 10.2.3.4 ,  ", "198.51.100.7");
	assert_client(n, "10.0.0.1", "198.51.100.7,10.2.3.4", "198.51.100.7");
	/* IPv6 clients and proxies, canonical output */
	assert_client(n, "2001:db8::5", "2001:DB8:0:0:0:0:0:9, 2a00:1450:0:0::1", "2a00:1450::1");
	assert_client(n, "::ffff:10.0.0.1", "198.51.100.7", "198.51.100.7");
	assert_client(n, "10.0.0.1", "::ffff:198.51.100.7", "198.51.100.7");
	/* ports */
	assert_client(n, "10.0.0.1", "198.51.100.7:51234", "198.51.100.7");
	assert_client(n, "10.0.0.1", "[2a00:1450::1]:443, 10.1.1.1", "2a00:1450::1");
	assert_client(n, "10.0.0.1", "[2a00:1450::1]", "2a00:1450::1");
	clientip_nets_free(n);
}
END_TEST

START_TEST(test_resolve_all_trusted_or_empty)
{
	struct clientip_nets *n = nets_of("10.0.0.0/8");

	/* every hop trusted: the leftmost is as far as the chain goes */
	assert_client(n, "10.0.0.1", "10.5.5.5, 10.6.6.6", "10.5.5.5");
	/* nothing usable: the peer itself */
	assert_client(n, "10.0.0.1", "", "10.0.0.1");
	assert_client(n, "10.0.0.1", " , ,", "10.0.0.1");
	assert_client(n, "10.0.0.1", NULL, "10.0.0.1");
	clientip_nets_free(n);
}
END_TEST

START_TEST(test_resolve_stops_at_garbage)
{
	struct clientip_nets *n = nets_of("10.0.0.0/8");

	/* garbage right of the peer: the peer is all we can vouch for */
	assert_client(n, "10.0.0.1", "not-an-ip", "10.0.0.1");
	assert_client(n, "10.0.0.1", "198.51.100.7, unknown", "10.0.0.1");
	/* garbage after a trusted hop: that hop, never the forged entry left of it */
	assert_client(n, "10.0.0.1", "198.51.100.7, junk, 10.3.3.3", "10.3.3.3");
	/* garbage left of the client is never reached */
	assert_client(n, "10.0.0.1", "junk, 198.51.100.7", "198.51.100.7");
	assert_client(n, "10.0.0.1", "1.2.3.4:99999", "10.0.0.1");
	assert_client(n, "10.0.0.1", "[::1", "10.0.0.1");
	assert_client(n, "10.0.0.1", "[::1]x", "10.0.0.1");
	assert_client(n, "10.0.0.1", "1.2.3.4:", "10.0.0.1");
	assert_client(n, "10.0.0.1", "1.2.3.4:8a", "10.0.0.1");
	clientip_nets_free(n);
}
END_TEST

START_TEST(test_resolve_small_buffer)
{
	struct clientip_nets *n = nets_of("10.0.0.0/8");
	char out[8] = "xxxxxxx";

	ck_assert_int_eq(clientip_resolve(n, "10.0.0.1", "198.51.100.7", out, sizeof(out)),
			 IA_ERR_TOOBIG);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(clientip_resolve(n, "10.0.0.1", "1.2.3.4", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "1.2.3.4");
	clientip_nets_free(n);
}
END_TEST

static Suite *clientip_suite(void)
{
	Suite *s = suite_create("clientip");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse_good);
	tcase_add_test(tc, test_parse_bad);
	tcase_add_test(tc, test_match_ipv4);
	tcase_add_test(tc, test_match_ipv6);
	tcase_add_test(tc, test_match_empty_list_trusts_none);
	tcase_add_test(tc, test_resolve_untrusted_peer_ignores_xff);
	tcase_add_test(tc, test_resolve_walks_right_to_left);
	tcase_add_test(tc, test_resolve_all_trusted_or_empty);
	tcase_add_test(tc, test_resolve_stops_at_garbage);
	tcase_add_test(tc, test_resolve_small_buffer);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(clientip_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
