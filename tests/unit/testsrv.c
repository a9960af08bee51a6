/*
 * testsrv.c - the loopback server of testsrv.h: a listening socket on
 * 127.0.0.1, a forked child accepting connections forever, each handed to
 * the test's callback and then closed. The child's pid lives in a static:
 * one server per test process.
 */
#include "config.h"

#include "testsrv.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t testsrv_pid = -1;

int testsrv_start(testsrv_serve_fn serve)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1, c;

	ck_assert_int_ge(ls, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(ls, 8), 0);
	ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&a, &alen), 0);
	testsrv_pid = fork();
	ck_assert_int_ge(testsrv_pid, 0);
	if (testsrv_pid == 0) {
		/* Check's SIGTERM handler would kill the whole test group. */
		signal(SIGTERM, SIG_DFL);
		for (;;) {
			c = accept(ls, NULL, NULL);
			if (c < 0)
				continue;
			serve(c);
			shutdown(c, SHUT_WR);
			close(c);
		}
	}
	close(ls);
	return ntohs(a.sin_port);
}

void testsrv_stop(void)
{
	if (testsrv_pid > 0) {
		kill(testsrv_pid, SIGTERM);
		waitpid(testsrv_pid, NULL, 0);
	}
	testsrv_pid = -1;
}

void testsrv_send(int fd, const void *buf, size_t n)
{
	const char *s = buf;

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}
