#ifndef EXECBOX_CZLIB_SHIM_H
#define EXECBOX_CZLIB_SHIM_H

#include <zlib.h>

// deflateInit2 and inflateInit2 are macros, which Swift cannot call: these wrap them.
// windowBits 15 + 16 selects the gzip format, 15 the zlib format (gRPC's "deflate").
static inline int execbox_deflate_init(z_stream *stream, int gzip) {
    return deflateInit2(stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, gzip ? 15 + 16 : 15, 8, Z_DEFAULT_STRATEGY);
}

static inline int execbox_inflate_init(z_stream *stream, int gzip) {
    return inflateInit2(stream, gzip ? 15 + 16 : 15);
}

#endif
