/*
 * variant.h — which NativeAOT build of charrnn runs on this CPU. Shared by the launcher (charrnn) and the dispatching
 * libcharrnn.so; both include it once.
 *
 * NativeAOT fixes vector widths when it compiles, so release/build publishes one build per x86-64 level (psABI):
 *   x86-64-v2  SSE4.2, POPCNT, SSSE3, CMPXCHG16B     128-bit vectors (kernel policy sse)
 *   x86-64-v3  + AVX, AVX2, FMA, BMI1/2, LZCNT, MOVBE  256-bit vectors (avx2)
 *   x86-64-v4  + AVX-512 F, BW, CD, DQ, VL            512-bit vectors (avx512)
 * and the start-up picks the highest level this CPU (and its OS: AVX and AVX-512 register state enabled, which
 * __builtin_cpu_supports checks through xgetbv) runs, or the one CHARRNN_ISA names.
 */
#ifndef CHARRNN_RELEASE_VARIANT_H
#define CHARRNN_RELEASE_VARIANT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { VARIANT_LOWEST = 2, VARIANT_HIGHEST = 4 };

/* The build of each level, by level. */
static const char* const variant_names[VARIANT_HIGHEST + 1] = { NULL, NULL, "x86-64-v2", "x86-64-v3", "x86-64-v4" };

/* What each level adds, for messages. */
static const char* const variant_features[VARIANT_HIGHEST + 1] = {
    NULL, NULL, "SSE4.2, POPCNT, SSSE3, CMPXCHG16B", "AVX2, FMA, BMI1/2, LZCNT, MOVBE", "AVX-512 F, BW, CD, DQ, VL",
};

/* Tests only: lowers the detected level (1 = below x86-64-v2), so every choice runs on one machine. Never raises it. */
#define VARIANT_TEST_LEVEL_VARIABLE "CHARRNN_TEST_CPU_LEVEL"

/* The highest x86-64 level this CPU and OS run: 1 (below v2) to 4. */
static int variant_cpu_level(void)
{
    __builtin_cpu_init();
    int level = __builtin_cpu_supports("x86-64-v4") ? 4
              : __builtin_cpu_supports("x86-64-v3") ? 3
              : __builtin_cpu_supports("x86-64-v2") ? 2 : 1;
    const char* test = getenv(VARIANT_TEST_LEVEL_VARIABLE);
    if (test != NULL && test[0] >= '1' && test[0] <= '4' && test[1] == '\0' && test[0] - '0' < level) level = test[0] - '0';
    return level;
}

/* The level CHARRNN_ISA names, with the names KernelPolicy accepts (VectorPath.cs: 512, 256, 128, scalar, avx512, avx2,
 * sse, neon …); 0 when it is unset or names none (the build then reports the bad value itself). The scalar kernels
 * need no vectors: they run in the x86-64-v2 build. */
static int variant_isa_level(const char* isa)
{
    if (isa == NULL) return 0;
    while (*isa == ' ' || *isa == '\t') isa++;
    size_t n = strlen(isa);
    while (n > 0 && (isa[n - 1] == ' ' || isa[n - 1] == '\t')) n--;
    static const struct { const char* name; int level; } names[] = {
        { "512", 4 }, { "v512", 4 }, { "avx512", 4 }, { "avx-512", 4 },
        { "256", 3 }, { "v256", 3 }, { "avx2", 3 }, { "avx", 3 },
        { "128", 2 }, { "v128", 2 }, { "sse", 2 }, { "neon", 2 },
        { "0", 2 }, { "scalar", 2 }, { "none", 2 },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == n && strncasecmp(isa, names[i].name, n) == 0) return names[i].level;
    return 0;
}

/* The level to run (2..4), or 0 with a message in error and the exit status a program should end with: 2 when
 * CHARRNN_ISA asks for a build this CPU cannot run (a mistake in the command's environment), 1 when the CPU is below
 * x86-64-v2. */
static int variant_choose(char* error, size_t capacity, int* exit_status)
{
    int cpu = variant_cpu_level();
    const char* isa = getenv("CHARRNN_ISA");
    int forced = variant_isa_level(isa);
    if (forced > cpu)
    {
        /* Name what the CPU lacks: the features of every level above its own, up to the one asked for. */
        char missing[160] = "";
        for (int l = cpu < VARIANT_LOWEST ? VARIANT_LOWEST : cpu + 1; l <= forced; l++)
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s", missing[0] ? ", " : "", variant_features[l]);
        if (cpu < VARIANT_LOWEST)
            snprintf(error, capacity, "CHARRNN_ISA=%s needs the %s build, but this CPU lacks %s", isa, variant_names[forced], missing);
        else
            snprintf(error, capacity,
                     "CHARRNN_ISA=%s needs the %s build, but this CPU (or its OS) lacks %s; it runs the %s build: "
                     "use CHARRNN_ISA=%s or leave CHARRNN_ISA unset",
                     isa, variant_names[forced], missing, variant_names[cpu], cpu == 2 ? "128" : "256");
        *exit_status = 2;
        return 0;
    }
    if (forced != 0) return forced;
    if (cpu < VARIANT_LOWEST)
    {
        snprintf(error, capacity, "this CPU is below x86-64-v2 (%s), the oldest level charrnn is built for",
                 variant_features[VARIANT_LOWEST]);
        *exit_status = 1;
        return 0;
    }
    return cpu;
}

#endif /* CHARRNN_RELEASE_VARIANT_H */
