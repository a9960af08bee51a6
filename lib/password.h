/*
 * password.h - password hashing with libsodium's Argon2id (crypto_pwhash_str)
 * at the interactive cost, plus the "unusable password" marker stored for
 * accounts that sign in only through Google.
 */
#ifndef IA_PASSWORD_H
#define IA_PASSWORD_H

#include <stdbool.h>

#define PASSWORD_HASH_MAX 128 /* >= crypto_pwhash_STRBYTES */
#define PASSWORD_UNUSABLE                                                                          \
	"!" /* stored for accounts with no usable password (e.g. Google sign-in) */

/*
 * Initialise libsodium (sodium_init). Returns 0, or IA_ERR_UNAVAILABLE when
 * the library cannot start. Safe to call many times, from any module.
 */
int password_init(void);

/*
 * Hash password (a NUL-terminated string, not NULL) with a fresh random salt
 * into out as an "$argon2id$..." string. Costs about 64 MiB and a few hundred
 * milliseconds. Returns 0 and writes out, IA_ERR_INVAL for a NULL password, or
 * IA_ERR_UNAVAILABLE when libsodium fails (memory for the hash). out is
 * written only on success.
 */
int password_hash(const char *password, char out[PASSWORD_HASH_MAX]);

/*
 * Check password against a stored hash: Argon2, or Django's default
 * "pbkdf2_sha256$..." of accounts carried over from the Django service.
 * Returns 0 when it matches and IA_ERR_AUTH otherwise, including NULL
 * arguments and unusable hashes (empty, starting with "!", or neither). For an unusable hash a full
 * hash is still computed so the answer takes as long as a real mismatch;
 * callers that find no account at all should call
 * password_verify(PASSWORD_UNUSABLE, password) for the same reason.
 */
int password_verify(const char *hash, const char *password);

/*
 * True when hash was made with another algorithm (Django's PBKDF2, Argon2i)
 * or other parameters than password_hash uses now, so the
 * caller should store a fresh hash after a successful password_verify. False
 * for NULL and unusable hashes: there is nothing to upgrade.
 */
bool password_needs_rehash(const char *hash);

#endif
