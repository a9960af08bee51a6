/*
 * db_pg.c - the PostgreSQL backend of lib/db.c (struct db_backend, see
 * db_backend.h). The only file that includes libpq-fe.h.
 *
 * This module implements statements in db.h's portable dialect on libpq:
 * `?`/`?N` become `$N`; a statement is prepared on the server (PQprepare)
 * at its first execution, with the parameter types of that execution
 * (int64 as int8, text and NULL left to the server to infer, so a citext
 * column compares case-insensitively); parameters and results travel as
 * text. A step executes the whole statement once and walks the PGresult.
 *
 * A connection survives server restarts: db_pg_open succeeds while the
 * server is down, and a statement outside a transaction reconnects first
 * when the connection is bad (once; IA_ERR_UNAVAILABLE if still down).
 * A reconnect re-prepares statements lazily (each statement remembers the
 * connection generation it was prepared in), re-LISTENs every channel and
 * makes every cache mark stale. Inside a transaction a lost connection
 * fails the statement; the transaction is gone with it.
 *
 * Change detection (db_mark_read/db_unchanged) costs no round trip: every
 * connection LISTENs on ia_cache, which triggers of
 * sql/postgres/006_change_notifications.sql notify with a user id ('0':
 * anything) on every commit that changes users or flags, from any host or
 * psql. Each notification drained from the socket bumps a generation;
 * "all" and 256 per-user slots remember the generation that last touched
 * them. A read records the generation it started from; it is unchanged
 * while nothing touching it has arrived since.
 *
 * Error messages never hold bound values, and the URI (it may hold a
 * password) is never logged.
 */
#include "config.h"

#include "db_backend.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#define PG_INT8OID       20 /* the server's type oids (catalog/pg_type.dat) */
#define PG_TEXTOID       25
#define PG_MAX_PARAMS    1000 /* highest ?N accepted */
#define PG_MAX_CHANNELS  16
#define PG_CHANNEL_MAX   63
#define PG_SLOTS         256
#define PG_CACHE_CHANNEL "ia_cache"
#define PG_ERRMSG_SIZE   256

struct db_conn {
	PGconn *pg;              /* NULL only if libpq could not allocate */
	char *target;            /* the URI: may hold a password, never logged */
	uint64_t generation;     /* bumped by every successful (re)connect */
	unsigned next_name;      /* statement names s1, s2, ... */
	bool in_write;           /* between begin(write) and commit/rollback */
	bool in_read;            /* between begin(read) and commit/rollback */
	bool read_marked;        /* in_read: the group's first statement set the mark */
	bool down_logged;        /* "server unavailable" logged since the last connect */
	uint64_t gen;            /* ia_cache notifications drained so far */
	uint64_t all_gen;        /* generation of the last "everything changed" */
	uint64_t slot[PG_SLOTS]; /* generation of the last change per user id % 256 */
	uint64_t read_mark;      /* gen when the current or last read started */
	bool read_known;         /* read_mark is valid (no write transaction since) */
	unsigned wakes;          /* notifications on listened channels not yet waited */
	char *channels[PG_MAX_CHANNELS];
	size_t nchannels;
	char errmsg[PG_ERRMSG_SIZE];
};

struct db_bstmt {
	struct db_conn *c;
	char *sql;       /* translated to $N */
	int nparams;     /* highest $N */
	bool *used;      /* per parameter: referenced in sql */
	char **values;   /* per parameter: text, NULL = SQL NULL */
	Oid *types;      /* per parameter: of the current bindings */
	Oid *prep_types; /* per parameter: as prepared */
	char name[16];
	uint64_t prep_gen; /* c->generation when prepared; 0: not prepared */
	PGresult *res;     /* of the current execution */
	int row;           /* current row in res */
	bool done;         /* executed to its end (or failed) */
	int64_t changes;
};

static int pg_connect(struct db_conn *c);
static int pg_ensure(struct db_conn *c);
static void pg_drain(struct db_conn *c);
static void pg_note_read(struct db_conn *c);
static int pg_map_result(struct db_conn *c, PGresult *res, const char *sql);
static int pg_run(struct db_conn *c, const char *sql, int n, const char *const *values);
static int pg_translate(const char *sql, char **out, int *nparams, bool **used);
static bool pg_channel_ok(const char *channel);
static void pg_notice_ignore(void *arg, const char *message);
static void pg_set_errmsg(struct db_conn *c, const char *msg);

/* Accept postgresql:// and postgres:// URIs. */
static bool db_pg_accepts(const char *target)
{
	return strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0;
}

/* Keep the first line of msg (libpq's or the server's) as the
 * connection's last error. Callers pass no bound values. */
static void pg_set_errmsg(struct db_conn *c, const char *msg)
{
	size_t n = strcspn(msg, "\n");

	if (n >= sizeof(c->errmsg))
		n = sizeof(c->errmsg) - 1;
	memcpy(c->errmsg, msg, n);
	c->errmsg[n] = '\0';
}

/* Server notices (IF NOT EXISTS ... skipping) are not worth a log line. */
static void pg_notice_ignore(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/*
 * Connect (or reconnect) c->pg and set the session up: a 5 s lock
 * timeout as SQLite's busy timeout, LISTEN on ia_cache and on every
 * channel of db_listen. On success bumps the generation, which makes
 * every prepared statement and every cache mark stale. 0 or
 * IA_ERR_UNAVAILABLE (logged once per outage).
 */
static int pg_connect(struct db_conn *c)
{
	char *sql = NULL;
	size_t i;
	int rc = IA_ERR_UNAVAILABLE;

	if (c->pg == NULL)
		c->pg = PQconnectdb(c->target);
	else
		PQreset(c->pg);
	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
		pg_set_errmsg(c, c->pg != NULL ? PQerrorMessage(c->pg) : "out of memory");
		goto out;
	}
	PQsetNoticeProcessor(c->pg, pg_notice_ignore, NULL);
	c->generation++;
	c->in_write = false;
	c->in_read = false;
	rc = pg_run(c, "SET lock_timeout = '5s'", 0, NULL);
	if (rc == 0)
		rc = pg_run(c, "LISTEN " PG_CACHE_CHANNEL, 0, NULL);
	for (i = 0; i < c->nchannels && rc == 0; i++) {
		/* Channels were validated as [a-z_]{1,63} by db_pg_listen:
		 * an identifier cannot be bound. */
		sql = xasprintf("LISTEN %s", c->channels[i]);
		rc = pg_run(c, sql, 0, NULL);
		free(sql);
		sql = NULL;
	}
	if (rc != 0)
		goto out;
	/* Notifications sent while we were away are lost: everything read
	 * before now is suspect, and a waiter may have missed a wake-up. */
	c->all_gen = ++c->gen;
	if (c->nchannels > 0)
		c->wakes++;
	if (c->down_logged)
		log_info("db: postgres connection restored");
	c->down_logged = false;
out:
	if (rc != 0 && !c->down_logged) {
		log_warn("db: postgres unavailable: %s", c->errmsg);
		c->down_logged = true;
	}
	return rc;
}

/*
 * Open a connection to target. A server that is down is not an error:
 * statements reconnect later. A URI libpq cannot parse is IA_ERR_INVAL
 * (not logged in full: it may hold a password).
 */
static int db_pg_open(const char *target, struct db_conn **out)
{
	struct db_conn *c = NULL;
	PQconninfoOption *opts;
	char *err = NULL;

	opts = PQconninfoParse(target, &err);
	if (opts == NULL) {
		log_error("db: invalid PostgreSQL URI");
		PQfreemem(err);
		return IA_ERR_INVAL;
	}
	PQconninfoFree(opts);
	c = xcalloc(1, sizeof(*c));
	c->target = xstrdup(target);
	(void)pg_connect(c);
	*out = c;
	return 0;
}

/* Close the connection (statements are finalized by db.c first). */
static void db_pg_close(struct db_conn *c)
{
	size_t i;

	if (c == NULL)
		return;
	if (c->pg != NULL)
		PQfinish(c->pg);
	for (i = 0; i < c->nchannels; i++)
		free(c->channels[i]);
	ia_free_secret(c->target);
	free(c);
}

/*
 * Make sure the connection is up before a statement: outside a
 * transaction, drain what the server sent (a server shutting down sends
 * its goodbye there) and reconnect once when the connection is bad.
 * Inside a transaction a lost connection is IA_ERR_UNAVAILABLE: the
 * transaction died with it.
 */
static int pg_ensure(struct db_conn *c)
{
	if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK && !c->in_write)
		pg_drain(c);
	if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK)
		return 0;
	if (c->in_write) {
		pg_set_errmsg(c, "connection lost inside a transaction");
		return IA_ERR_UNAVAILABLE;
	}
	return pg_connect(c);
}

/*
 * Read what the server sent without a round trip and account for each
 * notification: ia_cache ones move the change generations, those of a
 * listened channel become a pending wake-up for db_pg_wait. A read
 * failure leaves the connection bad (pg_ensure reconnects).
 */
static void pg_drain(struct db_conn *c)
{
	PGnotify *n;
	int64_t uid;

	if (c->pg == NULL || PQconsumeInput(c->pg) == 0)
		return;
	while ((n = PQnotifies(c->pg)) != NULL) {
		if (strcmp(n->relname, PG_CACHE_CHANNEL) == 0) {
			c->gen++;
			if (ia_parse_int64(n->extra, 1, INT64_MAX, &uid) == 0)
				c->slot[uid % PG_SLOTS] = c->gen;
			else
				c->all_gen = c->gen; /* '0' or anything unexpected */
		} else {
			c->wakes++;
		}
		PQfreemem(n);
	}
}

/* A statement is about to run: outside a write transaction it reads as
 * of the notifications drained so far (the first statement of a read
 * group sets the mark for the group); inside one nothing is known. */
static void pg_note_read(struct db_conn *c)
{
	if (c->in_write) {
		c->read_known = false;
		return;
	}
	if (c->in_read && c->read_marked)
		return;
	c->read_mark = c->gen;
	c->read_known = true;
	c->read_marked = c->in_read;
}

/*
 * Turn a result into 0 or an ia_err by SQLSTATE and keep a message for
 * db_errmsg. Unexpected failures are logged with the SQL text (which
 * holds no values: they are bound) and never with DETAIL, or with the
 * primary message of a data exception, which quote values.
 */
static int pg_map_result(struct db_conn *c, PGresult *res, const char *sql)
{
	ExecStatusType status = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	const char *state, *primary;
	int rc = IA_ERR_DB;

	if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY)
		return 0;
	state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (state == NULL)
		state = "";
	if (primary == NULL)
		primary = c->pg != NULL ? PQerrorMessage(c->pg) : "no connection";
	if (strncmp(state, "22", 2) == 0)
		primary = "data exception";
	pg_set_errmsg(c, primary);
	if (strcmp(state, "23505") == 0)
		rc = IA_ERR_EXISTS;
	else if (strcmp(state, "23514") == 0)
		rc = IA_ERR_INVAL;
	else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
		 strcmp(state, "55P03") == 0)
		rc = IA_ERR_BUSY;
	else if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK ||
		 strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
		 strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0)
		rc = IA_ERR_UNAVAILABLE;
	if (rc == IA_ERR_DB)
		log_error("db: postgres %s: %s in: %.200s", state, c->errmsg, sql);
	else if (rc == IA_ERR_UNAVAILABLE && !c->down_logged) {
		log_warn("db: postgres connection lost: %s", c->errmsg);
		c->down_logged = true;
	}
	return rc;
}

/* Run sql with n text parameters (no statement cache) and map the result. */
static int pg_run(struct db_conn *c, const char *sql, int n, const char *const *values)
{
	PGresult *res;
	int rc;

	if (n == 0)
		res = PQexec(c->pg, sql);
	else
		res = PQexecParams(c->pg, sql, n, NULL, values, NULL, NULL, 0);
	rc = pg_map_result(c, res, sql);
	PQclear(res);
	return rc;
}

/* Append one character to the translation buffer (sized by the caller). */
#define PG_PUT(ch) (out[o++] = (ch))

/*
 * Translate `?` and `?N` into `$N` outside '...' literals, "..."
 * identifiers and comments; a bare `?` is one more than the largest index
 * so far, as in SQLite. *out (caller frees) is the new text, *nparams the
 * largest index, *used (caller frees, nparams entries) which indexes the
 * text references. IA_ERR_INVAL for ?0 or an index above PG_MAX_PARAMS.
 */
static int pg_translate(const char *sql, char **out_sql, int *nparams, bool **used_out)
{
	size_t len = strlen(sql), i = 0, o = 0;
	char *out = xmalloc(len * 5 + 1); /* "?" -> at most "$1000" */
	bool used[PG_MAX_PARAMS + 1] = {false};
	char quote = 0; /* '\'', '"', '-' (line comment), '*' (block comment) */
	int max = 0, idx, k;

	while (i < len) {
		char ch = sql[i];

		if (quote == '\'' || quote == '"') {
			if (ch == quote)
				quote = 0;
			PG_PUT(sql[i++]);
			continue;
		}
		if (quote == '-') {
			if (ch == '\n')
				quote = 0;
			PG_PUT(sql[i++]);
			continue;
		}
		if (quote == '*') {
			if (ch == '*' && sql[i + 1] == '/') {
				PG_PUT(sql[i++]);
				quote = 0;
			}
			PG_PUT(sql[i++]);
			continue;
		}
		if (ch == '\'' || ch == '"') {
			quote = ch;
		} else if (ch == '-' && sql[i + 1] == '-') {
			quote = '-';
		} else if (ch == '/' && sql[i + 1] == '*') {
			quote = '*';
			PG_PUT(sql[i++]);
		} else if (ch == '?') {
			i++;
			idx = 0;
			if (sql[i] >= '0' && sql[i] <= '9') {
				while (sql[i] >= '0' && sql[i] <= '9' && idx <= PG_MAX_PARAMS)
					idx = idx * 10 + (sql[i++] - '0');
				if (idx == 0 || idx > PG_MAX_PARAMS)
					goto bad;
			} else {
				idx = max + 1;
				if (idx > PG_MAX_PARAMS)
					goto bad;
			}
			if (idx > max)
				max = idx;
			used[idx] = true;
			k = snprintf(out + o, 6, "$%d", idx);
			o += (size_t)k;
			continue;
		}
		PG_PUT(sql[i++]);
	}
	out[o] = '\0';
	*out_sql = out;
	*nparams = max;
	*used_out = xcalloc((size_t)max + 1, sizeof(bool));
	memcpy(*used_out, used + 1, (size_t)max * sizeof(bool));
	return 0;
bad:
	free(out);
	return IA_ERR_INVAL;
}

#undef PG_PUT

/* Translate sql; the server sees it at its first execution. */
static int db_pg_prepare(struct db_conn *c, const char *sql, struct db_bstmt **out)
{
	struct db_bstmt *st;
	char *text = NULL;
	bool *used = NULL;
	int n = 0;

	if (pg_translate(sql, &text, &n, &used) != 0) {
		pg_set_errmsg(c, "bad parameter index");
		log_error("db: bad parameter index in: %.200s", sql);
		return IA_ERR_DB;
	}
	st = xcalloc(1, sizeof(*st));
	st->c = c;
	st->sql = text;
	st->nparams = n;
	st->used = used;
	st->values = xcalloc((size_t)n + 1, sizeof(char *));
	st->types = xcalloc((size_t)n + 1, sizeof(Oid));
	st->prep_types = xcalloc((size_t)n + 1, sizeof(Oid));
	snprintf(st->name, sizeof(st->name), "s%u", ++c->next_name);
	st->row = -1;
	*out = st;
	return 0;
}

/* Free the statement (its server-side copy ends with the connection). */
static void db_pg_finalize(struct db_bstmt *st)
{
	int i;

	if (st == NULL)
		return;
	PQclear(st->res);
	for (i = 0; i < st->nparams; i++)
		free(st->values[i]);
	free(st->values);
	free(st->types);
	free(st->prep_types);
	free(st->used);
	free(st->sql);
	free(st);
}

/* Store parameter idx (1-based) as text v (taken over) of type oid. */
static int pg_bind(struct db_bstmt *st, int idx, char *v, Oid type)
{
	if (idx < 1 || idx > st->nparams) {
		free(v);
		return IA_ERR_DB;
	}
	free(st->values[idx - 1]);
	st->values[idx - 1] = v;
	st->types[idx - 1] = type;
	return 0;
}

static int db_pg_bind_int64(struct db_bstmt *st, int idx, int64_t v)
{
	return pg_bind(st, idx, xasprintf("%" PRId64, v), PG_INT8OID);
}

static int db_pg_bind_text(struct db_bstmt *st, int idx, const char *s)
{
	return pg_bind(st, idx, xstrdup(s), 0);
}

static int db_pg_bind_null(struct db_bstmt *st, int idx)
{
	return pg_bind(st, idx, NULL, 0);
}

/*
 * Prepare st on the server when this connection has not yet, or when it
 * was prepared with an int8 parameter that is now bound to text. Unbound
 * parameters the text never references are declared text: the server
 * cannot infer a type for them.
 */
static int pg_prepare_server(struct db_bstmt *st)
{
	struct db_conn *c = st->c;
	bool again = st->prep_gen == c->generation;
	char *dealloc = NULL;
	PGresult *res;
	int i, rc;

	if (again) {
		for (i = 0; i < st->nparams; i++) {
			if (st->prep_types[i] == PG_INT8OID && st->types[i] != PG_INT8OID &&
			    st->values[i] != NULL)
				break;
		}
		if (i == st->nparams)
			return 0;
		/* Our own name, not caller text. */
		dealloc = xasprintf("DEALLOCATE %s", st->name);
		(void)pg_run(c, dealloc, 0, NULL);
		free(dealloc);
		snprintf(st->name, sizeof(st->name), "s%u", ++c->next_name);
	}
	for (i = 0; i < st->nparams; i++)
		st->prep_types[i] = st->used[i] ? st->types[i] : PG_TEXTOID;
	res = PQprepare(c->pg, st->name, st->sql, st->nparams, st->prep_types);
	rc = pg_map_result(c, res, st->sql);
	PQclear(res);
	if (rc == 0)
		st->prep_gen = c->generation;
	return rc;
}

/* Execute st: prepared if needed, then run with its bindings. */
static int pg_execute(struct db_bstmt *st)
{
	struct db_conn *c = st->c;
	int64_t n = 0;
	int rc;

	rc = pg_ensure(c);
	if (rc != 0)
		return rc;
	pg_note_read(c);
	rc = pg_prepare_server(st);
	if (rc != 0)
		return rc;
	st->res = PQexecPrepared(c->pg, st->name, st->nparams, (const char *const *)st->values,
				 NULL, NULL, 0);
	rc = pg_map_result(c, st->res, st->sql);
	if (rc != 0) {
		PQclear(st->res);
		st->res = NULL;
		return rc;
	}
	if (ia_parse_int64(PQcmdTuples(st->res), 0, INT64_MAX, &n) != 0)
		n = 0; /* "" for statements that change no rows by nature */
	st->changes = n;
	st->row = -1;
	return 0;
}

/* DB_ROW while rows remain, then DB_DONE; an error ends the statement. */
static int db_pg_step(struct db_bstmt *st)
{
	int rc;

	if (st->done)
		return DB_DONE;
	if (st->res == NULL) {
		rc = pg_execute(st);
		if (rc != 0) {
			st->done = true;
			return rc;
		}
	}
	st->row++;
	if (PQresultStatus(st->res) == PGRES_TUPLES_OK && st->row < PQntuples(st->res))
		return DB_ROW;
	PQclear(st->res);
	st->res = NULL;
	st->done = true;
	return DB_DONE;
}

static int64_t db_pg_changes(struct db_bstmt *st)
{
	return st->changes;
}

/* Drop the result and the bindings: the next step executes again. */
static void db_pg_reset(struct db_bstmt *st)
{
	int i;

	PQclear(st->res);
	st->res = NULL;
	st->row = -1;
	st->done = false;
	for (i = 0; i < st->nparams; i++) {
		free(st->values[i]);
		st->values[i] = NULL;
		st->types[i] = 0;
	}
}

/* The current row's text of col, or NULL (no row, no such column, NULL). */
static const char *pg_value(struct db_bstmt *st, int col)
{
	if (st->res == NULL || st->row < 0 || st->row >= PQntuples(st->res) || col < 0 ||
	    col >= PQnfields(st->res) || PQgetisnull(st->res, st->row, col))
		return NULL;
	return PQgetvalue(st->res, st->row, col);
}

/* Integers come back as text; booleans as "t"/"f". */
static int64_t db_pg_column_int64(struct db_bstmt *st, int col)
{
	const char *v = pg_value(st, col);

	if (v == NULL)
		return 0;
	if (v[0] == 't' && v[1] == '\0')
		return 1;
	return strtoll(v, NULL, 10);
}

static const char *db_pg_column_text(struct db_bstmt *st, int col)
{
	return pg_value(st, col);
}

static bool db_pg_column_is_null(struct db_bstmt *st, int col)
{
	return pg_value(st, col) == NULL;
}

/*
 * begin(write) sends BEGIN; begin(read) sends nothing (every statement
 * reads its own snapshot in autocommit) and only groups the read mark.
 */
static int db_pg_begin(struct db_conn *c, bool write)
{
	int rc;

	if (!write) {
		c->in_read = true;
		c->read_marked = false;
		return 0;
	}
	rc = pg_ensure(c);
	if (rc == 0)
		rc = pg_run(c, "BEGIN", 0, NULL);
	if (rc == 0) {
		c->in_write = true;
		c->read_known = false;
	}
	return rc;
}

/* COMMIT a write transaction; one that failed reports ROLLBACK: IA_ERR_DB. */
static int db_pg_commit(struct db_conn *c)
{
	PGresult *res;
	int rc;

	c->in_read = false;
	c->read_marked = false;
	if (!c->in_write)
		return 0;
	c->in_write = false;
	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
		pg_set_errmsg(c, "connection lost inside a transaction");
		return IA_ERR_UNAVAILABLE;
	}
	res = PQexec(c->pg, "COMMIT");
	rc = pg_map_result(c, res, "COMMIT");
	if (rc == 0 && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		pg_set_errmsg(c, "transaction aborted: rolled back");
		rc = IA_ERR_DB;
	}
	PQclear(res);
	return rc;
}

/* ROLLBACK a write transaction if the connection still has one. */
static void db_pg_rollback(struct db_conn *c)
{
	bool write = c->in_write;

	c->in_write = false;
	c->in_read = false;
	c->read_marked = false;
	if (write && c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK)
		(void)pg_run(c, "ROLLBACK", 0, NULL);
}

/* An advisory lock held until the transaction ends, on every host. */
static int db_pg_lock(struct db_conn *c, int64_t key)
{
	char num[24];
	const char *values[1] = {num};

	snprintf(num, sizeof(num), "%" PRId64, key);
	return pg_run(c, "SELECT pg_advisory_xact_lock($1::bigint)", 1, values);
}

/* The state of the current or last read: see the file comment. */
static void db_pg_mark_read(struct db_conn *c, struct db_mark *out)
{
	memset(out, 0, sizeof(*out));
	out->state[0] = c->read_mark;
	out->known = c->read_known && !c->in_write;
}

/* True when no ia_cache notification drained since m touches user_id
 * (0: any notification at all). */
static bool db_pg_unchanged(struct db_conn *c, const struct db_mark *m, int64_t user_id)
{
	uint64_t mark = m->state[0];

	if (!m->known || c->in_write || c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK)
		return false;
	pg_drain(c);
	if (PQstatus(c->pg) != CONNECTION_OK)
		return false;
	if (user_id <= 0)
		return c->gen <= mark;
	return c->all_gen <= mark && c->slot[user_id % PG_SLOTS] <= mark;
}

/* Channel names are identifiers we splice into LISTEN: [a-z_]{1,63}. */
static bool pg_channel_ok(const char *channel)
{
	size_t i;

	for (i = 0; channel[i] != '\0'; i++) {
		if (i >= PG_CHANNEL_MAX ||
		    !((channel[i] >= 'a' && channel[i] <= 'z') || channel[i] == '_'))
			return false;
	}
	return i > 0;
}

/* pg_notify is transactional: delivered at COMMIT, dropped by ROLLBACK. */
static int db_pg_notify(struct db_conn *c, const char *channel)
{
	const char *values[1] = {channel};
	int rc;

	if (!pg_channel_ok(channel))
		return IA_ERR_INVAL;
	rc = pg_ensure(c);
	if (rc == 0)
		rc = pg_run(c, "SELECT pg_notify($1, '')", 1, values);
	return rc;
}

/* Subscribe to channel, now and after every reconnect. */
static int db_pg_listen(struct db_conn *c, const char *channel)
{
	char *sql = NULL;
	size_t i;
	int rc;

	if (!pg_channel_ok(channel) || strcmp(channel, PG_CACHE_CHANNEL) == 0)
		return IA_ERR_INVAL;
	for (i = 0; i < c->nchannels; i++) {
		if (strcmp(c->channels[i], channel) == 0)
			break;
	}
	if (i == c->nchannels) {
		if (c->nchannels == PG_MAX_CHANNELS)
			return IA_ERR_TOOBIG;
		c->channels[c->nchannels++] = xstrdup(channel);
	}
	rc = pg_ensure(c);
	if (rc != 0)
		goto out;
	sql = xasprintf("LISTEN %s", channel); /* validated above */
	rc = pg_run(c, sql, 0, NULL);
out:
	free(sql);
	return rc;
}

/* Milliseconds on the monotonic clock. */
static int64_t pg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * 1 when a notification for a listened channel is pending or arrives
 * within timeout_ms, else 0 (also on a signal). A bad connection is
 * reconnected (1: a wake-up may have been lost); while the server stays
 * down this sleeps out the timeout and returns 0.
 */
static int db_pg_wait(struct db_conn *c, int timeout_ms)
{
	int64_t deadline = pg_now_ms() + (timeout_ms > 0 ? timeout_ms : 0), left;
	struct pollfd pfd;
	int rc;

	for (;;) {
		if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
			if (!c->in_write && pg_connect(c) == 0)
				break; /* pg_connect counted a wake-up */
			left = deadline - pg_now_ms();
			if (left > 0)
				(void)poll(NULL, 0, (int)left);
			return 0;
		}
		pg_drain(c);
		if (c->wakes > 0)
			break;
		if (PQstatus(c->pg) != CONNECTION_OK)
			continue;
		left = deadline - pg_now_ms();
		if (left <= 0)
			return 0;
		pfd.fd = PQsocket(c->pg);
		pfd.events = POLLIN;
		pfd.revents = 0;
		rc = poll(&pfd, 1, (int)left);
		if (rc < 0)
			return 0; /* EINTR: let the caller look at its signals */
		if (rc == 0)
			return 0;
	}
	c->wakes = 0;
	return 1;
}

/* Run parameterless SQL, several statements allowed (migrations). */
static int db_pg_exec(struct db_conn *c, const char *sql)
{
	int rc = pg_ensure(c);

	if (rc == 0)
		rc = pg_run(c, sql, 0, NULL);
	return rc;
}

static const char *db_pg_errmsg(struct db_conn *c)
{
	return c->errmsg;
}

const struct db_backend db_backend_pg = {
    .name = "postgres",
    .accepts = db_pg_accepts,
    .open = db_pg_open,
    .close = db_pg_close,
    .prepare = db_pg_prepare,
    .finalize = db_pg_finalize,
    .bind_int64 = db_pg_bind_int64,
    .bind_text = db_pg_bind_text,
    .bind_null = db_pg_bind_null,
    .step = db_pg_step,
    .changes = db_pg_changes,
    .reset = db_pg_reset,
    .column_int64 = db_pg_column_int64,
    .column_text = db_pg_column_text,
    .column_is_null = db_pg_column_is_null,
    .begin = db_pg_begin,
    .commit = db_pg_commit,
    .rollback = db_pg_rollback,
    .mark_read = db_pg_mark_read,
    .unchanged = db_pg_unchanged,
    .notify = db_pg_notify,
    .listen = db_pg_listen,
    .wait = db_pg_wait,
    .exec = db_pg_exec,
    .backup = NULL,
    .errmsg = db_pg_errmsg,
    .lock = db_pg_lock,
};
