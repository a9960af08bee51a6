/*
 * app.c - process set-up, the pre-forking supervisor and the FastCGI
 * accept loop of the cgi-bin programs.
 *
 * The program is started with its listening socket on fd 0 (spawn-fcgi).
 * With IA_WORKERS=N (default 1) the first process forks N workers that
 * share the socket and restarts any worker that dies (an out-of-memory
 * abort, a crash), so one bad request never takes an endpoint down. Each
 * worker opens its own SQLite connection after the fork. A request that
 * leaves a transaction open is rolled back before the next one.
 */
#include "config.h"

#include "app.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "password.h"
#include "router.h"
#include "settings.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define APP_MAX_WORKERS 32

static struct db *app_conn;
static const char *app_name;  /* "ia-images" */
static const char *app_group; /* "images": the route group of its requests */
static volatile sig_atomic_t app_stop;

static void app_on_signal(int sig);
static int app_serve(const struct route *routes, size_t n);
static pid_t app_spawn(const struct route *routes, size_t n);
static int app_supervise(int workers, const struct route *routes, size_t n);

struct db *app_db(void)
{
	return app_conn;
}

static void app_on_signal(int sig)
{
	(void)sig;
	app_stop = 1;
}

/* One worker: open the database and answer requests until the socket closes. */
static int app_serve(const struct route *routes, size_t n)
{
	struct http_request req = {0};
	const struct settings *s = settings_get();

	if (password_init() != 0 || db_open(settings_db_target(s), &app_conn) != 0 ||
	    http_init() != 0) {
		log_error("cannot start (database or HTTP client)");
		return 1;
	}
	/* libfcgi's own SIGTERM handler only flags a shutdown for after the
	 * next request; a worker blocked in accept should simply go. */
	signal(SIGTERM, SIG_DFL);
	log_info("worker ready");
	req.settings = s; /* kept by http_accept for every request */
	while (http_accept(&req) == 0) {
		double started = metrics_clock();

		/* GET handlers only read: one snapshot, one lock per request. */
		if (strcmp(req.method, "GET") == 0 || strcmp(req.method, "HEAD") == 0)
			db_begin_read(app_conn);
		router_dispatch(routes, n, &req);
		if (!req.replied)
			http_reply_detail(&req, 500, "Internal server error.");
		db_rollback(app_conn);
		/* Shared-memory atomics only: no system call, no database. */
		metrics_request(strcmp(req.path, "/metrics") == 0 ? "metrics" : app_group,
				req.status, metrics_clock() - started);
	}
	db_close(app_conn);
	return 0;
}

/* SIGCHLD only has to interrupt sigsuspend in app_supervise. */
static void app_on_child(int sig)
{
	(void)sig;
}

/* The signals app_supervise keeps blocked except while it sleeps. */
static void app_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGCHLD);
}

/* Called with app_stop_signals blocked: the child unblocks them only once
 * its handlers are the defaults, so a stop sent at once still ends it. */
static pid_t app_spawn(const struct route *routes, size_t n)
{
	sigset_t set;
	pid_t pid = fork();

	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		app_stop_signals(&set);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		_exit(app_serve(routes, n));
	}
	if (pid < 0)
		log_error("fork failed: %s", strerror(errno));
	return pid;
}

/*
 * Keep `workers` children alive until SIGTERM/SIGINT, then stop them.
 * The stop signals and SIGCHLD stay blocked except inside sigsuspend, so
 * a stop that comes between the app_stop check and the wait is not lost
 * (with a plain wait() it was, and app_run then waited for ever), nor one
 * that reaches a worker before it has its own handlers.
 */
static int app_supervise(int workers, const struct route *routes, size_t n)
{
	pid_t pids[APP_MAX_WORKERS];
	struct sigaction sa;
	sigset_t set, old;
	int i, status;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = app_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = app_on_child;
	sigaction(SIGCHLD, &sa, NULL);
	app_stop_signals(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	for (i = 0; i < workers; i++)
		pids[i] = app_spawn(routes, n);
	while (!app_stop) {
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid <= 0) {
			sigsuspend(&old); /* until a stop or a child's exit */
			continue;
		}
		for (i = 0; i < workers; i++) {
			if (pids[i] != pid || app_stop)
				continue;
			log_warn("worker %ld exited (status %d), restarting", (long)pid, status);
			metrics_restart(app_name, "worker");
			usleep(100 * 1000); /* no busy loop when a worker cannot start */
			pids[i] = app_spawn(routes, n);
		}
	}
	for (i = 0; i < workers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	while (wait(&status) > 0 || errno == EINTR)
		;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}

int app_run(const char *name, const struct route *routes, size_t n)
{
	const char *w = getenv("IA_WORKERS");
	int64_t workers = 1;

	log_init(name);
	settings_init();
	signal(SIGPIPE, SIG_IGN);
	app_name = name;
	app_group = strncmp(name, "ia-", 3) == 0 ? name + 3 : name;
	/* Before the workers fork: they inherit the mapping. */
	metrics_init(settings_get());
	if (getenv("IA_SUPERVISE_RESTART") != NULL) /* set by bin/ia-supervise */
		metrics_restart(name, "program");
	if (w != NULL && ia_parse_int64(w, 1, APP_MAX_WORKERS, &workers) != 0) {
		log_error("IA_WORKERS must be 1..%d", APP_MAX_WORKERS);
		return 2;
	}
	return app_supervise((int)workers, routes, n);
}
