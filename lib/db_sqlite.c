/*
 * db_sqlite.c - the SQLite backend of lib/db (db_backend.h): the embedded
 * default, one file on local disk shared by every process of one machine.
 * The only file that includes sqlite3.h.
 *
 * Dialect: SQLite speaks the portable SQL of db.h as it is, except for
 * `FOR UPDATE [SKIP LOCKED]`, which it does not know and does not need:
 * every write transaction takes the database's single write lock at
 * BEGIN IMMEDIATE, so a row read inside one cannot change under it and no
 * other writer holds rows to skip. prepare drops those words.
 *
 * Change detection reads the WAL-index header that every commit by any
 * process rewrites (sqlite.org/walformat.html). Wake-ups go through a FIFO
 * beside the database file per channel: one byte per notification, read
 * by one listener.
 */
#include "config.h"

#include "db_backend.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#define SQ_MAX_LISTEN  4
#define SQ_MAX_PENDING 4

struct db_bstmt {
	sqlite3_stmt *stmt;
	struct db_conn *c;
	int64_t changes; /* rows changed by the last completed step */
};

struct db_conn {
	sqlite3 *conn;
	char *path;
	bool read_pending;           /* begin(read): BEGIN before the next statement */
	bool wal;                    /* in WAL mode: reads can be versioned */
	const unsigned char *walhdr; /* the WAL-index header in shared memory, or NULL */
	struct db_mark version;      /* when the current or last read transaction began */
	int listen_fd[SQ_MAX_LISTEN];
	int n_listen;
	char *pending[SQ_MAX_PENDING]; /* channels to wake when the transaction commits */
	int n_pending;
};

/* The WAL-index header: two copies of a 48-byte struct at the start of the
 * first 32 KiB region of the -shm file (sqlite.org/walformat.html). */
#define SQ_WALHDR_SIZE   48
#define SQ_WALINDEX_PGSZ 32768
#define SQ_WALHDR_ISINIT 12 /* offset of the isInit byte */

_Static_assert(sizeof(((struct db_mark *)0)->state) >= SQ_WALHDR_SIZE,
	       "a db_mark holds a WAL-index header");

static int sq_map_rc(struct db_conn *c, int rc);
static int sq_run(struct db_conn *c, const char *sql);
static bool sq_in_write(struct db_conn *c);
static void sq_map_wal_index(struct db_conn *c);
static bool sq_is_wal(struct db_conn *c);
static bool sq_wal_header(const struct db_conn *c, unsigned char out[SQ_WALHDR_SIZE]);
static char *sq_fifo_path(const struct db_conn *c, const char *channel);
static void sq_wake(const struct db_conn *c, const char *channel);
static void sq_drop_pending(struct db_conn *c, bool fire);

static bool sq_accepts(const char *target)
{
	return target != NULL && target[0] != '\0';
}

static int sq_open(const char *target, struct db_conn **out)
{
	static bool configured;
	struct db_conn *c = xcalloc(1, sizeof(*c));
	int rc;

	/* Before SQLite initialises: no allocation statistics, which would
	 * take a global mutex on every sqlite3_malloc. Harmless if too late. */
	if (!configured) {
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
		configured = true;
	}
	c->path = xstrdup(target);
	rc =
	    sqlite3_open_v2(target, &c->conn,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_error("db: cannot open %s: %s", target,
			  c->conn ? sqlite3_errmsg(c->conn) : "?");
		goto fail;
	}
	sqlite3_busy_timeout(c->conn, 5000);
	if (sqlite3_exec(c->conn,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
			 "PRAGMA foreign_keys=ON;",
			 NULL, NULL, NULL) != SQLITE_OK) {
		log_error("db: cannot configure %s: %s", target, sqlite3_errmsg(c->conn));
		goto fail;
	}
	c->wal = sq_is_wal(c);
	*out = c;
	return 0;
fail:
	sqlite3_close(c->conn);
	free(c->path);
	free(c);
	return IA_ERR_DB;
}

static void sq_close(struct db_conn *c)
{
	int i;

	sq_drop_pending(c, false);
	for (i = 0; i < c->n_listen; i++)
		close(c->listen_fd[i]);
	sqlite3_close(c->conn);
	free(c->path);
	free(c);
}

/* Translate an SQLite result code into an ia_err, logging real failures. */
static int sq_map_rc(struct db_conn *c, int rc)
{
	int ext = sqlite3_extended_errcode(c->conn);

	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE: return DB_DONE;
	case SQLITE_ROW: return DB_ROW;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return IA_ERR_BUSY;
	case SQLITE_CONSTRAINT:
		if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
			return IA_ERR_EXISTS;
		if (ext == SQLITE_CONSTRAINT_CHECK)
			return IA_ERR_INVAL;
		log_error("db: constraint: %s", sqlite3_errmsg(c->conn));
		return IA_ERR_DB;
	default: log_error("db: %s (%d)", sqlite3_errmsg(c->conn), ext); return IA_ERR_DB;
	}
}

/* Drop each " FOR UPDATE SKIP LOCKED" and " FOR UPDATE" from sql (see the
 * file comment). The words never occur inside our string literals. */
static char *sq_translate(const char *sql)
{
	static const char *const drop[] = {" FOR UPDATE SKIP LOCKED", " FOR UPDATE"};
	char *out = xstrdup(sql);
	size_t i;

	for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
		size_t len = strlen(drop[i]);
		char *p = strstr(out, drop[i]);

		while (p != NULL) {
			memmove(p, p + len, strlen(p + len) + 1);
			p = strstr(p, drop[i]);
		}
	}
	return out;
}

static int sq_prepare(struct db_conn *c, const char *sql, struct db_bstmt **out)
{
	char *text = sq_translate(sql);
	sqlite3_stmt *raw = NULL;
	int rc = sqlite3_prepare_v3(c->conn, text, -1, SQLITE_PREPARE_PERSISTENT, &raw, NULL);
	struct db_bstmt *st;

	free(text);
	if (rc != SQLITE_OK) {
		log_error("db: prepare failed: %s", sqlite3_errmsg(c->conn));
		return IA_ERR_DB;
	}
	st = xcalloc(1, sizeof(*st));
	st->stmt = raw;
	st->c = c;
	*out = st;
	return 0;
}

static void sq_finalize(struct db_bstmt *st)
{
	sqlite3_finalize(st->stmt);
	free(st);
}

static int sq_bind_int64(struct db_bstmt *st, int idx, int64_t v)
{
	return sqlite3_bind_int64(st->stmt, idx, v) == SQLITE_OK ? 0 : IA_ERR_DB;
}

static int sq_bind_text(struct db_bstmt *st, int idx, const char *s)
{
	return sqlite3_bind_text(st->stmt, idx, s, -1, SQLITE_TRANSIENT) == SQLITE_OK ? 0
										      : IA_ERR_DB;
}

static int sq_bind_null(struct db_bstmt *st, int idx)
{
	return sqlite3_bind_null(st->stmt, idx) == SQLITE_OK ? 0 : IA_ERR_DB;
}

static bool sq_in_write(struct db_conn *c)
{
	return sqlite3_txn_state(c->conn, NULL) == SQLITE_TXN_WRITE;
}

static int sq_step(struct db_bstmt *st)
{
	struct db_conn *c = st->c;
	int rc;

	if (c->read_pending) {
		c->read_pending = false;
		rc = sq_run(c, "BEGIN");
		if (rc != 0)
			return rc;
	}
	/* A statement that starts a transaction reads the database as of this
	 * header or later; one that writes makes its reads uncacheable. */
	if (sqlite3_txn_state(c->conn, NULL) == SQLITE_TXN_NONE)
		c->version.known = sq_wal_header(c, (unsigned char *)c->version.state);
	rc = sqlite3_step(st->stmt);
	if (sq_in_write(c))
		c->version.known = false;
	if (c->walhdr == NULL && c->wal)
		sq_map_wal_index(c); /* SQLite has mapped it for this read */
	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE) {
		st->changes = sqlite3_changes(c->conn);
		return DB_DONE;
	}
	rc = sq_map_rc(c, rc);
	sqlite3_reset(st->stmt);
	return rc;
}

static int64_t sq_changes(struct db_bstmt *st)
{
	return st->changes;
}

static void sq_reset(struct db_bstmt *st)
{
	sqlite3_reset(st->stmt);
	sqlite3_clear_bindings(st->stmt);
}

static int64_t sq_column_int64(struct db_bstmt *st, int col)
{
	return sqlite3_column_int64(st->stmt, col);
}

static const char *sq_column_text(struct db_bstmt *st, int col)
{
	return (const char *)sqlite3_column_text(st->stmt, col);
}

static bool sq_column_is_null(struct db_bstmt *st, int col)
{
	return sqlite3_column_type(st->stmt, col) == SQLITE_NULL;
}

/* Run a parameterless statement (transaction control) to completion. */
static int sq_run(struct db_conn *c, const char *sql)
{
	int rc = sqlite3_exec(c->conn, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sq_map_rc(c, rc);
}

/*
 * begin(write) takes the write lock now (BEGIN IMMEDIATE: a read->write
 * upgrade inside a deferred transaction fails with SQLITE_BUSY regardless
 * of the busy timeout); begin(read) defers BEGIN to the next statement.
 */
static int sq_begin(struct db_conn *c, bool write)
{
	if (!write) {
		c->read_pending = true;
		return 0;
	}
	sq_drop_pending(c, false);
	return sq_run(c, "BEGIN IMMEDIATE");
}

static int sq_commit(struct db_conn *c)
{
	int rc;

	if (c->read_pending) {
		c->read_pending = false;
		return 0;
	}
	rc = sq_run(c, "COMMIT");
	sq_drop_pending(c, rc == 0);
	return rc;
}

static void sq_rollback(struct db_conn *c)
{
	c->read_pending = false;
	sq_drop_pending(c, false);
	if (!sqlite3_get_autocommit(c->conn))
		sqlite3_exec(c->conn, "ROLLBACK", NULL, NULL, NULL);
}

/* True when the connection is in WAL mode (open asks for it; an in-memory
 * database cannot have it). */
static bool sq_is_wal(struct db_conn *c)
{
	sqlite3_stmt *st = NULL;
	bool wal = false;

	if (sqlite3_prepare_v2(c->conn, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		wal = strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
	sqlite3_finalize(st);
	return wal;
}

/* Find SQLite's own mapping of the WAL-index: after a read, xShmMap of
 * the connection's file hands back the region SQLite mapped for it. */
static void sq_map_wal_index(struct db_conn *c)
{
	sqlite3_file *f = NULL;
	void volatile *region = NULL;

	if (!c->wal || sqlite3_file_control(c->conn, "main", SQLITE_FCNTL_FILE_POINTER, &f) != 0 ||
	    f == NULL || f->pMethods == NULL || f->pMethods->iVersion < 2 ||
	    f->pMethods->xShmMap == NULL)
		return;
	if (f->pMethods->xShmMap(f, 0, SQ_WALINDEX_PGSZ, 0, &region) == SQLITE_OK)
		c->walhdr = (const unsigned char *)region;
}

/* Copy the WAL-index header the way SQLite's readers do: first copy, a
 * barrier, second copy. A committing writer updates them in the other
 * order, so two equal copies are a consistent header. */
static bool sq_wal_header(const struct db_conn *c, unsigned char out[SQ_WALHDR_SIZE])
{
	unsigned char second[SQ_WALHDR_SIZE];

	if (c->walhdr == NULL)
		return false;
	memcpy(out, c->walhdr, SQ_WALHDR_SIZE);
	atomic_thread_fence(memory_order_acquire);
	memcpy(second, c->walhdr + SQ_WALHDR_SIZE, SQ_WALHDR_SIZE);
	return memcmp(out, second, SQ_WALHDR_SIZE) == 0 && out[SQ_WALHDR_ISINIT] != 0;
}

static void sq_mark_read(struct db_conn *c, struct db_mark *out)
{
	*out = c->version;
	if (sq_in_write(c))
		out->known = false;
}

/* Any commit changes the header, so user_id cannot narrow it down. */
static bool sq_unchanged(struct db_conn *c, const struct db_mark *m, int64_t user_id)
{
	unsigned char now[SQ_WALHDR_SIZE];

	(void)user_id;
	if (!m->known || sq_in_write(c))
		return false;
	return sq_wal_header(c, now) && memcmp(now, m->state, SQ_WALHDR_SIZE) == 0;
}

/* The FIFO of channel: "<database file>.<channel>". Caller frees. */
static char *sq_fifo_path(const struct db_conn *c, const char *channel)
{
	return xasprintf("%s.%s", c->path, channel);
}

/*
 * Write one byte into channel's FIFO. Opened read-write, so the open never
 * fails for want of a reader and the write can never raise SIGPIPE; with
 * no listener the byte goes when we close. A full pipe already holds
 * enough wake-ups.
 */
static void sq_wake(const struct db_conn *c, const char *channel)
{
	char *path = sq_fifo_path(c, channel);
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, "!", 1) < 0 && errno != EAGAIN)
			log_warn("db: cannot wake %s: %s", channel, strerror(errno));
		close(fd);
	}
	free(path);
}

/* Forget (or, after a commit, deliver) the notifications of a transaction. */
static void sq_drop_pending(struct db_conn *c, bool fire)
{
	int i;

	for (i = 0; i < c->n_pending; i++) {
		if (fire)
			sq_wake(c, c->pending[i]);
		free(c->pending[i]);
	}
	c->n_pending = 0;
}

static int sq_notify(struct db_conn *c, const char *channel)
{
	int i;

	if (sqlite3_get_autocommit(c->conn)) {
		sq_wake(c, channel);
		return 0;
	}
	for (i = 0; i < c->n_pending; i++)
		if (strcmp(c->pending[i], channel) == 0)
			return 0;
	if (c->n_pending == SQ_MAX_PENDING)
		return IA_ERR_TOOBIG;
	c->pending[c->n_pending++] = xstrdup(channel);
	return 0;
}

/* Create channel's FIFO (mode 0600, beside the database) and keep it open
 * read-write: a listener that is also a writer never sees POLLHUP. */
static int sq_listen(struct db_conn *c, const char *channel)
{
	char *path;
	int fd;

	if (c->n_listen == SQ_MAX_LISTEN)
		return IA_ERR_TOOBIG;
	path = sq_fifo_path(c, channel);
	if (mkfifo(path, 0600) != 0 && errno != EEXIST) {
		log_error("db: cannot make %s: %s", path, strerror(errno));
		free(path);
		return IA_ERR_IO;
	}
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return IA_ERR_IO;
	c->listen_fd[c->n_listen++] = fd;
	return 0;
}

/* Wait for a byte on any listened FIFO and take exactly one, so each
 * notification wakes one listener. */
static int sq_wait(struct db_conn *c, int timeout_ms)
{
	struct pollfd pfd[SQ_MAX_LISTEN];
	char byte;
	int i, n;

	for (i = 0; i < c->n_listen; i++) {
		pfd[i].fd = c->listen_fd[i];
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	n = poll(pfd, (nfds_t)c->n_listen, timeout_ms);
	if (n <= 0)
		return 0;
	for (i = 0; i < c->n_listen; i++)
		if ((pfd[i].revents & POLLIN) && read(pfd[i].fd, &byte, 1) == 1)
			return 1;
	return 0;
}

static int sq_exec(struct db_conn *c, const char *sql)
{
	return sq_run(c, sql);
}

static int sq_backup(struct db_conn *c, const char *dest_path)
{
	sqlite3 *dest = NULL;
	sqlite3_backup *bk = NULL;
	int rc = IA_ERR_DB;

	if (sqlite3_open(dest_path, &dest) != SQLITE_OK)
		goto out;
	bk = sqlite3_backup_init(dest, "main", c->conn, "main");
	if (bk == NULL)
		goto out;
	do {
		rc = sqlite3_backup_step(bk, 256);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(50);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	rc = rc == SQLITE_DONE ? 0 : IA_ERR_DB;
out:
	if (bk != NULL)
		sqlite3_backup_finish(bk);
	if (rc != 0 && dest != NULL)
		log_error("db: backup failed: %s", sqlite3_errmsg(dest));
	sqlite3_close(dest);
	return rc;
}

static const char *sq_errmsg(struct db_conn *c)
{
	return sqlite3_errmsg(c->conn);
}

/* BEGIN IMMEDIATE already serialises every writer: any key is held. */
static int sq_lock(struct db_conn *c, int64_t key)
{
	(void)c;
	(void)key;
	return 0;
}

const struct db_backend db_backend_sqlite = {
    .name = "sqlite",
    .accepts = sq_accepts,
    .open = sq_open,
    .close = sq_close,
    .prepare = sq_prepare,
    .finalize = sq_finalize,
    .bind_int64 = sq_bind_int64,
    .bind_text = sq_bind_text,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .changes = sq_changes,
    .reset = sq_reset,
    .column_int64 = sq_column_int64,
    .column_text = sq_column_text,
    .column_is_null = sq_column_is_null,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .mark_read = sq_mark_read,
    .unchanged = sq_unchanged,
    .notify = sq_notify,
    .listen = sq_listen,
    .wait = sq_wait,
    .exec = sq_exec,
    .backup = sq_backup,
    .errmsg = sq_errmsg,
    .lock = sq_lock,
};
