/* Small helpers shared by the loader's files. */
#ifndef VMFW_UTIL_H
#define VMFW_UTIL_H

#include <stddef.h>

/* Makes room for `need` elements of `elem` bytes in *arr (capacity *cap), doubling: 0 or -ENOMEM. */
int vmfw_grow(void **arr, size_t *cap, size_t need, size_t elem);

/* A bounded string being appended to: what does not fit is cut, never overrun. */
struct vmfw_out {
	char *buf;
	size_t n;
	size_t used;
};

void vmfw_out_put(struct vmfw_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* VMFW_UTIL_H */
