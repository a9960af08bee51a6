/*
 * db_backend.h - what a database engine provides to lib/db.c (internal).
 *
 * lib/db.c is the front every caller sees (db.h): the statement cache,
 * deferred bind errors, migrations, the helpers built on db_step. Each
 * engine fills one struct db_backend (lib/db_sqlite.c, lib/db_pg.c) and is
 * the only file that includes its library's header, as curl's lib/vtls/
 * does with struct Curl_ssl. db.c picks the backend once, in db_open, from
 * the form of the target.
 *
 * Conventions: every function returns 0 / DB_ROW / DB_DONE or a negative
 * enum ia_err; conn and stmt pointers are the backend's own types, opaque
 * to db.c. Text passed in is copied when kept.
 */
#ifndef IA_DB_BACKEND_H
#define IA_DB_BACKEND_H

#include "db.h"

#include <stdbool.h>
#include <stdint.h>

struct db_conn;  /* one backend connection */
struct db_bstmt; /* one prepared statement of a connection */

struct db_backend {
	const char *name; /* "sqlite" | "postgres": the sql/ subfolder */
	/* True when target is for this backend (a URI scheme, or a path). */
	bool (*accepts)(const char *target);
	int (*open)(const char *target, struct db_conn **out);
	void (*close)(struct db_conn *c);

	/* Compile sql (the portable dialect of db.h, translated here). */
	int (*prepare)(struct db_conn *c, const char *sql, struct db_bstmt **out);
	void (*finalize)(struct db_bstmt *st);
	int (*bind_int64)(struct db_bstmt *st, int idx, int64_t v);
	int (*bind_text)(struct db_bstmt *st, int idx, const char *s); /* s != NULL */
	int (*bind_null)(struct db_bstmt *st, int idx);
	int (*step)(struct db_bstmt *st);
	/* Rows changed by the statement's last completed step. */
	int64_t (*changes)(struct db_bstmt *st);
	/* Back to before the first step, bindings cleared. */
	void (*reset)(struct db_bstmt *st);
	int64_t (*column_int64)(struct db_bstmt *st, int col);
	const char *(*column_text)(struct db_bstmt *st, int col);
	bool (*column_is_null)(struct db_bstmt *st, int col);

	/* Transactions: write = db_begin, !write = db_begin_read. */
	int (*begin)(struct db_conn *c, bool write);
	int (*commit)(struct db_conn *c);
	void (*rollback)(struct db_conn *c);

	/* Change detection and wake-ups: see db.h. */
	void (*mark_read)(struct db_conn *c, struct db_mark *out);
	bool (*unchanged)(struct db_conn *c, const struct db_mark *m, int64_t user_id);
	int (*notify)(struct db_conn *c, const char *channel);
	int (*listen)(struct db_conn *c, const char *channel);
	int (*wait)(struct db_conn *c, int timeout_ms);

	int (*exec)(struct db_conn *c, const char *sql);
	int (*backup)(struct db_conn *c, const char *dest_path); /* NULL: unsupported */
	const char *(*errmsg)(struct db_conn *c);
	/* db_lock: see db.h. */
	int (*lock)(struct db_conn *c, int64_t key);
};

extern const struct db_backend db_backend_sqlite;
#ifdef HAVE_LIBPQ
extern const struct db_backend db_backend_pg;
#endif

#endif
