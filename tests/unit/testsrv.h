/*
 * testsrv.h - a small server forked on loopback for unit tests of HTTP
 * clients: it listens on 127.0.0.1 on a port the kernel picks and hands
 * each accepted connection, one at a time, to the test's callback. One
 * server per test process (Check forks a process per test), so use it
 * from a checked fixture: testsrv_start in setup, testsrv_stop in teardown.
 */
#ifndef IA_TESTSRV_H
#define IA_TESTSRV_H

#include <stddef.h>

/*
 * Answer one connection: read the request from fd and write the reply.
 * Runs in the server's process; the server then shuts fd down for
 * writing and closes it, so the callback neither closes nor keeps it.
 */
typedef void (*testsrv_serve_fn)(int fd);

/*
 * Listen on a free loopback port, fork the server (SIGTERM ends it) and
 * return the port. Aborts the test (ck_assert) when the socket cannot be
 * made or the fork fails.
 */
int testsrv_start(testsrv_serve_fn serve);

/* End the server testsrv_start forked and reap it; nothing when none runs. */
void testsrv_stop(void);

/* Write all n bytes of buf to fd; gives up quietly when the peer is gone. */
void testsrv_send(int fd, const void *buf, size_t n);

#endif
