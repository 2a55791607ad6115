/* Drives libcharrnn from C: checks the ABI version, reproduces `charrnn sample` for one model and set of options
 * (stream or lines model) through the library's sample protocol, checks the contract of a too-small buffer, then
 * checks that bad calls return error codes and messages instead of crashing.
 *
 *   test_charrnn MODEL SEED LENGTH TEMPERATURE TOP_K [PRIME]   prints prime + generated text + "\n" on stdout,
 *                                                               the checks on stderr; exit 0 when all pass */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "charrnn.h"

static int failures = 0;

static void check(int ok, const char* what) {
    fprintf(stderr, "%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) failures++;
}

static size_t utf8_characters(const char* text) {
    size_t count = 0;
    for (; *text; text++) count += ((unsigned char)*text & 0xC0) != 0x80;
    return count;
}

/* Every call here returns at once; one that works for minutes (e.g. generating 2^31 characters) is a failure. */
static void on_alarm(int signal) {
    (void)signal;
    static const char message[] = "FAIL a call did not return within 60 s\n";
    ssize_t ignored = write(2, message, sizeof message - 1);
    (void)ignored;
    _exit(1);
}

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

    signal(SIGALRM, on_alarm);
    alarm(60);

    /* the ABI this program was built for is the one the library serves */
    uint32_t abi = charrnn_abi_version();
    fprintf(stderr, "libcharrnn %s, ABI %u.%u (header %u.%u), %s vectors\n", charrnn_version(), abi >> 16, abi & 0xFFFFu,
            CHARRNN_ABI_VERSION_MAJOR, CHARRNN_ABI_VERSION_MINOR, charrnn_vector_path());
    check(abi == CHARRNN_ABI_VERSION, "charrnn_abi_version() equals the header's CHARRNN_ABI_VERSION_MAJOR/MINOR");
    check(CHARRNN_ABI_COMPATIBLE(abi), "CHARRNN_ABI_COMPATIBLE(charrnn_abi_version())");
    check(CHARRNN_ABI_COMPATIBLE(abi + 1) && !CHARRNN_ABI_COMPATIBLE(abi + 0x10000u) && !CHARRNN_ABI_COMPATIBLE(abi - 0x10000u),
          "a newer minor is compatible, another major is not");

    charrnn_model model = 0;
    expect(charrnn_model_load(path, &model), CHARRNN_OK, "load the model");
    int32_t vocab = 0, hidden = 0, lines = 0;
    expect(charrnn_model_info(model, &vocab, &hidden, &lines), CHARRNN_OK, "model info");
    size_t longest = 0; /* the longest token in UTF-8 */
    for (int32_t t = 0; t < vocab; t++) {
        char symbol[8]; size_t n = 0;
        charrnn_model_token_text(model, t, symbol, sizeof symbol, &n);
        if (n > longest) longest = n;
    }

    /* the sample `charrnn sample` prints, by the library's protocol */
    charrnn_generator generator = 0;
    expect(charrnn_generator_create(model, seed, &generator), CHARRNN_OK, "create a generator");
    expect(charrnn_generator_start(generator, seed, prime), CHARRNN_OK, "start a sample");
    size_t capacity = (size_t)length * 4 + 1, written = 0;
    char* text = malloc(capacity);
    expect(charrnn_generator_generate(generator, &options, length, text, capacity, &written), CHARRNN_OK, "generate");
    check(written == strlen(text), "*written is the text's length");
    printf("%s%s\n", prime, text);
    fflush(stdout);
    if (lines) {
        int32_t end = 0;
        expect(charrnn_generator_try_next(generator, &options, &end), CHARRNN_OK, "try_next after the line");
        check(utf8_characters(text) == (size_t)length || end == -1, "a lines sample that stopped early has ended (try_next gives -1)");
    }

    /* the same text token by token */
    char* again = calloc(capacity, 1);
    size_t used = 0;
    int32_t token = 0;
    expect(charrnn_generator_start(generator, seed, prime), CHARRNN_OK, "start the same sample");
    for (int i = 0; i < length; i++) {
        if (charrnn_generator_try_next(generator, &options, &token) != CHARRNN_OK || token < 0) break;
        size_t n = 0;
        charrnn_model_token_text(model, token, again + used, capacity - used, &n);
        used += n;
    }
    check(strcmp(again, text) == 0, "try_next token by token gives the generated text");

    /* a too-small buffer: "" in it, the generator unchanged, *written a size that is enough */
    size_t bound = (size_t)length * longest;
    char small[4] = "xyz";
    expect(charrnn_generator_start(generator, seed, prime), CHARRNN_OK, "start the same sample");
    if (strlen(text) >= sizeof small) {
        expect(charrnn_generator_generate(generator, &options, length, small, sizeof small, &written), CHARRNN_BUFFER_TOO_SMALL,
               "generate into a too-small buffer");
        check(small[0] == '\0', "the too-small buffer holds \"\"");
        check(written == bound, "*written = length x the longest character's UTF-8 length");
    }
    written = 12345;
    expect(charrnn_generator_generate(generator, &options, length, NULL, 0, &written), CHARRNN_BUFFER_TOO_SMALL, "ask for the size");
    check(written == bound, "a NULL buffer gives the size");
    expect(charrnn_generator_generate(generator, &options, CHARRNN_GENERATE_MAX_LENGTH, NULL, 0, &written), CHARRNN_BUFFER_TOO_SMALL,
           "ask for the size of CHARRNN_GENERATE_MAX_LENGTH characters (nothing generated)");
    check(written == (size_t)CHARRNN_GENERATE_MAX_LENGTH * longest, "that size");
    expect(charrnn_generator_generate(generator, &options, CHARRNN_GENERATE_MAX_LENGTH, small, sizeof small, &written),
           strlen(text) >= sizeof small ? CHARRNN_BUFFER_TOO_SMALL : CHARRNN_OK,
           "CHARRNN_GENERATE_MAX_LENGTH characters into 4 bytes (the work is bounded by the buffer)");
    /* every call above left the sample where it was, unless the whole (short) line fitted into small */
    if (strlen(text) < sizeof small) expect(charrnn_generator_start(generator, seed, prime), CHARRNN_OK, "start the same sample");
    char* retried = malloc(bound + 1);
    expect(charrnn_generator_generate(generator, &options, length, retried, bound + 1, &written), CHARRNN_OK, "retry with that size");
    check(strcmp(retried, text) == 0, "the retry gives the same text");
    expect(charrnn_generator_generate(generator, &options, INT32_MAX, NULL, 0, &written), CHARRNN_INVALID_ARGUMENT,
           "INT32_MAX characters: above CHARRNN_GENERATE_MAX_LENGTH");

    /* logits, probabilities and token lookups */
    float* p = malloc(sizeof(float) * (size_t)vocab);
    expect(charrnn_generator_probabilities(generator, 1.0, p, (size_t)vocab), CHARRNN_OK, "probabilities");
    double sum = 0; for (int i = 0; i < vocab; i++) sum += p[i];
    if (sum < 0.999 || sum > 1.001) { fprintf(stderr, "FAIL probabilities sum to %f\n", sum); failures++; }
    char symbol[8]; size_t n = 0; token = -1;
    expect(charrnn_model_token_text(model, 0, symbol, sizeof symbol, &n), CHARRNN_OK, "token 0's text");
    expect(charrnn_model_token_of(model, (uint32_t)(unsigned char)symbol[0], &token), CHARRNN_OK, "token of that text");
    if (token != 0 && n == 1) { fprintf(stderr, "FAIL token round trip gave %d\n", token); failures++; }

    /* bad calls: an error code and a message, never a crash */
    charrnn_model none = 0;
    expect(charrnn_model_load(NULL, &none), CHARRNN_INVALID_ARGUMENT, "load(NULL)");
    expect(charrnn_model_load("/nonexistent/model.safetensors", &none), CHARRNN_IO_ERROR, "load a missing file");
    expect(charrnn_model_load(argv[0], &none), CHARRNN_FORMAT_ERROR, "load a file that is not a model");
    expect(charrnn_model_load_memory("garbage", 7, &none), CHARRNN_FORMAT_ERROR, "load garbage from memory");
    /* the weight formats: every one loads the model (from the file and from memory) and generates; others are refused */
    const int32_t formats[] = { CHARRNN_WEIGHTS_STORED, CHARRNN_WEIGHTS_F32, CHARRNN_WEIGHTS_BF16, CHARRNN_WEIGHTS_INT8 };
    const char* const format_names[] = { "stored", "f32", "bf16", "int8" };
    FILE* file = fopen(path, "rb");
    fseek(file, 0, SEEK_END);
    long file_size = ftell(file);
    fseek(file, 0, SEEK_SET);
    char* bytes = malloc((size_t)file_size);
    check(fread(bytes, 1, (size_t)file_size, file) == (size_t)file_size, "read the model file into memory");
    fclose(file);
    for (int i = 0; i < 4; i++) {
        char what[80];
        charrnn_model loaded = 0, from_memory = 0;
        charrnn_generator g = 0;
        snprintf(what, sizeof what, "load with %s weights", format_names[i]);
        expect(charrnn_model_load_weights(path, formats[i], &loaded), CHARRNN_OK, what);
        snprintf(what, sizeof what, "load from memory with %s weights", format_names[i]);
        expect(charrnn_model_load_memory_weights(bytes, (size_t)file_size, formats[i], &from_memory), CHARRNN_OK, what);
        snprintf(what, sizeof what, "generate with %s weights", format_names[i]);
        expect(charrnn_generator_create(loaded, 3, &g), CHARRNN_OK, "create a generator on it");
        expect(charrnn_generator_start(g, 3, NULL), CHARRNN_OK, "start");
        expect(charrnn_generator_generate(g, &options, length < 20 ? length : 20, text, capacity, &written), CHARRNN_OK, what);
        expect(charrnn_generator_free(g), CHARRNN_OK, "free that generator");
        expect(charrnn_model_free(loaded), CHARRNN_OK, "free that model");
        expect(charrnn_model_free(from_memory), CHARRNN_OK, "free the model from memory");
    }
    none = 7;
    expect(charrnn_model_load_weights(path, 4, &none), CHARRNN_INVALID_ARGUMENT, "load with weights 4");
    check(none == 0, "a refused load leaves *model = 0");
    expect(charrnn_model_load_weights(path, -1, &none), CHARRNN_INVALID_ARGUMENT, "load with weights -1");
    expect(charrnn_model_load_weights(NULL, CHARRNN_WEIGHTS_INT8, &none), CHARRNN_INVALID_ARGUMENT, "load_weights(NULL)");
    expect(charrnn_model_load_weights(path, CHARRNN_WEIGHTS_INT8, NULL), CHARRNN_INVALID_ARGUMENT, "load_weights(model = NULL)");
    expect(charrnn_model_load_weights("/nonexistent/model.safetensors", CHARRNN_WEIGHTS_BF16, &none), CHARRNN_IO_ERROR, "load_weights of a missing file");
    expect(charrnn_model_load_memory_weights(bytes, (size_t)file_size, 9, &none), CHARRNN_INVALID_ARGUMENT, "load from memory with weights 9");
    expect(charrnn_model_load_memory_weights("garbage", 7, CHARRNN_WEIGHTS_INT8, &none), CHARRNN_FORMAT_ERROR, "load garbage from memory as int8");
    free(bytes);
    expect(charrnn_generator_prime(generator, "\xe2\x98\x83\xe2\x98\x83"), CHARRNN_UNKNOWN_CHARACTER, "prime with unknown characters");
    expect(charrnn_generator_feed(generator, vocab), CHARRNN_INVALID_ARGUMENT, "feed an out-of-range token");
    expect(charrnn_generator_logits(generator, p, 1), CHARRNN_BUFFER_TOO_SMALL, "logits into a short buffer");
    expect(charrnn_model_token_text(model, 0, symbol, 1, &n), CHARRNN_BUFFER_TOO_SMALL, "token text into 1 byte");
    check(symbol[0] == '\0', "that buffer holds \"\"");
    expect(charrnn_generator_start(generator, 1, "\xe2\x98\x83"), CHARRNN_UNKNOWN_CHARACTER, "start with an unknown character");
    expect(charrnn_generator_next(generator, NULL, NULL), CHARRNN_INVALID_ARGUMENT, "next(token = NULL)");
    expect(charrnn_generator_try_next(generator, NULL, NULL), CHARRNN_INVALID_ARGUMENT, "try_next(token = NULL)");
    const charrnn_sampling bad[] = { { -1.0, 0, 1.0, 0 }, { NAN, 0, 1.0, 0 }, { 1.0, -1, 1.0, 0 }, { 1.0, 0, 0.0, 0 }, { 1.0, 0, 1.5, 0 } };
    const char* const bad_names[] = { "temperature -1", "temperature NaN", "top_k -1", "top_p 0", "top_p 1.5" };
    for (int i = 0; i < 5; i++) {
        char what[80];
        snprintf(what, sizeof what, "next with %s", bad_names[i]);
        expect(charrnn_generator_next(generator, &bad[i], &token), CHARRNN_INVALID_ARGUMENT, what);
        snprintf(what, sizeof what, "try_next with %s", bad_names[i]);
        expect(charrnn_generator_try_next(generator, &bad[i], &token), CHARRNN_INVALID_ARGUMENT, what);
        snprintf(what, sizeof what, "generate with %s", bad_names[i]);
        expect(charrnn_generator_generate(generator, &bad[i], 5, text, capacity, &written), CHARRNN_INVALID_ARGUMENT, what);
    }
    expect(charrnn_generator_probabilities(generator, 0.0, p, (size_t)vocab), CHARRNN_INVALID_ARGUMENT, "probabilities at temperature 0");
    expect(charrnn_generator_generate(generator, &options, -1, text, capacity, &written), CHARRNN_INVALID_ARGUMENT, "generate -1 characters");
    token = -5;
    expect(charrnn_generator_next(generator, &options, &token), CHARRNN_OK, "next");
    check(token >= 0 && token < vocab, "next wrote its token");
    charrnn_generator fresh = 0;
    expect(charrnn_generator_create(model, 1, &fresh), CHARRNN_OK, "create another generator");
    expect(charrnn_generator_logits(fresh, p, (size_t)vocab), CHARRNN_INVALID_ARGUMENT, "logits before anything was fed");
    expect(charrnn_generator_free(fresh), CHARRNN_OK, "free it");
    expect(charrnn_generator_free(generator), CHARRNN_OK, "free the generator");
    expect(charrnn_generator_free(generator), CHARRNN_INVALID_HANDLE, "free it again");
    expect(charrnn_generator_next(generator, &options, &token), CHARRNN_INVALID_HANDLE, "use a freed generator");
    expect(charrnn_generator_create(12345, 1, &generator), CHARRNN_INVALID_HANDLE, "a forged model handle");
    expect(charrnn_generator_free((charrnn_generator)model), CHARRNN_INVALID_HANDLE, "free a model as a generator");
    expect(charrnn_model_free(model), CHARRNN_OK, "free the model");
    expect(charrnn_model_info(model, &vocab, &hidden, &lines), CHARRNN_INVALID_HANDLE, "use a freed model");

    free(text); free(again); free(retried); free(p);
    fprintf(stderr, "%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
