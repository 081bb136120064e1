#ifndef H2FLOOR_CNGHTTP2_SHIM_H
#define H2FLOOR_CNGHTTP2_SHIM_H
#include <nghttp2/nghttp2.h>
#endif
