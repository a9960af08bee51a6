/*
 * log.h - one-line log records on stderr (nginx and the stack collect them
 * into var/log/). Never pass secrets, tokens or passwords to these.
 */
#ifndef IA_LOG_H
#define IA_LOG_H

/* Name the program in every record; prog is borrowed for the process life. */
void log_init(const char *prog);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
