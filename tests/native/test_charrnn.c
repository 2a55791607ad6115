/* Drives libcharrnn from C: reproduces `charrnn sample` for one model and set of options, then checks that bad calls
 * return error codes and messages instead of crashing.
 *
 *   test_charrnn MODEL SEED LENGTH TEMPERATURE TOP_K [PRIME]   prints prime + generated text + "\n" on stdout,
 *                                                               the checks on stderr; exit 0 when all pass */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "charrnn.h"

static int failures = 0;

static void expect(int got, int want, const char* what) {
    const char* message = charrnn_last_error();
    if (got != want) {
        fprintf(stderr, "FAIL %s: status %d, expected %d (%s)\n", what, got, want, message ? message : "no message");
        failures++;
    } else if (want != CHARRNN_OK && (message == NULL || message[0] == '\0')) {
        fprintf(stderr, "FAIL %s: status %d but no error message\n", what, got);
        failures++;
    } else {
        fprintf(stderr, "ok   %s%s%s\n", what, want != CHARRNN_OK ? ": " : "", want != CHARRNN_OK ? message : "");
    }
}

int main(int argc, char** argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s MODEL SEED LENGTH TEMPERATURE TOP_K [PRIME]\n", argv[0]);
        return 2;
    }
    const char* path = argv[1];
    uint64_t seed = strtoull(argv[2], NULL, 10);
    int length = atoi(argv[3]);
    charrnn_sampling options = { atof(argv[4]), atoi(argv[5]), 1.0, 0 };
    const char* prime = argc > 6 ? argv[6] : "";

    fprintf(stderr, "libcharrnn %s, %s vectors\n", charrnn_version(), charrnn_vector_path());
    charrnn_model model = 0;
    expect(charrnn_model_load(path, &model), CHARRNN_OK, "load the model");
    int32_t vocab = 0, hidden = 0, lines = 0;
    expect(charrnn_model_info(model, &vocab, &hidden, &lines), CHARRNN_OK, "model info");

    /* the same start as `charrnn sample`: zero state, seed, the boundary in a lines model, the prime */
    charrnn_generator generator = 0;
    expect(charrnn_generator_create(model, seed, &generator), CHARRNN_OK, "create a generator");
    expect(charrnn_generator_reset(generator, seed), CHARRNN_OK, "reset");
    if (lines) expect(charrnn_generator_prime(generator, "\n"), CHARRNN_OK, "feed the boundary");
    expect(charrnn_generator_prime(generator, prime), CHARRNN_OK, "prime");
    size_t capacity = (size_t)length * 4 + 1, written = 0;
    char* text = malloc(capacity);
    expect(charrnn_generator_generate(generator, &options, length, text, capacity, &written), CHARRNN_OK, "generate");
    printf("%s%s\n", prime, text);

    /* logits, probabilities and token lookups */
    float* p = malloc(sizeof(float) * (size_t)vocab);
    expect(charrnn_generator_probabilities(generator, 1.0, p, (size_t)vocab), CHARRNN_OK, "probabilities");
    double sum = 0; for (int i = 0; i < vocab; i++) sum += p[i];
    if (sum < 0.999 || sum > 1.001) { fprintf(stderr, "FAIL probabilities sum to %f\n", sum); failures++; }
    char symbol[8]; size_t n = 0; int32_t token = -1;
    expect(charrnn_model_token_text(model, 0, symbol, sizeof symbol, &n), CHARRNN_OK, "token 0's text");
    expect(charrnn_model_token_of(model, (uint32_t)(unsigned char)symbol[0], &token), CHARRNN_OK, "token of that text");
    if (token != 0 && n == 1) { fprintf(stderr, "FAIL token round trip gave %d\n", token); failures++; }

    /* bad calls: an error code and a message, never a crash */
    charrnn_model none = 0;
    expect(charrnn_model_load(NULL, &none), CHARRNN_INVALID_ARGUMENT, "load(NULL)");
    expect(charrnn_model_load("/nonexistent/model.safetensors", &none), CHARRNN_IO_ERROR, "load a missing file");
    expect(charrnn_model_load(argv[0], &none), CHARRNN_FORMAT_ERROR, "load a file that is not a model");
    expect(charrnn_model_load_memory("garbage", 7, &none), CHARRNN_FORMAT_ERROR, "load garbage from memory");
    expect(charrnn_generator_prime(generator, "\xe2\x98\x83\xe2\x98\x83"), CHARRNN_UNKNOWN_CHARACTER, "prime with unknown characters");
    expect(charrnn_generator_feed(generator, vocab), CHARRNN_INVALID_ARGUMENT, "feed an out-of-range token");
    expect(charrnn_generator_logits(generator, p, 1), CHARRNN_BUFFER_TOO_SMALL, "logits into a short buffer");
    expect(charrnn_generator_next(generator, NULL, NULL), CHARRNN_INVALID_ARGUMENT, "next(token = NULL)");
    charrnn_sampling bad = { -1.0, 0, 1.0, 0 };
    expect(charrnn_generator_next(generator, &bad, &token), CHARRNN_INVALID_ARGUMENT, "negative temperature");
    expect(charrnn_generator_free(generator), CHARRNN_OK, "free the generator");
    expect(charrnn_generator_free(generator), CHARRNN_INVALID_HANDLE, "free it again");
    expect(charrnn_generator_next(generator, &options, &token), CHARRNN_INVALID_HANDLE, "use a freed generator");
    expect(charrnn_generator_create(12345, 1, &generator), CHARRNN_INVALID_HANDLE, "a forged model handle");
    expect(charrnn_generator_free((charrnn_generator)model), CHARRNN_INVALID_HANDLE, "free a model as a generator");
    expect(charrnn_model_free(model), CHARRNN_OK, "free the model");
    expect(charrnn_model_info(model, &vocab, &hidden, &lines), CHARRNN_INVALID_HANDLE, "use a freed model");

    free(text); free(p);
    fprintf(stderr, "%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
