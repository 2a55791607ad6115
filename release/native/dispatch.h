/*
 * dispatch.h — between the portable libcharrnn.so's loader (dispatch.c) and its forwarders, which forwarders.py
 * generates from charrnn.h.
 */
#ifndef CHARRNN_RELEASE_DISPATCH_H
#define CHARRNN_RELEASE_DISPATCH_H

#include <stddef.h>

/* The library exports exactly the header's functions; everything else is hidden (-fvisibility=hidden). */
#define DISPATCH_EXPORT __attribute__((visibility("default")))

/* One function of the loaded build: its name and where its address goes (a pointer to the forwarder's pointer). */
typedef struct dispatch_symbol {
    const char* name;
    void* slot;
} dispatch_symbol;

extern const dispatch_symbol dispatch_symbols[];   /* every function of charrnn.h, in header order */
extern const size_t dispatch_symbol_count;

/* Loads the build for this CPU once, from any thread; 1 when every function's address is filled in, else 0. */
int dispatch_load(void);

/* What a function returning a string returns when no build could be loaded: the reason, for charrnn_last_error;
 * NULL for the others. */
const char* dispatch_failure_text(const char* function);

#endif /* CHARRNN_RELEASE_DISPATCH_H */
