/*
 * httpc.h - outgoing HTTP requests to the paid outside services (Stability
 * AI, Stripe, Google, SMTP through mail.c). The only module that includes
 * curl.h. Every request has a connect timeout, a total timeout and a bound
 * on the response size; secrets travel only in headers the caller builds
 * and are never logged here.
 */
#ifndef IA_HTTPC_H
#define IA_HTTPC_H

#include <stdbool.h>
#include <stddef.h>

/* One multipart/form-data part: a text value, a file on disk, or bytes. */
struct httpc_part {
	const char *name;
	const char *value;        /* text value (NUL-terminated), or NULL */
	const char *file_path;    /* or a file to send */
	const char *filename;     /* file name to announce (file parts) */
	const char *content_type; /* of a file part, may be NULL */
};

struct httpc_request {
	const char *method; /* "GET", "POST", "PUT", "HEAD" or "DELETE" */
	const char *url;
	const char *const *headers; /* "Name: value" lines */
	size_t nheaders;
	const char *body; /* raw body (with content_type), or NULL */
	size_t body_len;
	const char *content_type;
	const struct httpc_part *parts; /* multipart when nparts > 0 */
	size_t nparts;
	long connect_timeout; /* seconds; 0 = 10 */
	long timeout;         /* seconds; 0 = 120 */
	size_t max_response;  /* bytes; 0 = 32 MiB */
	/* Abort when nothing at all moved for this many seconds (waiting for
	 * an answer included); 0 = only the total timeout. Bounds a server
	 * that stops answering without cutting a long, slow transfer short. */
	long stall_timeout;
	/* PUT: the body is streamed from this file (never read whole; a
	 * regular file; Content-Length is its size; content_type applies). */
	const char *upload_path;
	/* A 2xx body is streamed into this file (created 0600, truncated;
	 * max_response does not apply) instead of memory; other bodies are
	 * collected in memory as usual and leave the file untouched. An empty
	 * 2xx body makes an empty file. When the transfer fails after the
	 * file was opened, the file is removed. */
	const char *download_path;
	/* AWS Signature V4 by libcurl (CURLOPT_AWS_SIGV4), e.g.
	 * "aws:amz:us-east-1:s3", with these credentials; NULL for none. The
	 * caller adds x-amz-content-sha256 and passes the query sorted and
	 * encoded (libcurl 7.88 does neither). */
	const char *aws_sigv4;
	const char *aws_key_id;
	const char *aws_secret;
};

struct httpc_response {
	long status;
	char *body; /* NUL-terminated (body_len excludes the NUL) */
	size_t body_len;
	char *headers; /* raw response header block of the final response */
};

/*
 * Perform a request. method NULL is GET, or POST when body or parts are
 * given; a body with PUT is sent as is; HEAD asks for no body. 0 with *out
 * filled for any HTTP status (the caller judges it); IA_ERR_UPSTREAM for a
 * transport failure or timeout; IA_ERR_TOOBIG when a body kept in memory
 * exceeds max_response; IA_ERR_INVAL for another method, or upload_path
 * without PUT; IA_ERR_IO when upload_path cannot be read or download_path
 * written. *out is written only on success; release it with
 * httpc_response_cleanup. Safe to call again with the same request (a
 * retry re-reads upload_path from its start).
 */
int httpc_perform(const struct httpc_request *req, struct httpc_response *out);
void httpc_response_cleanup(struct httpc_response *r);

/* The value of a response header (case-insensitive name) copied into out;
 * IA_ERR_NOTFOUND when absent. */
int httpc_response_header(const struct httpc_response *r, const char *name, char *out,
			  size_t outlen);

/* URL-encode s for a query string or a form body (heap, caller frees). */
char *httpc_escape(const char *s);

/*
 * Whether a submission to url must be encrypted: true for every smtp://
 * or smtps:// URL (and anything unparsable) except smtp:// to a loopback
 * host (localhost, 127.0.0.0/8, ::1, ::ffff:127.x.y.z), where plain SMTP
 * is allowed for development and tests.
 */
bool httpc_smtp_tls_required(const char *url);

/*
 * Send a mail through an smtp:// or smtps:// URL (with user/password when
 * not empty). from and rcpt are bare addresses; message is the whole RFC
 * 5322 text. smtps:// is implicit TLS; smtp:// requires STARTTLS (the
 * server must offer it, else nothing, credentials included, is sent)
 * unless httpc_smtp_tls_required says the host is loopback, where
 * STARTTLS is used when offered. IA_ERR_UPSTREAM on failure.
 */
int httpc_smtp_send(const char *url, const char *user, const char *password, const char *from,
		    const char *rcpt, const char *message, long timeout);

#endif
