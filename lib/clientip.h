/*
 * clientip.h - which address a request comes from when reverse proxies
 * stand between the client and nginx. A list of trusted proxy networks
 * (TRUSTED_PROXIES: CIDR blocks, IPv4 and IPv6) decides whose
 * X-Forwarded-For header is believed; everyone else's is ignored, so a
 * client cannot pick its own throttling bucket.
 */
#ifndef IA_CLIENTIP_H
#define IA_CLIENTIP_H

#include <stdbool.h>
#include <stddef.h>

/* Longest address clientip_resolve writes, with its NUL (INET6_ADDRSTRLEN). */
#define CLIENTIP_ADDR_MAX 46

/* A parsed list of networks; opaque. */
struct clientip_nets;

/*
 * Parse a comma- and/or space-separated list of networks ("10.0.0.0/8,
 * 192.168.1.7 2001:db8::/32"); an address without "/N" is one host. IPv4
 * addresses also match their IPv4-mapped IPv6 form (::ffff:10.1.2.3).
 * An empty or blank list trusts no one.
 *
 * Returns 0 and *out (free with clientip_nets_free), or IA_ERR_INVAL with
 * a message naming the bad entry in err (errlen bytes, NUL-terminated).
 */
int clientip_nets_parse(const char *list, struct clientip_nets **out, char *err, size_t errlen);

/* Free a list; NULL is a no-op. */
void clientip_nets_free(struct clientip_nets *nets);

/* True when addr (textual IPv4 or IPv6) lies in one of nets. False for
 * NULL nets, an empty list or text that is not an address. */
bool clientip_nets_match(const struct clientip_nets *nets, const char *addr);

/*
 * The client address of a request whose peer is remote_addr (REMOTE_ADDR)
 * and whose X-Forwarded-For header is xff (NULL when absent), written to
 * out (outlen bytes, at least CLIENTIP_ADDR_MAX to be safe).
 *
 * When remote_addr is not in trusted, it is the answer and xff is not
 * read. Otherwise xff is walked from right to left, skipping addresses
 * that are trusted themselves; the first untrusted one is the client (what
 * nginx's real_ip_recursive does). When every entry is trusted the
 * leftmost one is the answer; when an entry is not an address the walk
 * stops at the last good one (never further left than what a trusted
 * proxy vouched for). Entries may carry a port ("1.2.3.4:5678",
 * "[2001:db8::1]:443"). An address found in xff is written in canonical
 * form (IPv4-mapped IPv6 as plain IPv4).
 *
 * Returns 0, or IA_ERR_TOOBIG when out is too small (out is then empty).
 */
int clientip_resolve(const struct clientip_nets *trusted, const char *remote_addr, const char *xff,
		     char *out, size_t outlen);

#endif
