/*
 * imgflow.c - Boykov-Kolmogorov max-flow specialised to an 8-connected
 * grid (Y. Boykov, V. Kolmogorov, "An Experimental Comparison of
 * Min-Cut/Max-Flow Algorithms for Energy Minimization in Vision", PAMI 2004,
 * following the structure of Kolmogorov's maxflow 3.0): two search trees
 * grow from the terminals; when they touch, the path is augmented and the
 * nodes cut off ("orphans") are re-adopted or freed. Arc a belongs to node
 * a / 8 and points in direction a % 8; its head is node + off[dir] and its
 * reverse arc leaves the head in direction dir ^ 4.
 */
#include "config.h"

#include "imgflow.h"
#include "util.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Parent codes of the nodes besides real arc indices. */
#define ARC_NONE     (-1)
#define ARC_TERMINAL (-2)
#define ARC_ORPHAN   (-3)

const int imgflow_dx[8] = {1, 1, 0, -1, -1, -1, 0, 1};
const int imgflow_dy[8] = {0, 1, 1, 1, 0, -1, -1, -1};

void imgflow_stack_push(struct imgflow_stack *s, int32_t v)
{
	if (s->len == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->len++] = v;
}

static inline int32_t flow_node(const struct imgflow *f, int x, int y)
{
	return (y + 1) * f->W + (x + 1);
}

void imgflow_init(struct imgflow *f, int w, int h)
{
	memset(f, 0, sizeof(*f));
	f->w = w;
	f->h = h;
	f->W = w + 2;
	f->n = f->W * (h + 2);
	for (int d = 0; d < 8; d++)
		f->off[d] = imgflow_dy[d] * f->W + imgflow_dx[d];
	f->rcap = xmalloc((size_t)f->n * 8 * sizeof(*f->rcap));
	f->tr = xmalloc((size_t)f->n * sizeof(*f->tr));
	f->parent = xmalloc((size_t)f->n * sizeof(*f->parent));
	f->sink = xmalloc((size_t)f->n);
	f->next = xmalloc((size_t)f->n * sizeof(*f->next));
	f->ts = xmalloc((size_t)f->n * sizeof(*f->ts));
	f->dist = xmalloc((size_t)f->n * sizeof(*f->dist));
	memset(f->parent, 0xff, (size_t)f->n * sizeof(*f->parent)); /* ARC_NONE */
	memset(f->sink, 0, (size_t)f->n);
	imgflow_clear(f);
}

void imgflow_cleanup(struct imgflow *f)
{
	free(f->rcap);
	free(f->tr);
	free(f->parent);
	free(f->sink);
	free(f->next);
	free(f->ts);
	free(f->dist);
	free(f->orphans.v);
	memset(f, 0, sizeof(*f));
}

void imgflow_clear(struct imgflow *f)
{
	memset(f->rcap, 0, (size_t)f->n * 8 * sizeof(*f->rcap));
	memset(f->tr, 0, (size_t)f->n * sizeof(*f->tr));
}

void imgflow_set_terminal(struct imgflow *f, int x, int y, float cap_source, float cap_sink)
{
	f->tr[flow_node(f, x, y)] = cap_source - cap_sink;
}

void imgflow_add_terminal(struct imgflow *f, int x, int y, float delta)
{
	f->tr[flow_node(f, x, y)] += delta;
}

void imgflow_set_edge(struct imgflow *f, int x, int y, int d, float cap)
{
	int nx = x + imgflow_dx[d], ny = y + imgflow_dy[d];
	int32_t v = flow_node(f, x, y), u;

	if (nx < 0 || ny < 0 || nx >= f->w || ny >= f->h)
		return;
	u = v + f->off[d];
	f->rcap[v * 8 + d] = cap;
	f->rcap[u * 8 + (d ^ 4)] = cap;
}

int imgflow_is_source(const struct imgflow *f, int x, int y)
{
	int32_t v = flow_node(f, x, y);

	return f->parent[v] != ARC_NONE && !f->sink[v];
}

static inline int32_t flow_head(const struct imgflow *f, int32_t a)
{
	return (a >> 3) + f->off[a & 7];
}

static inline int32_t flow_sister(const struct imgflow *f, int32_t a)
{
	return flow_head(f, a) * 8 + (((a & 7) + 4) & 7);
}

static void flow_set_active(struct imgflow *f, int32_t i)
{
	if (f->next[i] != -1)
		return;
	if (f->qlast >= 0)
		f->next[f->qlast] = i;
	else
		f->qfirst = i;
	f->next[i] = i;
	f->qlast = i;
}

static int32_t flow_next_active(struct imgflow *f)
{
	for (;;) {
		int32_t i = f->qfirst;

		if (i < 0)
			return -1;
		if (f->next[i] == i)
			f->qfirst = f->qlast = -1;
		else
			f->qfirst = f->next[i];
		f->next[i] = -1;
		if (f->parent[i] != ARC_NONE)
			return i;
	}
}

/* Seed both search trees from the terminal capacities in f->tr. */
static void flow_start(struct imgflow *f)
{
	f->qfirst = f->qlast = -1;
	f->time = 0;
	f->orphans.len = 0;
	for (int32_t i = 0; i < f->n; i++) {
		f->parent[i] = ARC_NONE;
		f->next[i] = -1;
		f->sink[i] = 0;
		f->ts[i] = 0;
		f->dist[i] = 0;
		if (f->tr[i] != 0) {
			f->sink[i] = f->tr[i] < 0;
			f->parent[i] = ARC_TERMINAL;
			f->dist[i] = 1;
			flow_set_active(f, i);
		}
	}
}

/* Attach free node j to the tree of i through arc pa (j -> i). */
static void flow_adopt_free(struct imgflow *f, int32_t i, int32_t j, int32_t pa)
{
	f->sink[j] = f->sink[i];
	f->parent[j] = pa;
	f->ts[j] = f->ts[i];
	f->dist[j] = f->dist[i] + 1;
	flow_set_active(f, j);
}

/*
 * Grow the tree of active node i by one layer. Returns the arc joining the
 * source tree to the sink tree (oriented source -> sink) when the trees
 * touch, or -1.
 */
static int32_t flow_grow(struct imgflow *f, int32_t i)
{
	int is_sink = f->sink[i];

	for (int d = 0; d < 8; d++) {
		int32_t a = i * 8 + d, j = i + f->off[d];
		int32_t sa = j * 8 + ((d + 4) & 7);
		float cap = is_sink ? f->rcap[sa] : f->rcap[a];

		if (cap <= 0)
			continue;
		if (f->parent[j] == ARC_NONE)
			flow_adopt_free(f, i, j, sa);
		else if (f->sink[j] != is_sink)
			return is_sink ? sa : a;
		else if (f->ts[j] <= f->ts[i] && f->dist[j] > f->dist[i]) {
			f->parent[j] = sa;
			f->ts[j] = f->ts[i];
			f->dist[j] = f->dist[i] + 1;
		}
	}
	return -1;
}

static void flow_orphan(struct imgflow *f, int32_t i)
{
	f->parent[i] = ARC_ORPHAN;
	imgflow_stack_push(&f->orphans, i);
}

/* The smaller of two capacities (fminf is a libm call unless -ffast-math). */
static inline float flow_min(float a, float b)
{
	return b < a ? b : a;
}

/* Push the bottleneck along source -> mid -> sink; orphan saturated links. */
static void flow_augment(struct imgflow *f, int32_t mid)
{
	float b = f->rcap[mid];
	int32_t i, a;

	for (i = mid >> 3; (a = f->parent[i]) != ARC_TERMINAL; i = flow_head(f, a))
		b = flow_min(b, f->rcap[flow_sister(f, a)]);
	b = flow_min(b, f->tr[i]);
	for (i = flow_head(f, mid); (a = f->parent[i]) != ARC_TERMINAL; i = flow_head(f, a))
		b = flow_min(b, f->rcap[a]);
	b = flow_min(b, -f->tr[i]);

	f->rcap[flow_sister(f, mid)] += b;
	f->rcap[mid] -= b;
	for (i = mid >> 3; (a = f->parent[i]) != ARC_TERMINAL;) {
		int32_t s = flow_sister(f, a), nx = flow_head(f, a);

		f->rcap[a] += b;
		f->rcap[s] -= b;
		if (f->rcap[s] <= 0)
			flow_orphan(f, i);
		i = nx;
	}
	f->tr[i] -= b;
	if (f->tr[i] <= 0)
		flow_orphan(f, i);
	for (i = flow_head(f, mid); (a = f->parent[i]) != ARC_TERMINAL;) {
		int32_t nx = flow_head(f, a);

		f->rcap[flow_sister(f, a)] += b;
		f->rcap[a] -= b;
		if (f->rcap[a] <= 0)
			flow_orphan(f, i);
		i = nx;
	}
	f->tr[i] += b;
	if (f->tr[i] >= 0)
		flow_orphan(f, i);
}

/* Distance from j to its terminal, or INT_MAX if j hangs off an orphan. */
static int flow_origin(struct imgflow *f, int32_t j)
{
	int d = 0;

	for (;;) {
		int32_t a;

		if (f->ts[j] == f->time)
			return d + f->dist[j];
		a = f->parent[j];
		d++;
		if (a == ARC_TERMINAL) {
			f->ts[j] = f->time;
			f->dist[j] = 1;
			return d;
		}
		if (a == ARC_ORPHAN)
			return INT_MAX;
		j = flow_head(f, a);
	}
}

/* Find orphan i a new parent in its own tree, or free it. */
static void flow_adopt(struct imgflow *f, int32_t i)
{
	int is_sink = f->sink[i], dmin = INT_MAX;
	int32_t best = ARC_NONE;

	for (int d = 0; d < 8; d++) {
		int32_t a0 = i * 8 + d, j = i + f->off[d];
		float cap = is_sink ? f->rcap[a0] : f->rcap[j * 8 + ((d + 4) & 7)];
		int dj;

		if (cap <= 0 || f->parent[j] == ARC_NONE || f->sink[j] != is_sink)
			continue;
		dj = flow_origin(f, j);
		if (dj == INT_MAX)
			continue;
		if (dj < dmin) {
			best = a0;
			dmin = dj;
		}
		for (int32_t k = j; f->ts[k] != f->time; k = flow_head(f, f->parent[k])) {
			f->ts[k] = f->time;
			f->dist[k] = dj--;
		}
	}
	f->parent[i] = best;
	if (best != ARC_NONE) {
		f->ts[i] = f->time;
		f->dist[i] = dmin + 1;
		return;
	}
	for (int d = 0; d < 8; d++) {
		int32_t a0 = i * 8 + d, j = i + f->off[d], a = f->parent[j];
		float cap = is_sink ? f->rcap[a0] : f->rcap[j * 8 + ((d + 4) & 7)];

		if (a == ARC_NONE || f->sink[j] != is_sink)
			continue;
		if (cap > 0)
			flow_set_active(f, j);
		if (a != ARC_TERMINAL && a != ARC_ORPHAN && flow_head(f, a) == i)
			flow_orphan(f, j);
	}
}

void imgflow_run(struct imgflow *f)
{
	int32_t cur = -1;

	flow_start(f);
	for (;;) {
		int32_t i = cur, mid;

		if (i >= 0) {
			f->next[i] = -1;
			if (f->parent[i] == ARC_NONE)
				i = -1;
		}
		if (i < 0) {
			i = flow_next_active(f);
			if (i < 0)
				break;
		}
		mid = flow_grow(f, i);
		f->time++;
		if (mid < 0) {
			cur = -1;
			continue;
		}
		f->next[i] = i; /* stays current: marked active, not queued */
		cur = i;
		flow_augment(f, mid);
		while (f->orphans.len > 0)
			flow_adopt(f, f->orphans.v[--f->orphans.len]);
	}
}

void imgflow_nlinks(const float *rgb, int w, int h, double gamma, float *nl)
{
	double sum = 0, beta = 0;
	size_t cnt = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (int y = 0; y < h; y++) {
			for (int x = 0; x < w; x++) {
				size_t i = (size_t)y * w + x;

				for (int d = 0; d < 4; d++) {
					int nx = x + imgflow_dx[d], ny = y + imgflow_dy[d];
					const float *a = rgb + 3 * i,
						    *b = rgb + 3 * ((size_t)ny * w + nx);
					float d0, d1, d2;

					nl[4 * i + d] = 0;
					if (nx < 0 || nx >= w || ny >= h)
						continue;
					d0 = a[0] - b[0];
					d1 = a[1] - b[1];
					d2 = a[2] - b[2];
					d2 = d0 * d0 + d1 * d1 + d2 * d2;
					if (pass == 0) {
						sum += d2;
						cnt++;
						continue;
					}
					nl[4 * i + d] = (float)(gamma / (d & 1 ? M_SQRT2 : 1.0) *
								exp(-beta * d2));
				}
			}
		}
		if (pass == 0 && sum > 0)
			beta = (double)cnt / (2.0 * sum);
	}
}
