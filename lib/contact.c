/*
 * contact.c - stores contact-form messages and queues their mail to
 * CONTACT_EMAIL in the same transaction (lib/outbox.c delivers it).
 */
#include "config.h"

#include "contact.h"
#include "db.h"
#include "err.h"
#include "log.h"
#include "outbox.h"
#include "settings.h"
#include "util.h"

#include <stdlib.h>

int contact_submit(struct db *db, const struct settings *s, const struct contact_message *m,
		   int64_t *id_out)
{
	struct db_stmt *st;
	char *subject = NULL, *body = NULL, *p;
	int64_t id = 0, now = ia_now();
	int rc;

	rc = db_begin(db);
	if (rc != 0)
		return rc;
	rc = db_prepare(db,
			"INSERT INTO contact_messages(name, email, subject, message, created) "
			"VALUES (?, ?, ?, ?, ?) RETURNING id",
			&st);
	if (rc != 0)
		goto out;
	db_bind_text(st, 1, m->name);
	db_bind_text(st, 2, m->email);
	db_bind_text(st, 3, m->subject);
	db_bind_text(st, 4, m->message);
	db_bind_int64(st, 5, now);
	rc = db_step_insert(st, &id);
	if (rc != 0)
		goto out;
	/* A subject line must stay one line: line breaks become spaces. */
	subject = xasprintf("[Contact #%lld] %s", (long long)id, m->subject);
	for (p = subject; *p != '\0'; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	body = xasprintf("From: %s <%s>\n\n%s\n", m->name, m->email, m->message);
	rc = outbox_enqueue(db, OUTBOX_CONTACT, s->contact_email, subject, body, now, NULL);
	if (rc == 0)
		rc = db_commit(db);
out:
	if (rc != 0)
		db_rollback(db);
	free(subject);
	free(body);
	if (rc == 0 && id_out != NULL)
		*id_out = id;
	return rc;
}
