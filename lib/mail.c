/*
 * mail.c - outgoing mail. The file transport writes each message as an
 * RFC 5322 file (CRLF line ends) named <date>-<token>.eml in MAIL_DIR:
 * written to a .tmp name first and renamed, so a reader never sees half a
 * message, and a message sent twice (same token) replaces itself. Non-ASCII
 * subjects are RFC 2047 encoded; the body is sent as 8bit UTF-8.
 *
 * The SMTP transport (MAIL_TRANSPORT=smtp) builds the same message in
 * memory and submits it through SMTP_URL with SMTP_USER/SMTP_PASSWORD,
 * using httpc_smtp_send: smtps:// is implicit TLS, smtp:// requires
 * STARTTLS unless the host is loopback (httpc_smtp_tls_required), so the
 * password never crosses a network in clear. One attempt, bounded by
 * MAIL_TIMEOUT; a failure is logged (never with the password, the URL,
 * which may carry credentials, or the body, which may carry a token) and
 * returned as IA_ERR_IO. Retrying is the outbox's business (lib/outbox.c):
 * requests never call this module. SMTP with an empty SMTP_URL is
 * IA_ERR_UNAVAILABLE.
 */
#include "config.h"

#include "mail.h"
#include "err.h"
#include "httpc.h"
#include "log.h"
#include "settings.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#define MAIL_B64_CHUNK 45 /* input bytes per encoded word: 60 base64 chars */

static bool mail_header_ok(const char *v);
static int mail_mkdirs(const char *dir);
static void mail_date(int64_t t, char out[40]);
static void mail_domain(const char *from, char *out, size_t size);
static void mail_put_subject(FILE *f, const char *subject);
static void mail_put_body(FILE *f, const char *body);
static bool mail_token_ok(const char *token);
static int mail_write(FILE *f, const struct settings *s, const struct mail_message *m);
static int mail_file_send(const struct settings *s, const struct mail_message *m);
static void mail_bare_address(const char *addr, char *out, size_t size);
static int mail_smtp_send(const struct settings *s, const struct mail_message *m);

/* A header value must not be able to start a new header line. */
static bool mail_header_ok(const char *v)
{
	return v != NULL && strpbrk(v, "\r\n") == NULL;
}

/* mkdir -p with mode 0700 for every directory created. */
static int mail_mkdirs(const char *dir)
{
	char *path = xstrdup(dir);
	char *p;
	int rc = 0;

	for (p = path + 1; rc == 0; p++) {
		bool end = *p == '\0';

		if (*p != '/' && !end)
			continue;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			rc = IA_ERR_IO;
		if (end)
			break;
		*p = '/';
	}
	free(path);
	return rc;
}

/* RFC 5322 date, in UTC and independent of the locale. */
static void mail_date(int64_t t, char out[40])
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The domain of the From address ("Name <a@b.c>" or "a@b.c") for Message-ID. */
static void mail_domain(const char *from, char *out, size_t size)
{
	const char *at = strrchr(from, '@');
	size_t len = at == NULL ? 0 : strcspn(at + 1, "> \t");

	if (len == 0 || len >= size) {
		snprintf(out, size, "image-assistant.local");
		return;
	}
	memcpy(out, at + 1, len);
	out[len] = '\0';
}

/* Subject header: as is when ASCII, else UTF-8 B encoded words folded per line. */
static void mail_put_subject(FILE *f, const char *subject)
{
	char b64[sodium_base64_ENCODED_LEN(MAIL_B64_CHUNK, sodium_base64_VARIANT_ORIGINAL)];
	const unsigned char *p = (const unsigned char *)subject;
	size_t left = strlen(subject);
	bool ascii = true;
	size_t i;

	for (i = 0; i < left; i++)
		if (p[i] >= 0x80)
			ascii = false;
	if (ascii) {
		fprintf(f, "Subject: %s\r\n", subject);
		return;
	}
	fputs("Subject:", f);
	while (left > 0) {
		size_t n = left > MAIL_B64_CHUNK ? MAIL_B64_CHUNK : left;

		while (n < left && n > 0 && (p[n] & 0xC0) == 0x80) /* keep characters whole */
			n--;
		if (n == 0)
			n = left > MAIL_B64_CHUNK ? MAIL_B64_CHUNK : left;
		sodium_bin2base64(b64, sizeof(b64), p, n, sodium_base64_VARIANT_ORIGINAL);
		fprintf(f, " =?UTF-8?B?%s?=\r\n", b64);
		p += n;
		left -= n;
	}
}

/* Body with every line end as CRLF, ending in one. */
static void mail_put_body(FILE *f, const char *body)
{
	const char *p;

	for (p = body; *p != '\0'; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue;
		if (*p == '\n' || *p == '\r')
			fputs("\r\n", f);
		else
			fputc(*p, f);
	}
	if (p == body || (p[-1] != '\n' && p[-1] != '\r'))
		fputs("\r\n", f);
}

/* A token names a file: lowercase letters and digits only. */
static bool mail_token_ok(const char *token)
{
	size_t len = token != NULL ? strlen(token) : 0;

	return len > 0 && len <= MAIL_TOKEN_MAX &&
	       strspn(token, "0123456789abcdefghijklmnopqrstuvwxyz") == len;
}

static int mail_write(FILE *f, const struct settings *s, const struct mail_message *m)
{
	char date[40];
	char domain[256];

	mail_date(m->date, date);
	mail_domain(s->default_from_email, domain, sizeof(domain));
	fprintf(f, "From: %s\r\nTo: %s\r\n", s->default_from_email, m->to);
	mail_put_subject(f, m->subject);
	fprintf(f,
		"Date: %s\r\nMessage-ID: <%" PRId64 ".%s@%s>\r\nMIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: 8bit\r\n\r\n",
		date, m->date, m->token, domain);
	mail_put_body(f, m->body);
	if (fflush(f) != 0 || ferror(f))
		return IA_ERR_IO;
	return 0;
}

/*
 * The name depends only on the message, and the .tmp is truncated rather
 * than created exclusively: a retry after a crash between rename and the
 * outbox's "sent" mark rewrites the same file, so the message exists once.
 */
static int mail_file_send(const struct settings *s, const struct mail_message *m)
{
	char *name = NULL, *tmp = NULL;
	FILE *f = NULL;
	int fd, rc;

	rc = mail_mkdirs(s->mail_dir);
	if (rc != 0) {
		log_error("mail: cannot create %s: %s", s->mail_dir, strerror(errno));
		return rc;
	}
	name = xasprintf("%s/%" PRId64 "-%s.eml", s->mail_dir, m->date, m->token);
	tmp = xasprintf("%s.tmp", name);
	rc = IA_ERR_IO;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		goto out;
	}
	rc = mail_write(f, s, m);
	if (rc == 0 && fsync(fileno(f)) != 0)
		rc = IA_ERR_IO;
	if (fclose(f) != 0 && rc == 0)
		rc = IA_ERR_IO;
	if (rc == 0 && rename(tmp, name) != 0)
		rc = IA_ERR_IO;
out:
	if (rc != 0) {
		log_error("mail: cannot write %s: %s", tmp, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	free(name);
	return rc;
}

/* "Name <a@b.c>" or "a@b.c" -> "a@b.c" for the SMTP envelope. */
static void mail_bare_address(const char *addr, char *out, size_t size)
{
	const char *lt = strrchr(addr, '<');
	size_t len;

	if (lt != NULL)
		addr = lt + 1;
	len = strcspn(addr, ">");
	while (len > 0 && (addr[len - 1] == ' ' || addr[len - 1] == '\t'))
		len--;
	while (len > 0 && (*addr == ' ' || *addr == '\t')) {
		addr++;
		len--;
	}
	if (len >= size)
		len = 0; /* an over-long address cannot be sent anyway */
	memcpy(out, addr, len);
	out[len] = '\0';
}

static int mail_smtp_send(const struct settings *s, const struct mail_message *m)
{
	char from_addr[256], to_addr[256];
	char *msg = NULL;
	size_t msg_len = 0;
	FILE *f;
	int rc;

	if (s->smtp_url == NULL || s->smtp_url[0] == '\0') {
		log_error("mail: MAIL_TRANSPORT=smtp but SMTP_URL is empty");
		return IA_ERR_UNAVAILABLE;
	}
	mail_bare_address(s->default_from_email, from_addr, sizeof(from_addr));
	mail_bare_address(m->to, to_addr, sizeof(to_addr));
	if (from_addr[0] == '\0' || to_addr[0] == '\0')
		return IA_ERR_INVAL;
	f = open_memstream(&msg, &msg_len);
	if (f == NULL)
		abort(); /* out of memory (STYLE.md rule 7) */
	rc = mail_write(f, s, m);
	if (fclose(f) != 0 && rc == 0)
		rc = IA_ERR_IO;
	if (rc == 0 && httpc_smtp_send(s->smtp_url, s->smtp_user, s->smtp_password, from_addr,
				       to_addr, msg, s->mail_timeout) != 0) {
		log_error("mail: SMTP delivery failed");
		rc = IA_ERR_IO;
	}
	free(msg);
	return rc;
}

int mail_send_message(const struct settings *s, const struct mail_message *m)
{
	const char *transport;

	if (s == NULL || m == NULL || m->body == NULL || !mail_header_ok(m->to) ||
	    !mail_header_ok(m->subject) || !mail_header_ok(s->default_from_email) ||
	    *m->to == '\0' || !mail_token_ok(m->token))
		return IA_ERR_INVAL;
	transport = s->mail_transport != NULL ? s->mail_transport : "file";
	if (strcmp(transport, "smtp") == 0)
		return mail_smtp_send(s, m);
	if (strcmp(transport, "file") != 0 || s->mail_dir == NULL || *s->mail_dir == '\0') {
		log_error("mail: unknown MAIL_TRANSPORT or empty MAIL_DIR");
		return IA_ERR_INVAL;
	}
	return mail_file_send(s, m);
}

int mail_send(const struct settings *s, const char *to, const char *subject, const char *body)
{
	struct mail_message m;
	char token[17];

	ia_random_hex(token, 8);
	m.to = to;
	m.subject = subject;
	m.body = body;
	m.token = token;
	m.date = ia_now();
	return mail_send_message(s, &m);
}
