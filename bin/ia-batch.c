/*
 * ia-batch.c - the batch processor.
 *
 *   ia-batch [--once]            process every waiting job, then exit (cron)
 *   ia-batch --watch             keep running: idle runners wait for a
 *                                wake-up (db_listen: a new job or mail
 *                                wakes one at once), looking again at
 *                                least every BATCH_IDLE_MS
 *   ia-batch -j N ...            run N runner processes
 *   ia-batch --lease SECONDS     longest run of one job (default 300); the
 *                                lease itself is short (JOBRUN_LEASE) and
 *                                renewed while the job runs
 *   ia-batch --run SLUG IN OUT [key=value ...]   one service on a local file
 *
 * Several ia-batch processes may run at once: jobs are claimed atomically.
 * Started as root, it first becomes the owner of the database
 * (lib/privdrop.h), so a root crontab line cannot lock the stack out.
 * Each loop also delivers the mail outbox (lib/outbox.c), a round every
 * 250 ms at most, each stopping at its first failed attempt, so a dead
 * SMTP server delays jobs by one MAIL_TIMEOUT per round, not per message.
 */
#include "config.h"

#include "batch.h"
#include "db.h"
#include "err.h"
#include "health.h"
#include "ia-batch-run.h"
#include "log.h"
#include "metricsdb.h"
#include "orphans.h"
#include "outbox.h"
#include "privdrop.h"
#include "settings.h"
#include "util.h"
#include "jobrun.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Longest idle wait: what no one announces (a retry's backoff ending, an
 * expired lease, a mail retry falling due) is picked up within this. */
#define BATCH_IDLE_MS       1000
#define BATCH_MAIL_MAX      20  /* messages per outbox round */
#define BATCH_MAIL_MS       250 /* between outbox rounds */
#define BATCH_SWEEP_SECONDS 600 /* temp-file sweep period */

struct batch_opts {
	bool watch;
	int64_t runners;
	int64_t lease;
	bool check; /* --check: the self-check, then exit */
};

static volatile sig_atomic_t batch_stop;
/* Started again by bin/ia-supervise after it died: counted once. */
static bool batch_restarted;

static void batch_on_signal(int sig)
{
	(void)sig;
	batch_stop = 1;
}

static int batch_usage(void)
{
	fputs("usage: ia-batch [--once | --watch] [-j N] [--lease SECONDS]\n"
	      "       ia-batch --run SLUG IN OUT [key=value ...]\n"
	      "       ia-batch --check\n",
	      stderr);
	return 2;
}

static int batch_parse(int argc, char **argv, struct batch_opts *o)
{
	int i;

	o->watch = false;
	o->check = false;
	o->runners = 1;
	o->lease = 300;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--once") == 0) {
			o->watch = false;
		} else if (strcmp(argv[i], "--watch") == 0) {
			o->watch = true;
		} else if (strcmp(argv[i], "-j") == 0 && i + 1 < argc) {
			if (ia_parse_int64(argv[++i], 1, 64, &o->runners) != 0)
				return IA_ERR_INVAL;
		} else if (strcmp(argv[i], "--lease") == 0 && i + 1 < argc) {
			if (ia_parse_int64(argv[++i], 1, 86400, &o->lease) != 0)
				return IA_ERR_INVAL;
		} else {
			return IA_ERR_INVAL;
		}
	}
	return 0;
}

/*
 * --check: the self-check of an installed host (tests/package/run.sh, an
 * operator after changing the settings): the settings load, the database
 * opens and holds the schema (a read of the users table: migrated), and
 * the media storage takes files (MEDIA_ROOT writable, or the bucket
 * answers). Writes nothing but the empty file of a SQLite path that did
 * not exist (db_open creates it). One line on stdout; exit 0, or 1 with the
 * reason on stderr.
 */
static int batch_check(const struct settings *s)
{
	struct db *db = NULL;
	int rc = 1;

	if (db_open(settings_db_target(s), &db) != 0) {
		fputs("ia-batch: check failed: cannot open the database\n", stderr);
		goto out;
	}
	if (health_check_db(db) != 0) {
		fputs("ia-batch: check failed: the database cannot be read "
		      "(not migrated? run iactl db migrate)\n",
		      stderr);
		goto out;
	}
	if (health_check_storage(s) != 0) {
		fprintf(stderr, "ia-batch: check failed: the %s media storage cannot take files\n",
			s->media_storage);
		goto out;
	}
	printf("ia-batch: check ok: database %s, media storage %s\n", db_backend_name(db),
	       s->media_storage);
	rc = 0;
out:
	db_close(db);
	return rc;
}

/* Milliseconds of a monotonic clock. */
static int64_t batch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Deliver due outbox mail; a round starts at most every BATCH_MAIL_MS.
 * Full rounds follow each other for up to BATCH_MAIL_MS (a backlog drains
 * without holding jobs up for long); with drain (the end of --once),
 * until a round is not full. */
static void batch_mail(struct db *db, const struct settings *s, bool drain)
{
	static int64_t last_ms;
	int64_t start = batch_ms();
	int rc, sent = 0;

	if (!drain && last_ms != 0 && start - last_ms < BATCH_MAIL_MS)
		return;
	do {
		rc = outbox_deliver_due(db, s, ia_now(), BATCH_MAIL_MAX, &sent);
		if (rc != 0 && rc != IA_ERR_BUSY)
			log_error("cannot read the mail outbox: %s", ia_strerror(rc));
	} while (rc == 0 && sent == BATCH_MAIL_MAX && !batch_stop &&
		 (drain || batch_ms() - start < BATCH_MAIL_MS));
	last_ms = sent == BATCH_MAIL_MAX ? 0 : start;
}

/* One runner process: its own connection, jobs until empty (or stopped). */
static int batch_loop(const struct batch_opts *o)
{
	const struct settings *s = settings_get();
	struct jobrun_self w;
	struct db *db = NULL;
	char runner_id[96], host[64] = "localhost";
	int64_t swept = 0;
	int rc;

	gethostname(host, sizeof(host) - 1);
	snprintf(runner_id, sizeof(runner_id), "%s:%ld", host, (long)getpid());
	w.id = runner_id;
	w.host = host;
	w.mode = o->watch ? "watch" : "once";
	w.max_seconds = o->lease;
	if (db_open(settings_db_target(s), &db) != 0)
		return 1;
	if (batch_restarted && metricsdb_count(db,
					       "ia_process_restarts_total{program=\"ia-batch\","
					       "level=\"program\"}",
					       1) != 0)
		log_warn("cannot count this restart in metric_counters");
	if (o->watch && db_listen(db, DB_CHANNEL_JOBS) != 0)
		log_warn("cannot listen for new jobs: looking every %d ms", BATCH_IDLE_MS);
	jobrun_beat(db, &w, true);
	while (!batch_stop) {
		batch_mail(db, s, false);
		if (ia_now() - swept >= BATCH_SWEEP_SECONDS) {
			swept = ia_now();
			orphans_sweep_tmp(s, ORPHANS_MIN_AGE, NULL);
		}
		jobrun_beat(db, &w, false);
		rc = jobrun_run_one(db, s, &w);
		if (rc == 0)
			continue;
		if (rc != IA_ERR_NOTFOUND && rc != IA_ERR_BUSY)
			log_error("cannot read the job queue: %s", ia_strerror(rc));
		if (!o->watch)
			break;
		(void)db_wait(db, BATCH_IDLE_MS);
	}
	if (!o->watch && !batch_stop)
		batch_mail(db, s, true);
	if (o->watch)
		batch_forget(db, runner_id);
	else
		jobrun_beat(db, &w, true);
	db_close(db);
	return 0;
}

/*
 * The image engines allocate and free planes of megabytes one after the
 * other (background removal: ~70 MB in a dozen blocks for a 0.5 MP photo).
 * Above glibc's default threshold each block is a fresh mmap whose pages
 * fault in again; keeping blocks below 64 MB in the heap lets the next
 * plane reuse the last one's pages (-16% wall time for background
 * removal, measured). The heap then grows once by BATCH_HEAP_RESERVE
 * (address space only; pages come when touched), and that range is marked
 * for transparent huge pages: one fault per 2 MB instead of one per 4 kB,
 * which took a third of background removal's time in page faults on a
 * virtual machine. Every job runs in a child that exits, so nothing is
 * held for long.
 */
enum { BATCH_HEAP_RESERVE = 128 << 20, BATCH_HUGE_PAGE = 2 << 20 };

static void batch_tune_malloc(void)
{
	const uintptr_t huge = BATCH_HUGE_PAGE;
	uintptr_t start, end;
	void *grow;

	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, BATCH_HEAP_RESERVE);
	mallopt(M_TOP_PAD, BATCH_HEAP_RESERVE);
	grow = malloc(huge); /* more than the heap holds yet: it grows by the pad */
	if (grow == NULL)
		return;
	start = ((uintptr_t)grow + huge - 1) & ~(huge - 1);
	end = (uintptr_t)sbrk(0) & ~(huge - 1);
	if (end > start)
		(void)madvise((void *)start, end - start, MADV_HUGEPAGE);
	free(grow);
}

int main(int argc, char **argv)
{
	const struct settings *s;
	struct batch_opts o = {0};
	struct sigaction sa;
	pid_t pids[64];
	int64_t i;
	int status, rc = 0;
	bool signalled = false;

	batch_tune_malloc();
	if (argc >= 2 && strcmp(argv[1], "--run") == 0)
		return batch_run_cli(argc, argv);
	if (argc == 2 && strcmp(argv[1], "--check") == 0)
		o.check = true;
	else if (batch_parse(argc, argv, &o) != 0)
		return batch_usage();
	log_init("ia-batch");
	settings_init();
	/* Run as whoever owns the state: the SQLite file, or the media. */
	s = settings_get();
	if (privdrop_to_owner(s->database_url[0] != '\0' ? s->media_root : s->db_path) != 0)
		return 1;
	batch_restarted = getenv("IA_SUPERVISE_RESTART") != NULL;
	unsetenv("IA_SUPERVISE_RESTART"); /* not for the job children */
	if (o.check)
		return batch_check(s);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = batch_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (o.runners == 1)
		return batch_loop(&o);
	for (i = 0; i < o.runners; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			batch_restarted = batch_restarted && i == 0; /* one count for all */
			_exit(batch_loop(&o));
		}
		if (pids[i] < 0)
			log_error("fork: %s", strerror(errno));
	}
	for (;;) {
		pid_t pid = wait(&status);

		if (batch_stop && !signalled) {
			for (i = 0; i < o.runners; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGTERM);
			signalled = true;
		}
		if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0)
			rc = 1;
		if (pid < 0 && errno != EINTR)
			break;
	}
	return rc;
}
