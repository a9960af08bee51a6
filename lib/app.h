/*
 * app.h - the main loop shared by every cgi-bin program: load settings,
 * open the database once, then accept FastCGI requests and dispatch them
 * through a route table until told to stop.
 */
#ifndef IA_APP_H
#define IA_APP_H

#include <stddef.h>

struct db;
struct route;

/* Run the program; returns the process exit code. */
int app_run(const char *name, const struct route *routes, size_t n);

/* The connection opened by app_run; borrowed for the process life. */
struct db *app_db(void);

#endif
