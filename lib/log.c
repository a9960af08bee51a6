/*
 * log.c - timestamped, levelled log lines on stderr.
 */
#include "config.h"

#include "log.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static const char *log_prog = "ia";

static void log_write(const char *level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

void log_init(const char *prog)
{
	log_prog = prog;
}

/* One record per call; a single fprintf of the prefix plus the message keeps
 * lines from different processes from interleaving mid-line in practice. */
static void log_write(const char *level, const char *fmt, va_list ap)
{
	char ts[21];
	char msg[1024];

	ia_iso8601(ia_now(), ts);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s %s %s[%ld]: %s\n", ts, level, log_prog, (long)getpid(), msg);
	fflush(stderr);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write("info", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write("warn", fmt, ap);
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write("error", fmt, ap);
	va_end(ap);
}
