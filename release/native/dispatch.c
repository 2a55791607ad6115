/*
 * dispatch.c — the portable libcharrnn.so: loads the NativeAOT build for this CPU's x86-64 level
 * (libcharrnn-x86-64-v2.so, -v3, -v4 beside it), or the one CHARRNN_ISA names (variant.h), at the first call of any
 * charrnn_* function, and forwards every call to it (the forwarders are generated from charrnn.h by forwarders.py).
 *
 * Loading runs once (pthread_once), whichever thread calls first. If it fails — a CPU or CHARRNN_ISA that no build
 * fits, a missing or unloadable file — every function fails instead: a status of CHARRNN_INTERNAL, a NULL string,
 * and charrnn_last_error() says why. The build is never unloaded (a NativeAOT runtime cannot be).
 *
 *   gcc -O2 -shared -fPIC -fvisibility=hidden -o libcharrnn.so dispatch.c forwarders.c -ldl -lpthread   (release/build)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include "charrnn.h"
#include "dispatch.h"
#include "variant.h"

static char library_directory[PATH_MAX];  /* with a trailing '/'; empty when the library could not find itself */
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int loaded;
static char failure[PATH_MAX + 512];  /* the reason loading failed, for charrnn_last_error */

/* Where this library lives, resolved when it is loaded: a relative path (LD_LIBRARY_PATH=out/release) must not
 * depend on the directory the program is in at its first call. */
__attribute__((constructor)) static void find_library_directory(void)
{
    Dl_info self;
    char resolved[PATH_MAX];
    if (dladdr((void*)(uintptr_t)&find_library_directory, &self) == 0 || self.dli_fname == NULL
        || realpath(self.dli_fname, resolved) == NULL)
        return;
    char* slash = strrchr(resolved, '/');
    if (slash != NULL) slash[1] = '\0';
    snprintf(library_directory, sizeof library_directory, "%s", resolved);
}

static void load(void)
{
    char reason[512];
    int exit_status;
    int level = variant_choose(reason, sizeof reason, &exit_status);
    if (level == 0)
    {
        snprintf(failure, sizeof failure, "libcharrnn: %s", reason);
        return;
    }
    if (library_directory[0] == '\0')
    {
        snprintf(failure, sizeof failure, "libcharrnn: cannot find the directory libcharrnn.so was loaded from");
        return;
    }
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%slibcharrnn-%s.so", library_directory, variant_names[level]);
    void* build = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (build == NULL)
    {
        snprintf(failure, sizeof failure, "libcharrnn: cannot load the %s build: %s", variant_names[level], dlerror());
        return;
    }
    for (size_t i = 0; i < dispatch_symbol_count; i++)
    {
        void* address = dlsym(build, dispatch_symbols[i].name);
        if (address == NULL)
        {
            snprintf(failure, sizeof failure, "libcharrnn: %s has no function %s (built from another charrnn.h?)",
                     path, dispatch_symbols[i].name);
            return;
        }
        memcpy(dispatch_symbols[i].slot, &address, sizeof address);  /* POSIX: a data pointer holds a function's */
    }
    loaded = 1;
}

int dispatch_load(void)
{
    pthread_once(&load_once, load);
    return loaded;
}

const char* dispatch_failure_text(const char* function)
{
    return strcmp(function, "charrnn_last_error") == 0 ? failure : NULL;
}
