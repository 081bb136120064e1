#ifndef EXECBOX_CLIBPQ_SHIM_H
#define EXECBOX_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#include <poll.h>
#endif
