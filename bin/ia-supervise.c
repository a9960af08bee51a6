/*
 * ia-supervise.c - starts the stack's long-running programs and keeps them
 * running: the FastCGI programs, ia-batch --watch and nginx.
 *
 *   ia-supervise [-p PIDFILE] [-r RUN_DIR] NAME USER LOG SOCKET COMMAND ...
 *
 * Each program is five arguments:
 *   NAME     its name in the log and its pid file RUN_DIR/NAME.pid
 *   USER     the account it runs as ("-": the supervisor's own); when the
 *            supervisor is root the child sets its groups, gid and uid to
 *            that account's before it opens its log or runs anything
 *   LOG      the file its stdout and stderr append to, opened by the child
 *            after the switch of user (so a root supervisor never follows a
 *            link planted in a directory the service user owns)
 *   SOCKET   "-", or the path of a unix socket the supervisor binds (mode
 *            0600, owned by USER) and hands to every start of the program as
 *            fd 0, as spawn-fcgi does; the socket stays open across restarts,
 *            so requests wait in its backlog instead of failing
 *   COMMAND  one /bin/sh simple command (quoted words, VAR=value words
 *            through env(1)), run as "exec COMMAND": the shell is replaced,
 *            so the pid is the program's; a list needs "sh -c '...'"
 *
 * Every program runs in a process group of its own. When its first process
 * exits, the rest of the group (pre-forked workers, nginx workers, which
 * become our children: we are a child subreaper) gets SIGTERM, then
 * SIGKILL after 3 s; once the group is gone the program starts again after
 * a delay that begins at 0.1 s and doubles up to 30 s while the program
 * keeps dying within 10 s of its start. Every exit and restart is logged.
 * SIGTERM, SIGINT or SIGQUIT stop every group (SIGKILL after 4 s), remove the
 * sockets and pid files, and end the supervisor with status 0.
 *
 * Exit status: 0 after a requested stop, 1 when it cannot start (bad user,
 * socket in the way), 2 on a usage error.
 */
#include "config.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SUP_BACKOFF_MIN  0.1  /* seconds before the first restart */
#define SUP_BACKOFF_MAX  30.0 /* longest wait between restarts */
#define SUP_STABLE_AFTER 10.0 /* an uptime that resets the backoff */
#define SUP_GROUP_GRACE  3.0  /* SIGTERM to SIGKILL of a dead program's group */
#define SUP_STOP_GRACE   4.0  /* SIGTERM to SIGKILL when the stack stops */

struct sup_prog {
	const char *name, *user, *log, *sock;
	char *cmd;     /* "exec COMMAND" */
	char *pidfile; /* RUN_DIR/NAME.pid, or NULL */
	bool drop;     /* switch to uid/gid before exec */
	uid_t uid;
	gid_t gid;
	int lfd;         /* listening socket, or -1 */
	pid_t pid;       /* the running first process, or 0 */
	pid_t pgid;      /* its group while any member lives, or 0 */
	double started;  /* when pid started */
	double delay;    /* wait before the next restart */
	double start_at; /* when to start again (pid == 0, pgid == 0) */
	double kill_at;  /* when to SIGKILL a lingering group */
	bool killed;     /* SIGKILL sent to the lingering group */
	unsigned starts; /* how often it was started */
};

static double sup_now(void);
static int sup_usage(void);
static int sup_resolve_user(struct sup_prog *p);
static int sup_bind(struct sup_prog *p);
static void sup_write_pid(const char *path, pid_t pid);
static void sup_child(const struct sup_prog *p);
static void sup_start(struct sup_prog *p);
static void sup_exited(struct sup_prog *p, int status);
static void sup_reap(struct sup_prog *progs, int n);
static bool sup_group_alive(pid_t pgid);
static void sup_tend(struct sup_prog *progs, int n);
static double sup_next_event(const struct sup_prog *progs, int n);
static void sup_stop_all(struct sup_prog *progs, int n);

static double sup_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sup_usage(void)
{
	fputs("usage: ia-supervise [-p PIDFILE] [-r RUN_DIR] NAME USER LOG SOCKET COMMAND ...\n"
	      "  USER and SOCKET may be \"-\"; COMMAND is a /bin/sh command line\n",
	      stderr);
	return 2;
}

/* Look up p->user once, in the parent (no NSS calls between fork and exec). */
static int sup_resolve_user(struct sup_prog *p)
{
	struct passwd *pw;

	p->drop = false;
	if (strcmp(p->user, "-") == 0)
		return 0;
	pw = getpwnam(p->user);
	if (pw == NULL) {
		log_error("%s: no user %s", p->name, p->user);
		return -1;
	}
	if (pw->pw_uid == geteuid())
		return 0;
	if (geteuid() != 0) {
		log_error("%s: only root can run it as %s", p->name, p->user);
		return -1;
	}
	p->drop = true;
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	return 0;
}

/* Bind p->sock (replacing a stale socket, never another kind of file). */
static int sup_bind(struct sup_prog *p)
{
	struct sockaddr_un sa;
	struct stat sb;
	int fd = -1;

	p->lfd = -1;
	if (strcmp(p->sock, "-") == 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(p->sock) >= sizeof(sa.sun_path)) {
		log_error("%s: socket path too long: %s", p->name, p->sock);
		goto fail;
	}
	memcpy(sa.sun_path, p->sock, strlen(p->sock) + 1);
	if (lstat(p->sock, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			log_error("%s: %s exists and is not a socket", p->name, p->sock);
			goto fail;
		}
		unlink(p->sock);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(p->sock, 0600) != 0 || (p->drop && chown(p->sock, p->uid, p->gid) != 0) ||
	    listen(fd, SOMAXCONN) != 0) {
		log_error("%s: cannot listen on %s: %s", p->name, p->sock, strerror(errno));
		goto fail;
	}
	p->lfd = fd;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Write pid to path through a temp file and a rename (readers never see half). */
static void sup_write_pid(const char *path, pid_t pid)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "w");

	if (f == NULL || fprintf(f, "%ld\n", (long)pid) < 0 || fclose(f) != 0 ||
	    rename(tmp, path) != 0)
		log_warn("cannot write %s: %s", path, strerror(errno));
	free(tmp);
}

/* In the forked child: group, fd 0, user, log, exec. Never returns. */
static void sup_child(const struct sup_prog *p)
{
	sigset_t none;
	int fd;

	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	fd = p->lfd >= 0 ? dup2(p->lfd, 0) : open("/dev/null", O_RDONLY);
	if (fd < 0 || (p->lfd < 0 && fd != 0 && (dup2(fd, 0) < 0 || close(fd) != 0))) {
		log_error("%s: cannot set up stdin: %s", p->name, strerror(errno));
		_exit(127);
	}
	if (p->drop && (setgroups(1, &p->gid) != 0 || setgid(p->gid) != 0 || setuid(p->uid) != 0 ||
			getuid() != p->uid || geteuid() != p->uid)) {
		log_error("%s: cannot become %s: %s", p->name, p->user, strerror(errno));
		_exit(127);
	}
	fd = open(p->log, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY, 0600);
	if (fd < 0) {
		log_error("%s: cannot open %s: %s", p->name, p->log, strerror(errno));
		_exit(127);
	}
	if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(127);
	if (fd > 2)
		close(fd);
	/* A restart: the program counts it (ia_process_restarts_total), so
	 * this process, root's, never writes into the service user's state. */
	if (p->starts > 0 && setenv("IA_SUPERVISE_RESTART", "1", 1) != 0)
		_exit(127);
	execl("/bin/sh", "sh", "-c", p->cmd, (char *)NULL);
	log_error("%s: cannot run /bin/sh: %s", p->name, strerror(errno));
	_exit(127);
}

static void sup_start(struct sup_prog *p)
{
	pid_t pid = fork();

	if (pid == 0)
		sup_child(p);
	if (pid < 0) {
		log_error("%s: fork: %s", p->name, strerror(errno));
		p->start_at = sup_now() + p->delay;
		p->delay = p->delay * 2 > SUP_BACKOFF_MAX ? SUP_BACKOFF_MAX : p->delay * 2;
		return;
	}
	setpgid(pid, pid); /* also here: no window where a kill(-pgid) misses it */
	p->starts++;
	p->pid = pid;
	p->pgid = pid;
	p->killed = false;
	p->started = sup_now();
	if (p->pidfile != NULL)
		sup_write_pid(p->pidfile, pid);
	log_info("%s: started, pid %ld", p->name, (long)pid);
}

/* The first process of p ended: end the rest of its group, plan the restart. */
static void sup_exited(struct sup_prog *p, int status)
{
	double now = sup_now(), up = now - p->started;

	if (up >= SUP_STABLE_AFTER)
		p->delay = SUP_BACKOFF_MIN;
	if (WIFSIGNALED(status))
		log_warn("%s: pid %ld killed by signal %d after %.1f s; restart in %.1f s", p->name,
			 (long)p->pid, WTERMSIG(status), up, p->delay);
	else
		log_warn("%s: pid %ld exited with status %d after %.1f s; restart in %.1f s",
			 p->name, (long)p->pid, WEXITSTATUS(status), up, p->delay);
	p->pid = 0;
	p->start_at = now + p->delay;
	p->delay = p->delay * 2 > SUP_BACKOFF_MAX ? SUP_BACKOFF_MAX : p->delay * 2;
	kill(-p->pgid, SIGTERM);
	p->kill_at = now + SUP_GROUP_GRACE;
}

/* Collect every ended child: programs' first processes and orphaned members. */
static void sup_reap(struct sup_prog *progs, int n)
{
	pid_t pid;
	int status, i;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			return;
		for (i = 0; i < n; i++)
			if (progs[i].pid == pid)
				sup_exited(&progs[i], status);
	}
}

/* True while any process of the group lives (its zombies are reaped first). */
static bool sup_group_alive(pid_t pgid)
{
	return kill(-pgid, 0) == 0 || errno != ESRCH;
}

/* Clear groups that are gone, SIGKILL those past their grace, start what is due. */
static void sup_tend(struct sup_prog *progs, int n)
{
	double now = sup_now();
	int i;

	for (i = 0; i < n; i++) {
		struct sup_prog *p = &progs[i];

		if (p->pid != 0)
			continue;
		if (p->pgid != 0 && !sup_group_alive(p->pgid))
			p->pgid = 0;
		if (p->pgid != 0 && now >= p->kill_at && !p->killed) {
			log_warn("%s: group %ld outlived SIGTERM, sending SIGKILL", p->name,
				 (long)p->pgid);
			kill(-p->pgid, SIGKILL);
			p->killed = true;
		}
		if (p->pgid == 0 && now >= p->start_at)
			sup_start(p);
	}
}

/* Seconds until the next planned start or group check (at most 1). */
static double sup_next_event(const struct sup_prog *progs, int n)
{
	double now = sup_now(), wait = 1.0;
	int i;

	for (i = 0; i < n; i++) {
		const struct sup_prog *p = &progs[i];
		double t;

		if (p->pid != 0)
			continue;
		t = p->pgid != 0 ? 0.02 : p->start_at - now; /* a dying group: poll */
		if (t < wait)
			wait = t;
	}
	return wait < 0 ? 0 : wait;
}

static void sup_stop_all(struct sup_prog *progs, int n)
{
	double deadline = sup_now() + SUP_STOP_GRACE;
	bool alive, killed = false;
	int i;

	for (i = 0; i < n; i++)
		if (progs[i].pgid != 0)
			kill(-progs[i].pgid, SIGTERM);
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		alive = false;
		for (i = 0; i < n; i++)
			if (progs[i].pgid != 0 && sup_group_alive(progs[i].pgid))
				alive = true;
		if (!alive)
			break;
		if (!killed && sup_now() >= deadline) {
			log_warn("programs outlived SIGTERM, sending SIGKILL");
			for (i = 0; i < n; i++)
				if (progs[i].pgid != 0)
					kill(-progs[i].pgid, SIGKILL);
			killed = true;
		}
		usleep(20 * 1000);
	}
	for (i = 0; i < n; i++) {
		if (progs[i].lfd >= 0) {
			close(progs[i].lfd);
			unlink(progs[i].sock);
		}
		if (progs[i].pidfile != NULL)
			unlink(progs[i].pidfile);
	}
}

int main(int argc, char **argv)
{
	const char *pidfile = NULL, *run_dir = NULL;
	struct sup_prog *progs = NULL;
	struct timespec ts;
	sigset_t set;
	siginfo_t info;
	int opt, n, i, sig, rc = 1;

	log_init("ia-supervise");
	for (;;) {
		opt = getopt(argc, argv, "+p:r:");
		if (opt == -1)
			break;
		if (opt == 'p')
			pidfile = optarg;
		else if (opt == 'r')
			run_dir = optarg;
		else
			return sup_usage();
	}
	if (argc - optind < 5 || (argc - optind) % 5 != 0)
		return sup_usage();
	n = (argc - optind) / 5;
	progs = xcalloc((size_t)n, sizeof(*progs));
	for (i = 0; i < n; i++) {
		char **a = argv + optind + 5 * i;
		struct sup_prog *p = &progs[i];

		p->name = a[0];
		p->user = a[1];
		p->log = a[2];
		p->sock = a[3];
		p->cmd = xasprintf("exec %s", a[4]);
		p->pidfile = run_dir != NULL ? xasprintf("%s/%s.pid", run_dir, p->name) : NULL;
		p->delay = SUP_BACKOFF_MIN;
		p->lfd = -1;
	}

	/* Signals are taken synchronously (sigtimedwait): no handlers, no races. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		log_warn("no child subreaper: %s", strerror(errno));

	for (i = 0; i < n; i++)
		if (sup_resolve_user(&progs[i]) != 0 || sup_bind(&progs[i]) != 0)
			goto out;
	if (pidfile != NULL)
		sup_write_pid(pidfile, getpid());
	for (i = 0; i < n; i++)
		sup_start(&progs[i]);

	for (;;) {
		double wait = sup_next_event(progs, n);

		ts.tv_sec = (time_t)wait;
		ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
		sig = sigtimedwait(&set, &info, &ts);
		if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
			log_info("signal %d: stopping every program", sig);
			break;
		}
		sup_reap(progs, n);
		sup_tend(progs, n);
	}
	rc = 0;
out:
	sup_stop_all(progs, n);
	if (pidfile != NULL && rc == 0)
		unlink(pidfile);
	for (i = 0; i < n; i++) {
		free(progs[i].cmd);
		free(progs[i].pidfile);
	}
	free(progs);
	return rc;
}
