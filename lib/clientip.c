/*
 * clientip.c - trusted proxy networks and the X-Forwarded-For walk (see
 * clientip.h). Every address is held as 16 bytes of IPv6, IPv4 in its
 * IPv4-mapped form (::ffff:a.b.c.d, prefix + 96), so one comparison serves
 * both families and a mapped peer address matches an IPv4 network.
 */
#include "config.h"

#include "clientip.h"
#include "err.h"
#include "util.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct clientip_net {
	unsigned char addr[16];
	unsigned prefix; /* 0..128 bits of addr that must match */
};

struct clientip_nets {
	size_t n;
	struct clientip_net net[];
};

static int clientip_addr(const char *s, size_t len, unsigned char out[16], bool *v4);
static int clientip_net_parse(const char *s, size_t len, struct clientip_net *net);
static bool clientip_match_bin(const struct clientip_nets *nets, const unsigned char a[16]);
static int clientip_entry(const char *s, size_t len, unsigned char out[16]);
static void clientip_format(const unsigned char a[16], char out[CLIENTIP_ADDR_MAX]);

/* The len bytes at s as an address (no brackets, port or prefix). */
static int clientip_addr(const char *s, size_t len, unsigned char out[16], bool *v4)
{
	char buf[CLIENTIP_ADDR_MAX];
	struct in_addr a4;

	if (len == 0 || len >= sizeof(buf))
		return IA_ERR_INVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		*v4 = true;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, out) == 1) {
		*v4 = false;
		return 0;
	}
	return IA_ERR_INVAL;
}

/* One "ADDR" or "ADDR/PREFIX" entry of TRUSTED_PROXIES. */
static int clientip_net_parse(const char *s, size_t len, struct clientip_net *net)
{
	const char *slash = memchr(s, '/', len);
	char digits[4];
	size_t alen = slash != NULL ? (size_t)(slash - s) : len, dlen;
	int64_t prefix;
	bool v4;
	unsigned i;

	if (clientip_addr(s, alen, net->addr, &v4) != 0)
		return IA_ERR_INVAL;
	prefix = v4 ? 32 : 128;
	if (slash != NULL) {
		dlen = len - alen - 1;
		if (dlen == 0 || dlen >= sizeof(digits))
			return IA_ERR_INVAL;
		memcpy(digits, slash + 1, dlen);
		digits[dlen] = '\0';
		if (ia_parse_int64(digits, 0, v4 ? 32 : 128, &prefix) != 0)
			return IA_ERR_INVAL;
	}
	net->prefix = (unsigned)prefix + (v4 ? 96 : 0);
	/* Host bits past the prefix mean nothing (as nginx): clear them. */
	for (i = net->prefix; i < 128; i++)
		net->addr[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
	return 0;
}

int clientip_nets_parse(const char *list, struct clientip_nets **out, char *err, size_t errlen)
{
	static const char seps[] = ", \t";
	struct clientip_nets *nets = NULL;
	const char *p = list != NULL ? list : "";
	size_t cap = 0, len;
	int rc = 0;

	for (len = 0; p[len] != '\0'; len++)
		if (strchr(seps, p[len]) != NULL)
			cap++;
	nets = xmalloc(sizeof(*nets) + (cap + 1) * sizeof(nets->net[0]));
	nets->n = 0;
	while (*p != '\0') {
		p += strspn(p, seps);
		len = strcspn(p, seps);
		if (len == 0)
			break;
		if (clientip_net_parse(p, len, &nets->net[nets->n]) != 0) {
			snprintf(err, errlen,
				 "TRUSTED_PROXIES: \"%.*s\" is not an IPv4 or IPv6 address or CIDR "
				 "block (such as 10.0.0.0/8 or 2001:db8::/32)",
				 (int)(len > 64 ? 64 : len), p);
			rc = IA_ERR_INVAL;
			goto out;
		}
		nets->n++;
		p += len;
	}
	*out = nets;
	nets = NULL;
out:
	clientip_nets_free(nets);
	return rc;
}

void clientip_nets_free(struct clientip_nets *nets)
{
	free(nets);
}

static bool clientip_match_bin(const struct clientip_nets *nets, const unsigned char a[16])
{
	size_t i;

	for (i = 0; nets != NULL && i < nets->n; i++) {
		const struct clientip_net *net = &nets->net[i];
		unsigned whole = net->prefix / 8, rest = net->prefix % 8;

		if (memcmp(a, net->addr, whole) != 0)
			continue;
		if (rest == 0 ||
		    ((a[whole] ^ net->addr[whole]) & (0xFFu << (8 - rest)) & 0xFF) == 0)
			return true;
	}
	return false;
}

bool clientip_nets_match(const struct clientip_nets *nets, const char *addr)
{
	unsigned char a[16];
	bool v4;

	if (nets == NULL || nets->n == 0 || addr == NULL ||
	    clientip_addr(addr, strlen(addr), a, &v4) != 0)
		return false;
	return clientip_match_bin(nets, a);
}

/* One X-Forwarded-For entry: "ADDR", "IPV4:PORT", "[IPV6]" or "[IPV6]:PORT". */
static int clientip_entry(const char *s, size_t len, unsigned char out[16])
{
	const char *end = s + len, *colon = memchr(s, ':', len);
	const char *addr = s, *port = NULL, *close, *p;
	size_t alen = len;
	unsigned n;
	bool v4;

	if (len > 0 && s[0] == '[') {
		close = memchr(s, ']', len);
		if (close == NULL)
			return IA_ERR_INVAL;
		addr = s + 1;
		alen = (size_t)(close - addr);
		if (close + 1 < end) {
			if (close[1] != ':')
				return IA_ERR_INVAL;
			port = close + 2;
		}
	} else if (colon != NULL && memchr(colon + 1, ':', (size_t)(end - colon - 1)) == NULL) {
		alen = (size_t)(colon - s); /* one colon: IPv4 with a port */
		port = colon + 1;
	}
	if (port != NULL) {
		if (port == end || end - port > 5)
			return IA_ERR_INVAL;
		for (p = port, n = 0; p < end; p++) {
			if (*p < '0' || *p > '9')
				return IA_ERR_INVAL;
			n = n * 10 + (unsigned)(*p - '0');
		}
		if (n > 65535)
			return IA_ERR_INVAL;
	}
	return clientip_addr(addr, alen, out, &v4);
}

/* Canonical text of an address; IPv4-mapped ones as dotted quads. */
static void clientip_format(const unsigned char a[16], char out[CLIENTIP_ADDR_MAX])
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (memcmp(a, mapped, sizeof(mapped)) == 0)
		inet_ntop(AF_INET, a + 12, out, CLIENTIP_ADDR_MAX);
	else
		inet_ntop(AF_INET6, a, out, CLIENTIP_ADDR_MAX);
}

int clientip_resolve(const struct clientip_nets *trusted, const char *remote_addr, const char *xff,
		     char *out, size_t outlen)
{
	char found[CLIENTIP_ADDR_MAX];
	const char *answer = remote_addr != NULL ? remote_addr : "";
	const char *end, *start, *s;
	unsigned char a[16];

	if (xff != NULL && clientip_nets_match(trusted, answer)) {
		end = xff + strlen(xff);
		for (;;) {
			while (end > xff && (end[-1] == ',' || end[-1] == ' ' || end[-1] == '\t'))
				end--;
			if (end == xff)
				break;
			for (start = end; start > xff && start[-1] != ','; start--)
				;
			for (s = start; s < end && (*s == ' ' || *s == '\t'); s++)
				;
			if (clientip_entry(s, (size_t)(end - s), a) != 0)
				break; /* not an address: keep the last one a proxy vouched for */
			clientip_format(a, found);
			answer = found;
			if (!clientip_match_bin(trusted, a))
				break;
			end = start;
		}
	}
	if (outlen == 0)
		return IA_ERR_TOOBIG;
	if (strlen(answer) >= outlen) {
		out[0] = '\0';
		return IA_ERR_TOOBIG;
	}
	memcpy(out, answer, strlen(answer) + 1);
	return 0;
}
