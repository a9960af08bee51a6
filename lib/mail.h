/*
 * mail.h - outgoing mail. MAIL_TRANSPORT=file writes one RFC 5322 message
 * per file into MAIL_DIR (temp file + rename); smtp sends through SMTP_URL.
 */
#ifndef IA_MAIL_H
#define IA_MAIL_H

#include <stdint.h>

struct settings;

#define MAIL_TOKEN_MAX 64 /* characters of a mail_message token */

/*
 * One message with a stable identity: token (1..MAIL_TOKEN_MAX of
 * [0-9a-z]) and date name it, so sending it again is recognisably the
 * same message. The file transport writes <date>-<token>.eml (a second
 * send replaces the first: exactly once); SMTP uses Message-ID
 * <date>.<token>@<domain of DEFAULT_FROM_EMAIL>, by which receivers
 * recognise a duplicate.
 */
struct mail_message {
	const char *to;
	const char *subject;
	const char *body;
	const char *token;
	int64_t date; /* unix time of the Date header */
};

/*
 * Send a plain-text UTF-8 message from DEFAULT_FROM_EMAIL. Header values
 * containing CR or LF are refused (IA_ERR_INVAL). Returns IA_ERR_IO when
 * the transport fails. Never called inside a request: requests queue mail
 * in the outbox (lib/outbox.c), which sends with mail_send_message and
 * retries.
 */
int mail_send(const struct settings *s, const char *to, const char *subject, const char *body);

/*
 * Send m as mail_send does (same checks and errors), naming it by
 * m->token and m->date as described above. The outbox (lib/outbox.c)
 * sends through this. SMTP gives up after MAIL_TIMEOUT seconds.
 */
int mail_send_message(const struct settings *s, const struct mail_message *m);

#endif
