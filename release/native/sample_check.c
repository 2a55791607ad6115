/*
 * sample_check.c — a C program linked against the portable libcharrnn.so (-lcharrnn), for .ci/release-check: prints
 * which build the library loaded and a sample drawn the way `charrnn sample` draws one from a stream model (zero
 * state, the seed, the prime, then characters at temperature 1), so the two can be compared byte for byte.
 *
 *   sample_check MODEL SEED LENGTH PRIME    stdout: PRIME + the sample + "\n"
 *                                           stderr: "x86-64-v4 build, vector path 512-bit"; exit 1 with the library's
 *                                           message when a call fails
 */
#include <stdio.h>
#include <stdlib.h>
#include "charrnn.h"

static int fail(const char* what)
{
    const char* message = charrnn_last_error();
    fprintf(stderr, "sample_check: %s: %s\n", what, message != NULL ? message : "(no message)");
    return 1;
}

int main(int argc, char** argv)
{
    if (argc != 5)
    {
        fprintf(stderr, "usage: sample_check MODEL SEED LENGTH PRIME\n");
        return 2;
    }
    charrnn_model model = 0;
    charrnn_generator generator = 0;
    if (charrnn_model_load(argv[1], &model) != CHARRNN_OK) return fail("load the model");
    const char* build = charrnn_build_variant();
    const char* path = charrnn_vector_path();
    fprintf(stderr, "%s build, vector path %s\n", build != NULL ? build : "(none)", path != NULL ? path : "(none)");

    uint64_t seed = strtoull(argv[2], NULL, 10);
    int length = atoi(argv[3]);
    if (charrnn_generator_create(model, seed, &generator) != CHARRNN_OK) return fail("create a generator");
    if (charrnn_generator_reset(generator, seed) != CHARRNN_OK) return fail("reset");
    if (charrnn_generator_prime(generator, argv[4]) != CHARRNN_OK) return fail("prime");
    fputs(argv[4], stdout);
    for (int i = 0; i < length; i++)
    {
        int32_t token;
        char text[8];
        size_t written;
        if (charrnn_generator_next(generator, NULL, &token) != CHARRNN_OK) return fail("next");
        if (charrnn_model_token_text(model, token, text, sizeof text, &written) != CHARRNN_OK) return fail("token text");
        fputs(text, stdout);
    }
    fputs("\n", stdout);
    charrnn_generator_free(generator);
    charrnn_model_free(model);
    return 0;
}
