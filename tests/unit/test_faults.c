/*
 * test_faults.c - the money paths under SQLite I/O and lock failures.
 *
 * A wrapping sqlite3_vfs ("faults", registered as the default before any
 * database is opened) forwards everything to the real VFS but can make
 * the Nth xWrite from the moment it is armed fail (SQLITE_IOERR_WRITE or
 * SQLITE_FULL, once), or make every write-lock request from the Nth on
 * answer SQLITE_BUSY until it is disarmed, as when another process holds
 * the lock (xLock above SHARED, and the WAL writer's exclusive xShmLock:
 * in WAL mode writers lock through the shared memory). Tests may include sqlite3.h;
 * lib/ never sees this file.
 *
 * For each money path (signup bonus, job charge, failure refund, refund on
 * delete, admin grant and revoke, Stripe purchase) and N = 1, 2, ... until
 * the armed fault no longer fires, a fresh copy of a prepared database is
 * opened, the path's own set-up runs without faults, the fault is armed,
 * the operation runs, and then:
 *   - the library answered 0 or a negative ia_err (and did not crash);
 *   - the database holds either exactly the state before the operation or
 *     exactly the state a fault-free run produces (compared on users'
 *     balances, ledger rows, images and Stripe events), and the latter
 *     whenever the answer was 0: a transaction happened fully or not at all;
 *   - "nothing lost": every balance equals the sum of its ledger rows, no
 *     image is charged or refunded twice, no charged image lacks its charge
 *     row, every failed job is refunded;
 *   - the connection still works: the same operation, retried without
 *     faults when the first attempt left nothing behind, succeeds and gives
 *     the fault-free state (no transaction left open by an error path).
 */
#include "config.h"

#include "credits.h"
#include "db.h"
#include "err.h"
#include "jobs.h"
#include "payments.h"
#include "users.h"
#include "util.h"
#include "testdb.h"

#include <check.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the fault VFS ------------------------------------------------------ */

enum fault_kind { FAULT_NONE, FAULT_WRITE, FAULT_BUSY };

static struct {
	enum fault_kind kind;
	int left;     /* calls until the fault fires */
	int write_rc; /* SQLITE_IOERR_WRITE or SQLITE_FULL */
	int fired;
} fault;

/* The WAL writer's lock slot in the shared memory (sqlite.org/walformat.html). */
#define FAULT_WAL_WRITE_LOCK 0

static sqlite3_vfs *fault_real;
static sqlite3_vfs fault_vfs;

/* Our file header; the real VFS's file follows it in the same block. */
struct fault_file {
	sqlite3_file base;
};

#define REAL(f) ((sqlite3_file *)((struct fault_file *)(f) + 1))

static void fault_arm(enum fault_kind kind, int n, int write_rc)
{
	fault.kind = kind;
	fault.left = n;
	fault.write_rc = write_rc;
	fault.fired = 0;
}

/* Disarm; whether the fault fired while armed. */
static int fault_disarm(void)
{
	fault.kind = FAULT_NONE;
	return fault.fired;
}

static int fault_busy_now(void)
{
	if (fault.kind != FAULT_BUSY)
		return 0;
	if (!fault.fired && --fault.left > 0)
		return 0;
	fault.fired = 1;
	return 1;
}

static int fault_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int fault_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int fault_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	if (fault.kind == FAULT_WRITE && !fault.fired && --fault.left == 0) {
		fault.fired = 1;
		return fault.write_rc;
	}
	return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int fault_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int fault_sync(sqlite3_file *f, int flags)
{
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int fault_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int fault_lock(sqlite3_file *f, int level)
{
	if (level > SQLITE_LOCK_SHARED && fault_busy_now())
		return SQLITE_BUSY;
	return REAL(f)->pMethods->xLock(REAL(f), level);
}

static int fault_unlock(sqlite3_file *f, int level)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), level);
}

static int fault_check_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int fault_file_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int fault_sector_size(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int fault_device_chars(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int fault_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **p)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), page, size, extend, p);
}

static int fault_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	if (offset == FAULT_WAL_WRITE_LOCK && (flags & SQLITE_SHM_LOCK) &&
	    (flags & SQLITE_SHM_EXCLUSIVE) && fault_busy_now())
		return SQLITE_BUSY;
	return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void fault_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int fault_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int fault_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}

static int fault_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods fault_io = {
    3,
    fault_close,
    fault_read,
    fault_write,
    fault_truncate,
    fault_sync,
    fault_file_size,
    fault_lock,
    fault_unlock,
    fault_check_reserved,
    fault_file_control,
    fault_sector_size,
    fault_device_chars,
    fault_shm_map,
    fault_shm_lock,
    fault_shm_barrier,
    fault_shm_unmap,
    fault_fetch,
    fault_unfetch,
};

static int fault_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
		      int *out_flags)
{
	int rc;

	(void)vfs;
	rc = fault_real->xOpen(fault_real, name, REAL(f), flags, out_flags);
	f->pMethods = REAL(f)->pMethods != NULL ? &fault_io : NULL;
	return rc;
}

static void fault_vfs_install(void)
{
	if (fault_real != NULL)
		return;
	fault_real = sqlite3_vfs_find(NULL);
	ck_assert_ptr_nonnull(fault_real);
	ck_assert_int_ge(fault_real->iVersion, 1);
	fault_vfs = *fault_real;
	fault_vfs.zName = "faults";
	fault_vfs.szOsFile = (int)sizeof(struct fault_file) + fault_real->szOsFile;
	fault_vfs.xOpen = fault_open;
	ck_assert_int_eq(sqlite3_vfs_register(&fault_vfs, 1), SQLITE_OK);
}

/* ---- databases ---------------------------------------------------------- */

static char *template_path; /* a migrated database with three users (per test) */
static int64_t uid[3];

static char *db_text(struct db *db, const char *sql)
{
	struct db_stmt *st;
	char *s;

	ck_assert_int_eq(db_prepare(db, sql, &st), 0);
	ck_assert_int_eq(db_step(st), DB_ROW);
	s = xstrdup(db_column_is_null(st, 0) ? "" : db_column_text(st, 0));
	db_reset(st);
	return s;
}

static long long db_count(struct db *db, const char *sql)
{
	struct db_stmt *st;
	long long n;

	ck_assert_int_eq(db_prepare(db, sql, &st), 0);
	ck_assert_int_eq(db_step(st), DB_ROW);
	n = db_column_int64(st, 0);
	db_reset(st);
	return n;
}

/* Everything money-related, without timestamps (heap). */
static char *snapshot(struct db *db)
{
	return db_text(db,
		       "SELECT coalesce((SELECT group_concat(id || ':' || credits, ',') FROM "
		       "(SELECT id, credits FROM users ORDER BY id)), '') || '|' || "
		       "coalesce((SELECT group_concat(user_id || ':' || delta || ':' || reason "
		       "|| ':' || coalesce(image_id, '') || ':' || coalesce(ref, ''), ',') FROM "
		       "(SELECT * FROM credit_ledger ORDER BY id)), '') || '|' || "
		       "coalesce((SELECT group_concat(id || ':' || status || ':' || cost || ':' "
		       "|| payment_made, ',') FROM (SELECT * FROM images ORDER BY id)), '') || "
		       "'|' || (SELECT count(*) FROM stripe_events)");
}

/* The invariants of the ledger, whatever happened. */
static void check_nothing_lost(struct db *db, const char *where)
{
	ck_assert_msg(
	    db_count(db, "SELECT count(*) FROM users u WHERE credits <> (SELECT "
			 "coalesce(sum(delta), 0) FROM credit_ledger WHERE user_id = u.id)") == 0,
	    "%s: a balance differs from the sum of its ledger", where);
	ck_assert_msg(db_count(db, "SELECT count(*) FROM (SELECT image_id FROM credit_ledger WHERE "
				   "reason IN ('charge', 'refund') GROUP BY image_id, reason "
				   "HAVING count(*) > 1)") == 0,
		      "%s: an image charged or refunded twice", where);
	ck_assert_msg(db_count(db, "SELECT count(*) FROM images i WHERE cost > 0 AND NOT EXISTS "
				   "(SELECT 1 FROM credit_ledger WHERE image_id = i.id AND "
				   "reason = 'charge')") == 0,
		      "%s: an image with a cost but no charge", where);
	ck_assert_msg(db_count(db, "SELECT count(*) FROM images i WHERE status = 'failed' AND "
				   "cost > 0 AND NOT EXISTS (SELECT 1 FROM credit_ledger WHERE "
				   "image_id = i.id AND reason = 'refund')") == 0,
		      "%s: a failed job without its refund", where);
	ck_assert_msg(db_count(db,
			       "SELECT count(*) FROM credit_ledger c WHERE reason = 'charge' "
			       "AND NOT EXISTS (SELECT 1 FROM images WHERE id = c.image_id) AND "
			       "NOT EXISTS (SELECT 1 FROM credit_ledger r WHERE r.reason = "
			       "'refund' AND r.image_id = c.image_id)") == 0,
		      "%s: a charge for a job that is gone and was not refunded", where);
}

static void make_template(void)
{
	struct db *db;
	int i;

	fault_vfs_install();
	db = testdb_open();
	for (i = 0; i < 3; i++) {
		struct user_new nu = {0};
		char email[32];

		snprintf(email, sizeof(email), "u%d@example.com", i);
		nu.email = email;
		nu.signup_credits = 10;
		ck_assert_int_eq(users_create(db, &nu, &uid[i]), 0);
	}
	ck_assert_int_eq(db_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)"), 0);
	template_path = xstrdup(testdb_file());
	db_close(db); /* keep the file: testdb_close would remove it */
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t n;

	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(out, 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	ck_assert_int_eq(n, 0);
	close(in);
	ck_assert_int_eq(close(out), 0);
}

static void remove_db(const char *path)
{
	char *side;

	unlink(path);
	side = xasprintf("%s-wal", path);
	unlink(side);
	free(side);
	side = xasprintf("%s-shm", path);
	unlink(side);
	free(side);
}

/* A fresh copy of the template, opened (through the fault VFS). */
static struct db *open_copy(const char *path)
{
	struct db *db = NULL;

	remove_db(path);
	copy_file(template_path, path);
	ck_assert_int_eq(db_open(path, &db), 0);
	/* An injected SQLITE_BUSY keeps coming: do not wait 5 s for it each time. */
	ck_assert_int_eq(db_exec(db, "PRAGMA busy_timeout = 20"), 0);
	return db;
}

/* ---- the money paths ---------------------------------------------------- */

struct path {
	const char *name;
	void (*setup)(struct db *db, int64_t *job); /* may be NULL */
	int (*op)(struct db *db, int64_t job);
};

static int op_signup(struct db *db, int64_t job)
{
	struct user_new nu = {0};

	(void)job;
	nu.email = "new@example.com";
	nu.signup_credits = 100;
	nu.show_credits_flag = true;
	return users_create(db, &nu, NULL);
}

static int op_enqueue(struct db *db, int64_t job)
{
	struct job_new j = {0};
	int64_t id;

	(void)job;
	j.user_id = uid[0];
	j.service = "remove-background";
	j.source_key = "sources/ab/x.png";
	return jobs_enqueue(db, &j, &id);
}

static void setup_claimed(struct db *db, int64_t *job)
{
	struct job_claimed c;

	ck_assert_int_eq(op_enqueue(db, 0), 0);
	ck_assert_int_eq(jobs_claim(db, "w1", 60, &c), 0);
	*job = c.id;
	jobs_claimed_cleanup(&c);
}

static int op_fail_refund(struct db *db, int64_t job)
{
	return jobs_fail(db, job, "w1", "Could not decode the image.", false, NULL);
}

static void setup_pending(struct db *db, int64_t *job)
{
	struct job_new j = {0};

	j.user_id = uid[1];
	j.service = "avatar";
	ck_assert_int_eq(jobs_enqueue(db, &j, job), 0);
}

static int op_delete_refund(struct db *db, int64_t job)
{
	char *src = NULL, *img = NULL, *thumb = NULL;
	int rc = jobs_delete(db, job, uid[1], &src, &img, &thumb);

	free(src);
	free(img);
	free(thumb);
	return rc;
}

static int op_grant(struct db *db, int64_t job)
{
	(void)job;
	return credits_apply(db, uid[2], 25, CREDITS_ADMIN_GRANT, 0, "staff", NULL);
}

static int op_revoke(struct db *db, int64_t job)
{
	(void)job;
	return credits_apply(db, uid[2], -7, CREDITS_ADMIN_REVOKE, 0, "staff", NULL);
}

static int op_purchase(struct db *db, int64_t job)
{
	char body[512];
	enum payments_outcome oc;

	(void)job;
	snprintf(body, sizeof(body),
		 "{\"id\":\"evt_f\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":{"
		 "\"id\":\"pi_f\",\"amount_received\":2000,\"currency\":\"usd\","
		 "\"metadata\":{\"user_id\":\"%lld\"}}}}",
		 (long long)uid[0]);
	return payments_apply_event(db, 50, body, strlen(body), &oc, NULL);
}

static const struct path paths[] = {
    {"signup bonus", NULL, op_signup},
    {"job charge", NULL, op_enqueue},
    {"failure refund", setup_claimed, op_fail_refund},
    {"refund on delete", setup_pending, op_delete_refund},
    {"admin grant", NULL, op_grant},
    {"admin revoke", NULL, op_revoke},
    {"stripe purchase", NULL, op_purchase},
};

/*
 * Run path p with fault kind at N = 1, 2, ... until the fault no longer
 * fires; returns how many runs met the fault.
 */
static int run_path(const struct path *p, enum fault_kind kind, int write_rc)
{
	char *path = xasprintf("%s.run", template_path);
	char *expected, *before, *after;
	struct db *db;
	int64_t job = 0;
	int n, rc, faulted = 0;

	/* The fault-free result. */
	db = open_copy(path);
	if (p->setup != NULL)
		p->setup(db, &job);
	ck_assert_msg(p->op(db, job) == 0, "%s fails without faults", p->name);
	expected = snapshot(db);
	check_nothing_lost(db, p->name);
	db_close(db);

	for (n = 1; n < 500; n++) {
		char where[96];
		int fired;

		snprintf(where, sizeof(where), "%s, %s at %d", p->name,
			 kind == FAULT_BUSY        ? "SQLITE_BUSY"
			 : write_rc == SQLITE_FULL ? "SQLITE_FULL"
						   : "SQLITE_IOERR_WRITE",
			 n);
		db = open_copy(path);
		if (p->setup != NULL)
			p->setup(db, &job);
		before = snapshot(db);
		fault_arm(kind, n, write_rc);
		rc = p->op(db, job);
		fired = fault_disarm();
		ck_assert_msg(rc <= 0, "%s: answered %d", where, rc);
		after = snapshot(db);
		check_nothing_lost(db, where);
		if (rc == 0)
			ck_assert_msg(strcmp(after, expected) == 0,
				      "%s: answered 0 but the change is not all there", where);
		else
			ck_assert_msg(
			    strcmp(after, before) == 0 || strcmp(after, expected) == 0,
			    "%s: half a transaction (answer %d):\n before %s\n after  %s\n "
			    "expected %s",
			    where, rc, before, after, expected);
		if (strcmp(after, before) == 0 && strcmp(before, expected) != 0) {
			/* Nothing happened: the same connection must still do it. */
			rc = p->op(db, job);
			ck_assert_msg(rc == 0, "%s: the retry without faults answered %d", where,
				      rc);
			free(after);
			after = snapshot(db);
			ck_assert_msg(strcmp(after, expected) == 0, "%s: the retry differs", where);
			check_nothing_lost(db, where);
		}
		free(before);
		free(after);
		db_close(db);
		if (!fired)
			break;
		faulted++;
	}
	ck_assert_msg(n < 500, "%s: the fault kept firing", p->name);
	remove_db(path);
	free(path);
	free(expected);
	return faulted;
}

static void run_all_paths(enum fault_kind kind, int write_rc)
{
	size_t i;

	make_template();
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		ck_assert_msg(run_path(&paths[i], kind, write_rc) > 0,
			      "%s: the fault never fired (the shim is not in the path)",
			      paths[i].name);
	remove_db(template_path);
	free(template_path);
	template_path = NULL;
}

START_TEST(test_write_ioerr_loses_nothing)
{
	run_all_paths(FAULT_WRITE, SQLITE_IOERR_WRITE);
}
END_TEST

START_TEST(test_disk_full_loses_nothing)
{
	run_all_paths(FAULT_WRITE, SQLITE_FULL);
}
END_TEST

START_TEST(test_busy_loses_nothing)
{
	run_all_paths(FAULT_BUSY, 0);
}
END_TEST

static Suite *faults_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("vfs");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_write_ioerr_loses_nothing);
	tcase_add_test(tc, test_disk_full_loses_nothing);
	tcase_add_test(tc, test_busy_loses_nothing);
	/* Faults injected into SQLite's VFS: on PostgreSQL, the server's
	 * failures are tested by tests/api/test_postgres.py. */
	if (testdb_is_sqlite())
		suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	sr = srunner_create(faults_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
