/*
 * launcher.c — the portable `charrnn`: runs the NativeAOT build for this CPU's x86-64 level (charrnn-x86-64-v2, -v3,
 * -v4 beside it), or the one CHARRNN_ISA names (variant.h). The build replaces this process (exec), so arguments,
 * environment, standard streams, signals and the exit status are the build's own.
 *
 *   gcc -O2 -o charrnn release/native/launcher.c        (release/build does this)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include "variant.h"

int main(int argc, char** argv)
{
    (void)argc;
    char error[512];
    int status = 1;
    int level = variant_choose(error, sizeof error, &status);
    if (level == 0)
    {
        fprintf(stderr, "charrnn: error: %s\n", error);
        return status;
    }

    /* The builds sit beside the launcher's real file, wherever a symbolic link to it was called from. */
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0)
    {
        fprintf(stderr, "charrnn: error: cannot find the launcher's own path (/proc/self/exe): %s\n", strerror(errno));
        return 1;
    }
    path[n] = '\0';
    char* slash = strrchr(path, '/');
    size_t dir = slash == NULL ? 0 : (size_t)(slash - path) + 1;
    if (snprintf(path + dir, sizeof path - dir, "charrnn-%s", variant_names[level]) >= (int)(sizeof path - dir))
    {
        fprintf(stderr, "charrnn: error: the launcher's path is too long\n");
        return 1;
    }

    execv(path, argv);
    fprintf(stderr, "charrnn: error: cannot run %s: %s (the release is incomplete: rebuild it with release/build)\n",
            path, strerror(errno));
    return 1;
}
