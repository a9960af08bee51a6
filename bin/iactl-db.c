/*
 * iactl-db.c - `iactl db copy-to URL`: the move of a SQLite deployment into
 * an empty PostgreSQL database (issue 10, "Moving over").
 *
 * The source is the database iactl opens by its usual rules (DB_PATH, else
 * IA_STATE_DIR/ia.sqlite3; DATABASE_URL must be unset); the target is the
 * libpq URI on the command line, never printed (it may hold a password).
 * The target is migrated, must hold no users, images or ledger rows, and is
 * then filled in ONE transaction from one read snapshot of the source (a
 * running stack may keep writing: the copy is the state at the snapshot,
 * whole, never torn). Every row keeps its id; the identity sequences are
 * then moved past the copied ids. Before the commit the target is checked
 * (row counts per table, every user's ledger sum against users.credits,
 * the total ledger sum against the source's) and any mismatch rolls the
 * whole copy back; after the commit the same checks run again on what was
 * committed. batch_workers and rate_limits are transient and not copied.
 * With --media, every media file the snapshot's rows name is first copied
 * from the local disk into the S3 bucket of the AWS_* settings and read
 * back (size and SHA-256, storecopy.h); a failure there copies no row.
 * Nothing is switched: the stack keeps its settings until the operator
 * changes them.
 *
 * The tables are a constant list below, with each column's type: a value is
 * bound as int64, text or NULL as the source column holds it, so nothing
 * about column types is asked of the database.
 */
#include "config.h"

#include "iactl.h"
#include "db.h"
#include "err.h"
#include "settings.h"
#include "store.h"
#include "storecopy.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/*
 * One copied table. cols is the column list of both schemas (after every
 * migration), types has one letter per column ('i' int64, 't' text), marks
 * one `?` per column. The SQL is put together by the compiler from these
 * constants, never at run time.
 */
struct copy_table {
	const char *name;
	const char *select_sql; /* source, in key order */
	const char *insert_sql; /* target */
	const char *count_sql;  /* either side */
	const char *types;
	const char *clear_sql; /* rows the migrations seed: replaced by the source's */
	const char *seq_sql;   /* moves the target's identity past the copied ids */
};

#define COPY_SQL(tbl, cols, marks)                                                                 \
	"SELECT " cols " FROM " tbl " ORDER BY 1",                                                 \
	    "INSERT INTO " tbl "(" cols ") VALUES (" marks ")", "SELECT count(*) FROM " tbl

/*
 * PostgreSQL-only SQL, on purpose kept here and nowhere else: an identity
 * column filled with explicit ids does not advance its sequence, so the
 * next INSERT ... RETURNING id would collide with a copied row. db.h has no
 * portable way to say this (SQLite needs nothing: it takes max(id) + 1), and
 * the move to PostgreSQL is the one place that needs it. Table names are
 * constants; max(NULL) of an empty table leaves the sequence alone (setval
 * is strict).
 */
#define COPY_SETVAL(tbl, col)                                                                      \
	"SELECT setval(pg_get_serial_sequence('" tbl "', '" col "'), max(" col ")) FROM " tbl

/* In the order foreign keys need: users and flags before what points at them. */
static const struct copy_table copy_tables[] = {
    {"users",
     COPY_SQL("users",
	      "id, email, password_hash, first_name, last_name, credits, is_staff, is_superuser, "
	      "banned, ban_reason, token_version, created, updated, email_verified",
	      "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"),
     "ittttiiiitiiii", NULL, COPY_SETVAL("users", "id")},
    /* The migrations seed show_credits and the nine services; the source's
     * rows replace them (an upsert that also drops a seed the source no
     * longer has, so counts match). Nothing points at them yet: the target
     * has no users, hence no user_flags. */
    {"flags", COPY_SQL("flags", "id, name, enabled, created", "?, ?, ?, ?"), "itii",
     "DELETE FROM flags", COPY_SETVAL("flags", "id")},
    {"services",
     COPY_SQL("services", "code, slug, name, description, tokens, enabled, engine",
	      "?, ?, ?, ?, ?, ?, ?"),
     "itttiit", "DELETE FROM services", COPY_SETVAL("services", "code")},
    {"user_flags", COPY_SQL("user_flags", "flag_id, user_id", "?, ?"), "ii", NULL, NULL},
    {"images",
     COPY_SQL("images",
	      "id, user_id, service, status, params, prompt, aspect_ratio, source_key, "
	      "image_key, alternate_url, ai_response, error, width, height, content_type, bytes, "
	      "cost, payment_made, attempts, lease_until, worker, created, updated, "
	      "source_ready, run_after, claim_seq, original_name, thumbnail_key",
	      "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"),
     "iittttttttttiitiiiiitiiiiitt", NULL,
     /* Past every id the ledger names too: an image row may be gone while
      * its charge/refund rows (unique per image id) stay. */
     "SELECT setval(pg_get_serial_sequence('images', 'id'), max(m)) FROM "
     "(SELECT max(id) AS m FROM images UNION ALL SELECT max(image_id) FROM credit_ledger) AS t"},
    {"credit_ledger",
     COPY_SQL("credit_ledger", "id, user_id, delta, balance_after, reason, image_id, ref, created",
	      "?, ?, ?, ?, ?, ?, ?, ?"),
     "iiiititi", NULL, COPY_SETVAL("credit_ledger", "id")},
    {"password_resets",
     COPY_SQL("password_resets", "id, user_id, token_hash, created, used", "?, ?, ?, ?, ?"),
     "iitii", NULL, COPY_SETVAL("password_resets", "id")},
    {"email_verifications",
     COPY_SQL("email_verifications", "id, user_id, token_hash, created, used", "?, ?, ?, ?, ?"),
     "iitii", NULL, COPY_SETVAL("email_verifications", "id")},
    {"contact_messages",
     COPY_SQL("contact_messages", "id, name, email, subject, message, created", "?, ?, ?, ?, ?, ?"),
     "itttti", NULL, COPY_SETVAL("contact_messages", "id")},
    {"stripe_events",
     COPY_SQL("stripe_events",
	      "event_id, payment_intent, user_id, amount_received, credits, created",
	      "?, ?, ?, ?, ?, ?"),
     "ttiiii", NULL, NULL},
    {"outbox",
     COPY_SQL("outbox",
	      "id, kind, rcpt, subject, body, token, state, attempts, next_attempt, give_up, "
	      "lease_until, last_error, created, updated",
	      "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"),
     "ittttttiiiitii", NULL, COPY_SETVAL("outbox", "id")},
};
#define COPY_NTABLES (sizeof(copy_tables) / sizeof(copy_tables[0]))

/* What the source snapshot holds, and what the target must end up with. */
struct copy_counts {
	int64_t rows[COPY_NTABLES];
	int64_t ledger_sum;
};

static bool copy_table_sane(const struct copy_table *t);
static bool copy_is_pg_url(const char *s);
static int copy_query_int(struct db *db, const char *sql, int64_t *out);
static int copy_target_empty(struct db *dst);
static int copy_count(struct db *db, struct copy_counts *c);
static int copy_table_rows(struct db *src, struct db *dst, const struct copy_table *t,
			   int64_t *n_out);
static int copy_sequences(struct db *dst);
static int copy_ledger_matches(struct db *db, const char *side);
static int copy_verify(struct db *dst, const struct copy_counts *want, const char *when);
static int copy_db_fail(struct db *db, const char *what, int rc);
static int copy_media(struct db *src);

/*
 * True when a table entry's three lists agree (as many columns as types
 * and as `?`): a guard against editing one and not the others, checked
 * before anything is written.
 */
static bool copy_table_sane(const struct copy_table *t)
{
	size_t ncols = 1, nmarks = 0, i;
	const char *cols = t->select_sql + strlen("SELECT ");

	for (i = 0; cols[i] != '\0' && strncmp(cols + i, " FROM ", 6) != 0; i++)
		if (cols[i] == ',')
			ncols++;
	for (i = 0; t->insert_sql[i] != '\0'; i++)
		if (t->insert_sql[i] == '?')
			nmarks++;
	return ncols == strlen(t->types) && nmarks == ncols &&
	       strspn(t->types, "it") == strlen(t->types);
}

/* True for a libpq URI (the only kind of target copy-to fills). */
static bool copy_is_pg_url(const char *s)
{
	return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0;
}

/* Run a one-row, one-column integer query; *out gets its value (0 for
 * NULL). No bindings; the statement is reset before returning. */
static int copy_query_int(struct db *db, const char *sql, int64_t *out)
{
	struct db_stmt *st = NULL;
	int rc;

	rc = db_prepare(db, sql, &st);
	if (rc == 0)
		rc = db_step_int64(st, out);
	return rc;
}

/*
 * IACTL_OK when the target holds no users, images or ledger rows (inside
 * the target's transaction, so a concurrent copy collides on the keys),
 * else IACTL_FAIL with what it holds on stderr.
 */
static int copy_target_empty(struct db *dst)
{
	int64_t users = 0, images = 0, ledger = 0;
	int rc;

	rc = copy_query_int(dst, "SELECT count(*) FROM users", &users);
	if (rc == 0)
		rc = copy_query_int(dst, "SELECT count(*) FROM images", &images);
	if (rc == 0)
		rc = copy_query_int(dst, "SELECT count(*) FROM credit_ledger", &ledger);
	if (rc != 0)
		return copy_db_fail(dst, "reading the target failed", rc);
	if (users == 0 && images == 0 && ledger == 0)
		return IACTL_OK;
	fprintf(stderr,
		"iactl: the target database is not empty (%" PRId64 " users, %" PRId64
		" images, %" PRId64 " ledger rows): copy-to only fills an empty database; "
		"nothing was copied\n",
		users, images, ledger);
	return IACTL_FAIL;
}

/* Row counts of every copied table and the ledger total of db into *c. */
static int copy_count(struct db *db, struct copy_counts *c)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < COPY_NTABLES && rc == 0; i++)
		rc = copy_query_int(db, copy_tables[i].count_sql, &c->rows[i]);
	if (rc == 0)
		rc = copy_query_int(db, "SELECT coalesce(sum(delta), 0) FROM credit_ledger",
				    &c->ledger_sum);
	return rc;
}

/*
 * Copy every row of table t from src (inside its read snapshot) into dst
 * (inside its write transaction), ids included; *n_out gets the number of
 * rows written. On error dst's transaction must be rolled back.
 */
static int copy_table_rows(struct db *src, struct db *dst, const struct copy_table *t,
			   int64_t *n_out)
{
	struct db_stmt *sel = NULL, *ins = NULL;
	int64_t n = 0;
	int rc, col;

	if (t->clear_sql != NULL) {
		rc = db_prepare(dst, t->clear_sql, &ins);
		if (rc == 0)
			rc = db_step_count(ins, NULL);
		if (rc != 0)
			goto out;
	}
	rc = db_prepare(src, t->select_sql, &sel);
	if (rc == 0)
		rc = db_prepare(dst, t->insert_sql, &ins);
	if (rc != 0)
		goto out;
	for (;;) {
		rc = db_step(sel);
		if (rc != DB_ROW)
			break;
		db_reset(ins);
		for (col = 0; t->types[col] != '\0'; col++) {
			if (db_column_is_null(sel, col))
				db_bind_null(ins, col + 1);
			else if (t->types[col] == 'i')
				db_bind_int64(ins, col + 1, db_column_int64(sel, col));
			else
				db_bind_text(ins, col + 1, db_column_text(sel, col));
		}
		rc = db_step_count(ins, NULL);
		if (rc != 0) {
			/* The key (an id, or a Stripe event id) finds the row. */
			fprintf(stderr, "iactl: %s: the target refused the row with key %s\n",
				t->name, db_column_text(sel, 0));
			goto out;
		}
		n++;
	}
	if (rc == DB_DONE) {
		rc = 0;
		*n_out = n;
	}
out:
	if (sel != NULL)
		db_reset(sel);
	return rc;
}

/* Move every identity sequence of dst past the ids just copied. */
static int copy_sequences(struct db *dst)
{
	int64_t ignored;
	size_t i;
	int rc = 0;

	for (i = 0; i < COPY_NTABLES && rc == 0; i++) {
		if (copy_tables[i].seq_sql != NULL)
			rc = copy_query_int(dst, copy_tables[i].seq_sql, &ignored);
	}
	return rc;
}

/*
 * IACTL_OK when every user's credits equal the sum of its ledger rows in
 * db; else IACTL_FAIL, naming up to five users (by id) on stderr. side
 * ("source", "target") is for the message.
 */
static int copy_ledger_matches(struct db *db, const char *side)
{
	struct db_stmt *st = NULL;
	int rc, bad = 0;

	rc = db_prepare(db,
			"SELECT u.id, u.credits, coalesce(sum(l.delta), 0) FROM users u "
			"LEFT JOIN credit_ledger l ON l.user_id = u.id GROUP BY u.id, u.credits "
			"HAVING u.credits <> coalesce(sum(l.delta), 0) ORDER BY u.id LIMIT 5",
			&st);
	if (rc != 0)
		return copy_db_fail(db, "checking the ledger failed", rc);
	for (;;) {
		rc = db_step(st);
		if (rc != DB_ROW)
			break;
		fprintf(stderr,
			"iactl: %s: user id %" PRId64 " has %" PRId64
			" credits but its ledger sums to %" PRId64 "\n",
			side, db_column_int64(st, 0), db_column_int64(st, 1),
			db_column_int64(st, 2));
		bad++;
	}
	db_reset(st);
	if (rc != DB_DONE)
		return copy_db_fail(db, "checking the ledger failed", rc);
	return bad == 0 ? IACTL_OK : IACTL_FAIL;
}

/* Compare dst with the source's counts and ledger total, and each user's
 * ledger; explain any difference on stderr. when: "before commit" or
 * "after commit", for the message. */
static int copy_verify(struct db *dst, const struct copy_counts *want, const char *when)
{
	struct copy_counts got;
	size_t i;
	int rc, bad = 0;

	memset(&got, 0, sizeof(got));
	rc = copy_count(dst, &got);
	if (rc != 0)
		return copy_db_fail(dst, "counting the target's rows failed", rc);
	for (i = 0; i < COPY_NTABLES; i++) {
		if (got.rows[i] == want->rows[i])
			continue;
		fprintf(stderr,
			"iactl: %s: %s has %" PRId64 " rows on the target, %" PRId64
			" on the source\n",
			when, copy_tables[i].name, got.rows[i], want->rows[i]);
		bad++;
	}
	if (got.ledger_sum != want->ledger_sum) {
		fprintf(stderr,
			"iactl: %s: the ledger sums to %" PRId64 " on the target, %" PRId64
			" on the source\n",
			when, got.ledger_sum, want->ledger_sum);
		bad++;
	}
	if (bad != 0)
		return IACTL_FAIL;
	return copy_ledger_matches(dst, "target");
}

/* Report a failed database call of db (its message holds no values). */
static int copy_db_fail(struct db *db, const char *what, int rc)
{
	fprintf(stderr, "iactl: %s: %s (%s)\n", what, ia_strerror(rc), db_errmsg(db));
	return IACTL_FAIL;
}

/*
 * --media: every object the snapshot's rows name, from the local disk into
 * the bucket of the AWS_* settings, each read back and compared; before
 * any row is copied, so a failure leaves the target database empty.
 */
static int copy_media(struct db *src)
{
	struct storecopy_report rep;
	struct settings from, to;
	char err[512];
	int rc, ret = IACTL_FAIL;

	if (iactl_settings(&from) != IACTL_OK)
		return IACTL_FAIL;
	to = from; /* shares every string: only from is cleaned up */
	to.media_storage = (char *)"s3";
	if (strcmp(from.media_storage, "local") != 0) {
		fputs("iactl: --media copies from the local disk, but MEDIA_STORAGE is not local\n",
		      stderr);
	} else if (from.aws_storage_bucket_name[0] == '\0' || from.aws_s3_endpoint_url[0] == '\0' ||
		   from.aws_access_key_id[0] == '\0' || from.aws_secret_access_key[0] == '\0') {
		fputs("iactl: --media needs the bucket's AWS_STORAGE_BUCKET_NAME, "
		      "AWS_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n",
		      stderr);
	} else if (store_check(&to) != 0) {
		fprintf(stderr, "iactl: the bucket %s does not answer: nothing was copied\n",
			to.aws_storage_bucket_name);
	} else {
		rc = storecopy_run(src, &from, &to, &rep, err, sizeof(err));
		if (rc == 0) {
			printf("copied %" PRId64 " media file(s), %" PRId64
			       " bytes, into the bucket %s (each read back: size and SHA-256 "
			       "equal)\n",
			       rep.objects, rep.bytes, to.aws_storage_bucket_name);
			ret = IACTL_OK;
		} else {
			fprintf(stderr,
				"iactl: copying the media failed after %" PRId64
				" file(s): %s; nothing was copied into the database\n",
				rep.objects, err);
		}
	}
	settings_cleanup(&from);
	return ret;
}

/*
 * `iactl db copy-to URL`: see the file comment. src is the SQLite database
 * iactl opened (schema checked); a->pos[0] the target URI. Writes only to
 * the target, in one transaction committed after the checks passed;
 * prints a report on stdout. IACTL_OK, IACTL_FAIL (nothing copied, or a
 * post-commit check failed: said so), or IACTL_USAGE (not a PostgreSQL URI).
 */
int iactl_db_copy_to(struct db *src, const struct iactl_args *a)
{
	struct copy_counts want;
	struct db *dst = NULL;
	bool in_tx = false, src_read = false;
	size_t i;
	int rc, ret = IACTL_FAIL;

	memset(&want, 0, sizeof(want));
	if (!copy_is_pg_url(a->pos[0])) {
		fputs("iactl: copy-to takes a PostgreSQL URI (postgresql://...)\n", stderr);
		return IACTL_USAGE;
	}
	if (strcmp(db_backend_name(src), "sqlite") != 0) {
		fputs("iactl: the source must be the SQLite database, but iactl opened "
		      "PostgreSQL (DATABASE_URL or IA_STATE_DIR/database.url): unset it; "
		      "DB_PATH or IA_STATE_DIR name the SQLite file\n",
		      stderr);
		return IACTL_FAIL;
	}
	for (i = 0; i < COPY_NTABLES; i++) {
		if (!copy_table_sane(&copy_tables[i])) {
			fprintf(stderr, "iactl: internal: the column list of %s is inconsistent\n",
				copy_tables[i].name);
			return IACTL_FAIL;
		}
	}
	rc = db_open(a->pos[0], &dst);
	if (rc != 0) {
		fprintf(stderr, "iactl: cannot open the target database: %s\n", ia_strerror(rc));
		goto out;
	}
	if (strcmp(db_backend_name(dst), "postgres") != 0) {
		fputs("iactl: the target is not a PostgreSQL database\n", stderr);
		goto out;
	}
	rc = iactl_migrate(dst);
	if (rc != 0) {
		copy_db_fail(dst, "migrating the target failed", rc);
		goto out;
	}

	/* One snapshot of the source for the counts, the checks and every row. */
	rc = db_begin_read(src);
	if (rc != 0) {
		copy_db_fail(src, "reading the source failed", rc);
		goto out;
	}
	src_read = true;
	rc = copy_count(src, &want);
	if (rc != 0) {
		copy_db_fail(src, "counting the source's rows failed (run `iactl db migrate`?)",
			     rc);
		goto out;
	}
	if (copy_ledger_matches(src, "source") != IACTL_OK) {
		fputs("iactl: the source's credits and ledger disagree: nothing was copied\n",
		      stderr);
		goto out;
	}
	if (a->media && copy_media(src) != IACTL_OK)
		goto out;

	rc = db_begin(dst);
	if (rc != 0) {
		copy_db_fail(dst, "starting the target's transaction failed", rc);
		goto out;
	}
	in_tx = true;
	if (copy_target_empty(dst) != IACTL_OK)
		goto out;
	for (i = 0; i < COPY_NTABLES; i++) {
		int64_t n = 0;

		rc = copy_table_rows(src, dst, &copy_tables[i], &n);
		if (rc != 0) {
			fprintf(stderr,
				"iactl: copying %s failed: %s (source says: %s; target says: %s)\n",
				copy_tables[i].name, ia_strerror(rc), db_errmsg(src),
				db_errmsg(dst));
			goto out;
		}
	}
	db_rollback(src); /* the snapshot has served: let the source's WAL move on */
	src_read = false;
	rc = copy_sequences(dst);
	if (rc != 0) {
		copy_db_fail(dst, "moving the target's id sequences failed", rc);
		goto out;
	}
	if (copy_verify(dst, &want, "before commit") != IACTL_OK)
		goto out;
	rc = db_commit(dst);
	in_tx = false;
	if (rc != 0) {
		copy_db_fail(dst, "committing the copy failed", rc);
		goto out;
	}
	if (copy_verify(dst, &want, "after commit") != IACTL_OK) {
		fputs("iactl: the copy was committed but does not match: do not switch to it\n",
		      stderr);
		goto out;
	}

	printf("copied %s to the PostgreSQL database (one transaction):\n", a->db_path);
	for (i = 0; i < COPY_NTABLES; i++)
		printf("  %-20s %" PRId64 "\n", copy_tables[i].name, want.rows[i]);
	printf("  ledger sum           %" PRId64 " (equal on both; every user's credits match "
	       "its ledger)\n",
	       want.ledger_sum);
	puts("ok");
	ret = IACTL_OK;
out:
	if (in_tx) {
		db_rollback(dst);
		fputs("iactl: the target's transaction was rolled back: nothing was copied\n",
		      stderr);
	}
	if (src_read)
		db_rollback(src);
	db_close(dst);
	return ret;
}
