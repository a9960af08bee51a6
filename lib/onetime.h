/*
 * onetime.h - one-time mailed link tokens: the common part of password
 * resets (lib/resets.c, table password_resets) and email verification
 * (lib/verify.c, table email_verifications).
 *
 * A link is {PUBLIC_URL}/.../<uidb64>/<token>/: uidb64 is Django's
 * urlsafe_base64_encode of the decimal user id (no padding), the token 32
 * random bytes as lowercase hex. A table keeps only SHA-256(token) in hex;
 * looking a token up by its hash is what makes the check timing-safe: the
 * secret itself is never compared byte by byte.
 *
 * Each purpose has its own table, so it hands in its own constant SQL
 * statements (struct onetime_sql); the statements stay constant strings
 * with bound parameters, chosen per purpose, never built.
 */
#ifndef IA_ONETIME_H
#define IA_ONETIME_H

#include <stdbool.h>
#include <stdint.h>

struct db;

#define ONETIME_TOKEN_LEN 64 /* hex chars */
#define ONETIME_UID_MAX   32
#define ONETIME_HASH_HEX  65 /* SHA-256 in hex + NUL */

/*
 * The statements of one token table, all constant strings with numbered
 * parameters. The table has the columns id, user_id, token_hash, created
 * and used (NULL while unused).
 */
struct onetime_sql {
	/* Store a token: ?1 user id, ?2 token hash, ?3 created. Changes one
	 * row, or none when the user does not exist. */
	const char *insert;
	/* SELECT id, user_id, created, used IS NOT NULL WHERE token_hash = ?1 */
	const char *find;
	/* Claim one token: SET used = ?1 WHERE id = ?2 AND used IS NULL */
	const char *claim;
	/* Retire the user's others: SET used = ?1 WHERE user_id = ?2 AND used IS NULL */
	const char *retire;
	int64_t lifetime; /* seconds a token stays valid */
};

/* A token row, as onetime_check found it. */
struct onetime_row {
	int64_t id;
	int64_t user_id;
	int64_t created;
};

/*
 * A fresh link for user_id: uid (base64url of the decimal id), token
 * (ONETIME_TOKEN_LEN random hex) and the hash to store.
 * Wipe token after use (sodium_memzero).
 */
void onetime_link_new(int64_t user_id, char uid[ONETIME_UID_MAX], char token[ONETIME_TOKEN_LEN + 1],
		      char hash[ONETIME_HASH_HEX]);

/*
 * Check the form of a link (uidb64 of a positive id, token of
 * ONETIME_TOKEN_LEN lowercase hex) and give its user id and token hash,
 * to look up. IA_ERR_AUTH when malformed.
 */
int onetime_link_parse(const char *uidb64, const char *token, int64_t *user_id,
		       char hash[ONETIME_HASH_HEX]);

/*
 * Make a link for user_id and store its hash with sql->insert (a database
 * write; no transaction of its own). On success uid[ONETIME_UID_MAX] and
 * token[ONETIME_TOKEN_LEN + 1] (caller's buffers; wipe the token after
 * use) hold the link. IA_ERR_INVAL for a bad argument, IA_ERR_NOTFOUND
 * when the insert stored nothing (no such user), or a database error.
 */
int onetime_create(struct db *db, const struct onetime_sql *sql, int64_t user_id, int64_t now,
		   char uid[ONETIME_UID_MAX], char token[ONETIME_TOKEN_LEN + 1]);

/*
 * Look a link up without writing: it must be well formed, stored, belong
 * to the uidb64's user, be unused and younger than sql->lifetime. Then
 * *row is the token's row. IA_ERR_AUTH for every kind of bad link, or a
 * database error. onetime_redeem re-checks it atomically.
 */
int onetime_check(struct db *db, const struct onetime_sql *sql, const char *uidb64,
		  const char *token, int64_t now, struct onetime_row *row);

/*
 * What a claimed token grants (set a password, mark an address verified),
 * run inside the claim's transaction for the token's user. 0 or an
 * error, which rolls the claim back.
 */
typedef int (*onetime_grant_fn)(struct db *db, int64_t user_id, int64_t now, void *ud);

/*
 * Redeem row's token (from onetime_check) in one BEGIN IMMEDIATE
 * transaction: mark it used (the used IS NULL guard loses cleanly to a
 * concurrent redeem: IA_ERR_AUTH), retire the user's other open tokens,
 * then grant(db, row->user_id, now, ud) when grant is not NULL. Commits
 * when all succeed, else rolls back and returns the error.
 */
int onetime_redeem(struct db *db, const struct onetime_sql *sql, const struct onetime_row *row,
		   int64_t now, onetime_grant_fn grant, void *ud);

#endif
