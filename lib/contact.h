/*
 * contact.h - messages sent through the public contact form: stored, then
 * mailed to CONTACT_EMAIL.
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
 * Store the message and mail it to CONTACT_EMAIL. A mail failure is
 * logged, not returned: the message is stored either way. *id_out may be
 * NULL.
 */
int contact_submit(struct db *db, const struct settings *s, const struct contact_message *m,
		   int64_t *id_out);

#endif
