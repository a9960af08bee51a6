/*
 * contact.c - stores contact-form messages and forwards them by mail.
 */
#include "config.h"

#include "contact.h"
#include "db.h"
#include "err.h"
#include "log.h"
#include "mail.h"
#include "settings.h"
#include "util.h"

#include <stdlib.h>

int contact_submit(struct db *db, const struct settings *s, const struct contact_message *m,
		   int64_t *id_out)
{
	struct db_stmt *st;
	char *subject = NULL, *body = NULL;
	int64_t id;
	int rc;

	rc = db_prepare(db,
			"INSERT INTO contact_messages(name, email, subject, message, created) "
			"VALUES (?, ?, ?, ?, ?)",
			&st);
	if (rc != 0)
		return rc;
	db_bind_text(st, 1, m->name);
	db_bind_text(st, 2, m->email);
	db_bind_text(st, 3, m->subject);
	db_bind_text(st, 4, m->message);
	db_bind_int64(st, 5, ia_now());
	if (db_step(st) != DB_DONE)
		return IA_ERR_DB;
	id = db_last_insert_id(db);
	subject = xasprintf("[Contact #%lld] %s", (long long)id, m->subject);
	body = xasprintf("From: %s <%s>\n\n%s\n", m->name, m->email, m->message);
	if (mail_send(s, s->contact_email, subject, body) != 0)
		log_warn("contact: message %lld stored but not mailed", (long long)id);
	free(subject);
	free(body);
	if (id_out != NULL)
		*id_out = id;
	return 0;
}
