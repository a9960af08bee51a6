/*
 * argon2_cost.c - the benchmark's floor for POST /token/obtain/: the wall
 * time of one Argon2id INTERACTIVE verification (what lib/password.c does
 * per login), on one core and on every core at once.
 */
#include <sodium.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static double verify_ms(const char *hash, const char *pw, int n)
{
	double t = now();
	int i;

	for (i = 0; i < n; i++)
		if (crypto_pwhash_str_verify(hash, pw, 18) != 0)
			return -1;
	return (now() - t) / n * 1e3;
}

int main(void)
{
	char hash[crypto_pwhash_STRBYTES];
	const char *pw = "benchmark-password";
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	double one, t;
	long i;

	if (sodium_init() < 0 || crypto_pwhash_str(hash, pw, 18, crypto_pwhash_OPSLIMIT_INTERACTIVE,
						   crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return 1;
	one = verify_ms(hash, pw, 10);
	t = now();
	for (i = 0; i < cores; i++)
		if (fork() == 0)
			_exit(verify_ms(hash, pw, 10) < 0);
	while (wait(NULL) > 0)
		;
	t = (now() - t) / 10 * 1e3;
	printf("Argon2id INTERACTIVE verify: %.1f ms alone, %.1f ms with %ld at once -> "
	       "ceiling %.1f logins/s\n", one, t, cores, cores * 1000.0 / t);
	return 0;
}
