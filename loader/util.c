/* Small helpers shared by the loader's files. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

int vmfw_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *n;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	n = realloc(*arr, ncap * elem);
	if (!n)
		return -ENOMEM;
	*arr = n;
	*cap = ncap;
	return 0;
}

void vmfw_out_put(struct vmfw_out *o, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (o->used + 1 >= o->n)
		return;
	va_start(ap, fmt);
	w = vsnprintf(o->buf + o->used, o->n - o->used, fmt, ap);
	va_end(ap);
	if (w < 0)
		return;
	o->used += (size_t)w;
	if (o->used >= o->n)
		o->used = o->n - 1;
}
