#ifndef ORZO_CMALLOC_SHIM_H
#define ORZO_CMALLOC_SHIM_H
// glibc's malloc.h (mallinfo2, malloc_trim), which Swift's Glibc module leaves out.
#include <malloc.h>
#endif
