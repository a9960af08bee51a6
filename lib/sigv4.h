/*
 * sigv4.h - AWS Signature Version 4 query signing: presigned URLs that let
 * a client without credentials (nginx fetching a media object) make one
 * request to an S3-compatible storage until they expire. Request signing in
 * headers is libcurl's (httpc.h, aws_sigv4); this module signs only what
 * libcurl cannot: a URL handed to someone else. Also the URI encoding of
 * SigV4, which the S3 backend needs for paths and sorted query strings.
 */
#ifndef IA_SIGV4_H
#define IA_SIGV4_H

#include <stdbool.h>
#include <stdint.h>

/* Credentials and scope of a signature; all borrowed, none NULL. */
struct sigv4_key {
	const char *key_id;  /* AWS_ACCESS_KEY_ID */
	const char *secret;  /* AWS_SECRET_ACCESS_KEY */
	const char *region;  /* e.g. "us-east-1" */
	const char *service; /* "s3" */
};

/* The longest lifetime SigV4 allows for a presigned URL: seven days. */
#define SIGV4_EXPIRES_MAX 604800

/*
 * SigV4's URI encoding of s (heap, caller frees): every byte outside
 * A-Za-z0-9-._~ becomes %XX with upper-case hex; '/' is kept when
 * keep_slash (a path), else encoded (a query name or value). s is not NULL.
 */
char *sigv4_uri_encode(const char *s, bool keep_slash);

/*
 * Presign method (e.g. "GET", upper-case letters only) on endpoint +
 * path for expires seconds (1..SIGV4_EXPIRES_MAX) from now (unix seconds,
 * >= 0), with an UNSIGNED-PAYLOAD and only the host header signed.
 *
 * endpoint is "http[s]://host[:port]" (trailing '/'s are ignored; no
 * user info, path, query or fragment); the host header signed is the host
 * in lower case with the port unless it is the scheme's default, which is
 * what an HTTP client sends for the URL written here. path starts with '/'
 * and is unencoded ("/bucket/images/ab/cd.png"): each segment is encoded
 * with sigv4_uri_encode, the '/'s kept, and is not normalised (S3 rules).
 *
 * 0 and *out = the URL "<endpoint><encoded path>?X-Amz-Algorithm=..&
 * X-Amz-Signature=<hex>" (heap, caller frees; it is a bearer credential
 * until it expires, so never log it); IA_ERR_INVAL for any argument
 * outside the above (k's fields NULL or empty included). Nothing is
 * written to *out on failure. Keys derived from k->secret are wiped.
 */
int sigv4_presign(const struct sigv4_key *k, const char *method, const char *endpoint,
		  const char *path, int64_t now, int expires, char **out);

#endif
