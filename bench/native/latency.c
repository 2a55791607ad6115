/* Per-character generation latency through the C ABI: p50 / p99 / max of charrnn_generator_next, one clock read
 * per character (CLOCK_MONOTONIC), after a warm-up.
 *   latency MODEL [CHARS]   prints {"event":"latency","api":"native","p50_us":…,"p99_us":…,"max_us":…,"mean_us":…,"chars":…} */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "charrnn.h"

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int by_value(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

int main(int argc, char** argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s MODEL [CHARS]\n", argv[0]); return 2; }
    int chars = argc > 2 ? atoi(argv[2]) : 200000;
    charrnn_model model; charrnn_generator generator; int32_t token;
    if (charrnn_model_load(argv[1], &model) || charrnn_generator_create(model, 1, &generator)) {
        fprintf(stderr, "error: %s\n", charrnn_last_error());
        return 1;
    }
    charrnn_sampling options = { 1.0, 0, 1.0, 0 };
    for (int i = 0; i < 20000; i++) charrnn_generator_next(generator, &options, &token);   /* warm-up */
    double* us = malloc(sizeof(double) * (size_t)chars);
    double total = 0;
    for (int i = 0; i < chars; i++) {
        double start = now_us();
        charrnn_generator_next(generator, &options, &token);
        us[i] = now_us() - start;
        total += us[i];
    }
    qsort(us, (size_t)chars, sizeof(double), by_value);
    printf("{\"event\":\"latency\",\"api\":\"native\",\"p50_us\":%.3f,\"p99_us\":%.3f,\"max_us\":%.3f,\"mean_us\":%.3f,\"chars\":%d}\n",
           us[chars / 2], us[(size_t)(chars * 0.99)], us[chars - 1], total / chars, chars);
    free(us);
    charrnn_generator_free(generator);
    charrnn_model_free(model);
    return 0;
}
