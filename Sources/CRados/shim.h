// The librados C API, as Debian's librados-dev installs it (no pkg-config file).
// Only the Rados module imports this; the rest of Orzo never touches C.
#ifndef ORZO_CRADOS_SHIM_H
#define ORZO_CRADOS_SHIM_H
#include <rados/librados.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/time.h>
#endif
