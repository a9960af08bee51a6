/*
 * err.h - the error codes every libia function returns.
 *
 * Functions return 0 on success and a negative enum ia_err value on failure
 * (STYLE.md rule 4); results travel through trailing out-parameters that are
 * written only on success.
 */
#ifndef IA_ERR_H
#define IA_ERR_H

enum ia_err {
	IA_OK = 0,
	IA_ERR_INVAL = -1,        /* bad argument or malformed input */
	IA_ERR_NOTFOUND = -2,     /* no such row / file */
	IA_ERR_EXISTS = -3,       /* unique constraint: already there */
	IA_ERR_DB = -4,           /* database failure */
	IA_ERR_IO = -5,           /* file or socket failure */
	IA_ERR_TOOBIG = -6,       /* a size or count bound was hit */
	IA_ERR_AUTH = -7,         /* bad credentials, bad signature */
	IA_ERR_EXPIRED = -8,      /* token or link past its lifetime */
	IA_ERR_FORBIDDEN = -9,    /* authenticated but not allowed */
	IA_ERR_FUNDS = -10,       /* not enough credits */
	IA_ERR_UNAVAILABLE = -11, /* disabled service, missing key */
	IA_ERR_UPSTREAM = -12,    /* an outside service failed */
	IA_ERR_UNSUPPORTED = -13, /* format or feature not handled */
	IA_ERR_BUSY = -14,        /* lock or lease held elsewhere */
};

/* Returns a static, human-readable name for an ia_err value. */
const char *ia_strerror(int err);

#endif
