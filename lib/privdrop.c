/*
 * privdrop.c - run as the owner of the data, not as root (see privdrop.h).
 */
#include "config.h"

#include "privdrop.h"
#include "err.h"
#include "log.h"

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int privdrop_to_owner(const char *path)
{
	struct stat st;

	if (geteuid() != 0 || path == NULL || stat(path, &st) != 0 || st.st_uid == 0)
		return 0;
	/* order matters: groups and gid while still root, the uid last */
	if (setgroups(0, NULL) != 0 || setgid(st.st_gid) != 0 || setuid(st.st_uid) != 0) {
		log_error("cannot become the owner (uid %ld) of the database: %s", (long)st.st_uid,
			  strerror(errno));
		return IA_ERR_IO;
	}
	if (setuid(0) == 0) { /* must be impossible now */
		log_error("still able to regain root after dropping privileges");
		return IA_ERR_IO;
	}
	return 0;
}
