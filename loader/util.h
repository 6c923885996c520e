/* Small helpers shared by the loader's files. */
#ifndef VMFW_UTIL_H
#define VMFW_UTIL_H

#include <stddef.h>

/* Makes room for `need` elements of `elem` bytes in *arr (capacity *cap), doubling: 0 or -ENOMEM. */
int vmfw_grow(void **arr, size_t *cap, size_t need, size_t elem);

#endif /* VMFW_UTIL_H */
