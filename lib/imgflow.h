/*
 * imgflow.h - max-flow / min-cut on an 8-connected pixel grid
 * (Boykov-Kolmogorov), the solver behind the background removal in
 * imgseg.c. Nodes are pixels (x, y); directions 0..7 are E, SE, S, SW, W,
 * NW, N, NE (imgflow_dx / imgflow_dy); d and d ^ 4 are opposite.
 *
 * The struct is caller-owned (imgflow_init / imgflow_cleanup); its fields
 * are private to imgflow.c.
 */
#ifndef IA_IMGFLOW_H
#define IA_IMGFLOW_H

#include <stddef.h>
#include <stdint.h>

extern const int imgflow_dx[8];
extern const int imgflow_dy[8];

/* Growable stack of int32 node indices (used by the solver). */
struct imgflow_stack {
	int32_t *v;
	size_t len, cap;
};

/* Append v to s (grows; aborts on out-of-memory like xmalloc). */
void imgflow_stack_push(struct imgflow_stack *s, int32_t v);

/*
 * Contrast-sensitive n-link weights of an RGB image (w x h, 3 floats a
 * pixel), as GrabCut has them: gamma / length * exp(-beta |z_p - z_q|^2),
 * beta from the image's mean squared neighbour difference. Writes
 * nl[4 * i + d] for directions 0..3 (0 where the neighbour is outside).
 */
void imgflow_nlinks(const float *rgb, int w, int h, double gamma, float *nl);

/*
 * Solver state. The grid is padded with one ring of inert nodes so that
 * every real node has eight neighbours: an arc's head and its reverse arc
 * are arithmetic, no bounds checks in the inner loops.
 */
struct imgflow {
	int w, h, W; /* real size, padded width */
	int32_t n;   /* padded node count */
	int32_t off[8];
	float *rcap;        /* residual capacity of arc node*8+dir */
	float *tr;          /* residual terminal capacity: >0 source, <0 sink */
	int32_t *parent;    /* arc towards the parent, or a negative code */
	uint8_t *sink;      /* which search tree a non-free node is in */
	int32_t *next;      /* active queue link, -1 = not active */
	int32_t *ts, *dist; /* distance-to-terminal heuristic marks */
	int32_t qfirst, qlast, time;
	struct imgflow_stack orphans;
};

/*
 * Allocate a w x h grid (w, h >= 1; about 53 bytes a node) with all
 * capacities zero. Aborts on out-of-memory like xmalloc.
 */
void imgflow_init(struct imgflow *f, int w, int h);

/* Free what imgflow_init allocated; the struct may be re-initialised. */
void imgflow_cleanup(struct imgflow *f);

/* Set every capacity back to zero (to reuse the grid for a new cut). */
void imgflow_clear(struct imgflow *f);

/*
 * Terminal capacities of pixel (x, y): cap_source from the source (S) and
 * cap_sink to the sink (T); only their difference matters for the cut.
 */
void imgflow_set_terminal(struct imgflow *f, int x, int y, float cap_source, float cap_sink);

/*
 * Change the terminal capacities of (x, y) by delta (source minus sink)
 * after a run, keeping the flow found so far: the next imgflow_run starts
 * from it instead of from zero (Kohli and Torr's dynamic graph cuts; the
 * cut is the one of the changed graph, reached in a fraction of the work
 * when the change is small).
 */
void imgflow_add_terminal(struct imgflow *f, int x, int y, float delta);

/*
 * Undirected edge of capacity cap between (x, y) and its neighbour in
 * direction d (0..3 suffice to cover every pair once). Edges leaving the
 * grid are ignored.
 */
void imgflow_set_edge(struct imgflow *f, int x, int y, int d, float cap);

/* Compute the maximum flow; afterwards imgflow_is_source is the min cut. */
void imgflow_run(struct imgflow *f);

/*
 * After imgflow_run: 1 if (x, y) is on the source side of the minimum cut
 * (reachable from S in the residual graph), 0 if on the sink side.
 */
int imgflow_is_source(const struct imgflow *f, int x, int y);

#endif
