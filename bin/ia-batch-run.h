/*
 * ia-batch-run.h - the `ia-batch --run` mode: apply one image service to a
 * local file, without the database, credits or job queue. Handy for
 * trying a service, for scripts and for the image benchmark.
 */
#ifndef IA_BATCH_RUN_H
#define IA_BATCH_RUN_H

/*
 * argv as main received it, argv[1] being "--run":
 *   ia-batch --run SLUG IN OUT [key=value ...]
 * The output format is the format= parameter, else OUT's extension
 * (jpg/jpeg, png, webp), else PNG. Prints one line describing the output
 * on stdout; reasons for failure go to stderr.
 * Returns the exit status: 0 done, 1 failure, 2 usage error.
 */
int batch_run_cli(int argc, char **argv);

#endif
