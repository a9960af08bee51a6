/*
 * mail.c - outgoing mail. The file transport writes each message as an
 * RFC 5322 file (CRLF line ends) named <unix>-<random hex>.eml in MAIL_DIR:
 * written to a .tmp name first and renamed, so a reader never sees half a
 * message. Non-ASCII subjects are RFC 2047 encoded; the body is sent as
 * 8bit UTF-8.
 *
 * The SMTP transport (MAIL_TRANSPORT=smtp) builds the same message in
 * memory and submits it through SMTP_URL (smtp:// with STARTTLS when the
 * server offers it, or smtps://) with SMTP_USER/SMTP_PASSWORD, using
 * httpc_smtp_send. Delivery is attempted once, synchronously, with a short
 * timeout: a failure is logged (never with the password or the URL, which
 * may carry credentials) and returned as IA_ERR_IO, and every caller logs
 * it and answers its HTTP request as if the mail had gone. There is no
 * outbox: a mail that fails is lost, which for a reset link means the user
 * asks again. SMTP with an empty SMTP_URL is IA_ERR_UNAVAILABLE.
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

#define MAIL_B64_CHUNK    45 /* input bytes per encoded word: 60 base64 chars */
#define MAIL_SMTP_TIMEOUT 20 /* seconds for a whole SMTP submission */

static bool mail_header_ok(const char *v);
static int mail_mkdirs(const char *dir);
static void mail_date(int64_t t, char out[40]);
static void mail_domain(const char *from, char *out, size_t size);
static void mail_put_subject(FILE *f, const char *subject);
static void mail_put_body(FILE *f, const char *body);
static int mail_write(FILE *f, const struct settings *s, const char *to, const char *subject,
		      const char *body, int64_t now);
static int mail_file_send(const struct settings *s, const char *to, const char *subject,
			  const char *body);
static void mail_bare_address(const char *addr, char *out, size_t size);
static int mail_smtp_send(const struct settings *s, const char *to, const char *subject,
			  const char *body);

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

static int mail_write(FILE *f, const struct settings *s, const char *to, const char *subject,
		      const char *body, int64_t now)
{
	char date[40];
	char domain[256];
	char rnd[33];

	mail_date(now, date);
	mail_domain(s->default_from_email, domain, sizeof(domain));
	ia_random_hex(rnd, 16);
	fprintf(f, "From: %s\r\nTo: %s\r\n", s->default_from_email, to);
	mail_put_subject(f, subject);
	fprintf(f,
		"Date: %s\r\nMessage-ID: <%" PRId64 ".%s@%s>\r\nMIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: 8bit\r\n\r\n",
		date, now, rnd, domain);
	mail_put_body(f, body);
	if (fflush(f) != 0 || ferror(f))
		return IA_ERR_IO;
	return 0;
}

static int mail_file_send(const struct settings *s, const char *to, const char *subject,
			  const char *body)
{
	int64_t now = ia_now();
	char rnd[17];
	char *name = NULL, *tmp = NULL;
	FILE *f = NULL;
	int fd, rc;

	rc = mail_mkdirs(s->mail_dir);
	if (rc != 0) {
		log_error("mail: cannot create %s: %s", s->mail_dir, strerror(errno));
		return rc;
	}
	ia_random_hex(rnd, 8);
	name = xasprintf("%s/%" PRId64 "-%s.eml", s->mail_dir, now, rnd);
	tmp = xasprintf("%s.tmp", name);
	rc = IA_ERR_IO;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		goto out;
	}
	rc = mail_write(f, s, to, subject, body, now);
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

static int mail_smtp_send(const struct settings *s, const char *to, const char *subject,
			  const char *body)
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
	mail_bare_address(to, to_addr, sizeof(to_addr));
	if (from_addr[0] == '\0' || to_addr[0] == '\0')
		return IA_ERR_INVAL;
	f = open_memstream(&msg, &msg_len);
	if (f == NULL)
		abort(); /* out of memory (STYLE.md rule 7) */
	rc = mail_write(f, s, to, subject, body, ia_now());
	if (fclose(f) != 0 && rc == 0)
		rc = IA_ERR_IO;
	if (rc == 0 && httpc_smtp_send(s->smtp_url, s->smtp_user, s->smtp_password, from_addr,
				       to_addr, msg, MAIL_SMTP_TIMEOUT) != 0) {
		log_error("mail: SMTP delivery failed (message not sent, not queued)");
		rc = IA_ERR_IO;
	}
	free(msg);
	return rc;
}

int mail_send(const struct settings *s, const char *to, const char *subject, const char *body)
{
	const char *transport;

	if (s == NULL || body == NULL || !mail_header_ok(to) || !mail_header_ok(subject) ||
	    !mail_header_ok(s->default_from_email) || *to == '\0')
		return IA_ERR_INVAL;
	transport = s->mail_transport != NULL ? s->mail_transport : "file";
	if (strcmp(transport, "smtp") == 0)
		return mail_smtp_send(s, to, subject, body);
	if (strcmp(transport, "file") != 0 || s->mail_dir == NULL || *s->mail_dir == '\0') {
		log_error("mail: unknown MAIL_TRANSPORT or empty MAIL_DIR");
		return IA_ERR_INVAL;
	}
	return mail_file_send(s, to, subject, body);
}
