/*
 * mail.h - outgoing mail. MAIL_TRANSPORT=file writes one RFC 5322 message
 * per file into MAIL_DIR (temp file + rename); smtp sends through SMTP_URL.
 */
#ifndef IA_MAIL_H
#define IA_MAIL_H

struct settings;

/*
 * Send a plain-text UTF-8 message from DEFAULT_FROM_EMAIL. Header values
 * containing CR or LF are refused (IA_ERR_INVAL). Returns IA_ERR_IO when
 * the transport fails; callers log it and do not fail the request.
 */
int mail_send(const struct settings *s, const char *to, const char *subject, const char *body);

#endif
