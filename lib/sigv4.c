/*
 * sigv4.c - AWS Signature Version 4 presigned URLs (query signing) with
 * libsodium's HMAC-SHA256 and SHA-256, following AWS's "Authenticating
 * Requests: Using Query Parameters": canonical request, string to sign,
 * the HMAC chain date -> region -> service -> "aws4_request", signature.
 */
#include "config.h"

#include "sigv4.h"
#include "err.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

/* An endpoint taken apart: "scheme://host[:port]" as written into URLs,
 * and the value of the host header signed. */
struct sigv4_endpoint {
	char *base;
	char *host;
};

static bool sigv4_unreserved(unsigned char c);
static int sigv4_parse_endpoint(const char *endpoint, struct sigv4_endpoint *out);
static bool sigv4_key_ok(const struct sigv4_key *k);
static void sigv4_hmac(const unsigned char *key, size_t keylen, const char *msg,
		       unsigned char out[crypto_auth_hmacsha256_BYTES]);
static void sigv4_signature(const struct sigv4_key *k, const char *day, const char *to_sign,
			    char hex[2 * crypto_auth_hmacsha256_BYTES + 1]);

static bool sigv4_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

char *sigv4_uri_encode(const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s), i, o = 0;
	char *out = xmalloc(3 * n + 1);

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (sigv4_unreserved(c) || (keep_slash && c == '/')) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

/*
 * Split "http[s]://host[:port]" (trailing '/'s allowed) into the base
 * written into URLs and the signed host header, both without a default
 * port and in lower case. IA_ERR_INVAL for anything else.
 */
static int sigv4_parse_endpoint(const char *endpoint, struct sigv4_endpoint *out)
{
	const char *scheme, *auth, *host_end, *port = NULL;
	size_t alen, hlen;
	char *host;
	int64_t portnum = 0;
	int defport;

	if (strncasecmp(endpoint, "https://", 8) == 0) {
		scheme = "https";
		defport = 443;
		auth = endpoint + 8;
	} else if (strncasecmp(endpoint, "http://", 7) == 0) {
		scheme = "http";
		defport = 80;
		auth = endpoint + 7;
	} else {
		return IA_ERR_INVAL;
	}
	alen = strlen(auth);
	while (alen > 0 && auth[alen - 1] == '/')
		alen--;
	if (alen == 0 || alen > 255)
		return IA_ERR_INVAL;
	if (auth[0] == '[') {
		host_end = memchr(auth, ']', alen);
		if (host_end == NULL ||
		    strspn(auth + 1, "0123456789abcdefABCDEF:.") != (size_t)(host_end - auth - 1))
			return IA_ERR_INVAL;
		host_end++;
	} else {
		host_end = auth + strspn(auth, "abcdefghijklmnopqrstuvwxyz"
					       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");
	}
	hlen = (size_t)(host_end - auth);
	if (hlen == 0 || hlen > alen)
		return IA_ERR_INVAL;
	if (hlen < alen) {
		char digits[8];
		size_t plen = alen - hlen - 1;

		if (*host_end != ':' || plen == 0 || plen >= sizeof(digits))
			return IA_ERR_INVAL;
		memcpy(digits, host_end + 1, plen);
		digits[plen] = '\0';
		if (ia_parse_int64(digits, 1, 65535, &portnum) != 0)
			return IA_ERR_INVAL;
		port = host_end + 1;
	}
	host = xstrndup(auth, hlen);
	ia_ascii_lower(host);
	if (port != NULL && portnum != defport)
		out->host = xasprintf("%s:%lld", host, (long long)portnum);
	else
		out->host = xstrdup(host);
	out->base = xasprintf("%s://%s", scheme, out->host);
	free(host);
	return 0;
}

static bool sigv4_key_ok(const struct sigv4_key *k)
{
	return k != NULL && k->key_id != NULL && k->key_id[0] != '\0' && k->secret != NULL &&
	       k->secret[0] != '\0' && k->region != NULL && k->region[0] != '\0' &&
	       k->service != NULL && k->service[0] != '\0';
}

static void sigv4_hmac(const unsigned char *key, size_t keylen, const char *msg,
		       unsigned char out[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/* hex = HMAC(kSigning, to_sign), kSigning derived from the secret through
 * day, region, service and "aws4_request"; every derived key is wiped. */
static void sigv4_signature(const struct sigv4_key *k, const char *day, const char *to_sign,
			    char hex[2 * crypto_auth_hmacsha256_BYTES + 1])
{
	unsigned char a[crypto_auth_hmacsha256_BYTES], b[crypto_auth_hmacsha256_BYTES];
	char *secret = xasprintf("AWS4%s", k->secret);

	sigv4_hmac((const unsigned char *)secret, strlen(secret), day, a);
	sigv4_hmac(a, sizeof(a), k->region, b);
	sigv4_hmac(b, sizeof(b), k->service, a);
	sigv4_hmac(a, sizeof(a), "aws4_request", b);
	sigv4_hmac(b, sizeof(b), to_sign, a);
	sodium_bin2hex(hex, 2 * crypto_auth_hmacsha256_BYTES + 1, a, sizeof(a));
	sodium_memzero(a, sizeof(a));
	sodium_memzero(b, sizeof(b));
	ia_free_secret(secret);
}

int sigv4_presign(const struct sigv4_key *k, const char *method, const char *endpoint,
		  const char *path, int64_t now, int expires, char **out)
{
	struct sigv4_endpoint ep = {NULL, NULL};
	char stamp[17], day[9], hash_hex[2 * crypto_hash_sha256_BYTES + 1];
	char sig[2 * crypto_auth_hmacsha256_BYTES + 1];
	unsigned char hash[crypto_hash_sha256_BYTES];
	char *uri = NULL, *scope = NULL, *cred = NULL, *cred_enc = NULL, *query = NULL;
	char *creq = NULL, *to_sign = NULL;
	struct tm tm;
	time_t t;
	int rc = IA_ERR_INVAL;

	if (!sigv4_key_ok(k) || method == NULL || endpoint == NULL || path == NULL ||
	    method[0] == '\0' || strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(method) ||
	    path[0] != '/' || now < 0 || expires < 1 || expires > SIGV4_EXPIRES_MAX)
		goto out;
	t = (time_t)now;
	if ((int64_t)t != now || gmtime_r(&t, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) != 16)
		goto out;
	memcpy(day, stamp, 8);
	day[8] = '\0';
	if (sigv4_parse_endpoint(endpoint, &ep) != 0)
		goto out;
	uri = sigv4_uri_encode(path, true);
	scope = xasprintf("%s/%s/%s/aws4_request", day, k->region, k->service);
	cred = xasprintf("%s/%s", k->key_id, scope);
	cred_enc = sigv4_uri_encode(cred, false);
	/* Already in the byte order of the parameter names, as SigV4 sorts. */
	query = xasprintf("X-Amz-Algorithm=" SIGV4_ALGORITHM "&X-Amz-Credential=%s"
			  "&X-Amz-Date=%s&X-Amz-Expires=%d&X-Amz-SignedHeaders=host",
			  cred_enc, stamp, expires);
	creq =
	    xasprintf("%s\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD", method, uri, query, ep.host);
	crypto_hash_sha256(hash, (const unsigned char *)creq, strlen(creq));
	sodium_bin2hex(hash_hex, sizeof(hash_hex), hash, sizeof(hash));
	to_sign = xasprintf(SIGV4_ALGORITHM "\n%s\n%s\n%s", stamp, scope, hash_hex);
	sigv4_signature(k, day, to_sign, sig);
	*out = xasprintf("%s%s?%s&X-Amz-Signature=%s", ep.base, uri, query, sig);
	rc = 0;
out:
	free(ep.base);
	free(ep.host);
	free(uri);
	free(scope);
	free(cred);
	free(cred_enc);
	free(query);
	free(creq);
	free(to_sign);
	return rc;
}
