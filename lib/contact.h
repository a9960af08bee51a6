/*
 * contact.h - messages sent through the public contact form: stored, and
 * queued for mail to CONTACT_EMAIL (the outbox).
 */
#ifndef IA_CONTACT_H
#define IA_CONTACT_H

#include <stdint.h>

struct db;
struct settings;

struct contact_message {
	const char *name;
	const char *email;
	const char *subject;
	const char *message;
};

/*
 * Store the message and queue its mail to CONTACT_EMAIL, in one BEGIN
 * IMMEDIATE transaction (both or neither). *id_out may be NULL.
 */
int contact_submit(struct db *db, const struct settings *s, const struct contact_message *m,
		   int64_t *id_out);

#endif
