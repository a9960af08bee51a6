/*
 * privdrop.h - run as the owner of the data, not as root.
 *
 * The stack runs every program but the nginx master as an unprivileged
 * service user (./stack, bin/ia-supervise), and the files it writes are
 * that user's, mode 0600. A program an operator starts by hand as root
 * (ia-batch --once from root's crontab, say) would create directories and
 * files the service user can no longer write into, and would parse
 * untrusted images as root. privdrop_to_owner makes such a program become
 * the owner of the database first.
 */
#ifndef IA_PRIVDROP_H
#define IA_PRIVDROP_H

/*
 * When the process runs as root and path exists and belongs to another
 * user, switch for good to that user and its group (supplementary groups
 * dropped). Does nothing when not root, when path does not exist yet or
 * when it belongs to root. Returns 0, or IA_ERR_IO when a switch was
 * needed and failed (the caller must then stop: it is still root).
 */
int privdrop_to_owner(const char *path);

#endif
