/*
 * charrnn.h — C interface of libcharrnn, the CharRnn.Fast character-level RNN engine.
 *
 * Build the library:  dotnet publish src/CharRnn.Native -r linux-x64 -c Release -o out/native
 *                     (gives out/native/libcharrnn.so; link with -L out/native -lcharrnn)
 *
 * Handles.   charrnn_model and charrnn_generator are opaque handles. Every handle the library gives you is yours
 *            until you pass it to its _free function; after that, the same value is rejected with
 *            CHARRNN_INVALID_HANDLE (handles are never reused), so a double free or a use after free is an error,
 *            not a crash. Freeing a model does not invalidate generators created from it (they keep it alive).
 * Threading. A model is immutable: share one across any number of threads. A generator holds one caller's state
 *            (hidden vector, sampling RNG, scratch): use each generator from one thread at a time. Create one
 *            generator per thread or per stream; they are small (a few floats per hidden unit and vocabulary entry).
 * Errors.    Every function returns a charrnn_status; on failure, charrnn_last_error() returns a UTF-8 message for
 *            the calling thread (owned by the library, valid until that thread's next call into it).
 * Strings.   All text is UTF-8. Output buffers are filled with a NUL-terminated string; *written receives the byte
 *            length without the NUL (also when the buffer is too small, so you can retry with the right size).
 * Speed.     charrnn_generator_next allocates nothing; at hidden size 128 one character takes about a microsecond.
 */
#ifndef CHARRNN_H
#define CHARRNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef intptr_t charrnn_model;      /* 0 = no model */
typedef intptr_t charrnn_generator;  /* 0 = no generator */

typedef enum charrnn_status {
    CHARRNN_OK = 0,
    CHARRNN_INVALID_ARGUMENT = 1,    /* NULL pointer, out-of-range value, or call in the wrong order */
    CHARRNN_INVALID_HANDLE = 2,      /* not a live handle of the expected kind (freed, or never created) */
    CHARRNN_IO_ERROR = 3,            /* file missing or unreadable */
    CHARRNN_FORMAT_ERROR = 4,        /* not a valid model file (truncated, corrupt, wrong shapes, NaN weights …) */
    CHARRNN_UNKNOWN_CHARACTER = 5,   /* text contains characters outside the model's vocabulary */
    CHARRNN_BUFFER_TOO_SMALL = 6,    /* see *written / the message for the size needed */
    CHARRNN_INTERNAL = 99
} charrnn_status;

/* How the next character is drawn from softmax(logits / temperature). greedy != 0 (or temperature 0) takes the
 * most likely; top_k > 0 keeps the k most likely; top_p < 1 keeps the smallest most-likely set with mass >= top_p. */
typedef struct charrnn_sampling {
    double temperature;   /* >= 0; 1 = the model's distribution */
    int32_t top_k;        /* 0 = off */
    double top_p;         /* (0, 1]; 1 = off */
    int32_t greedy;       /* 0 or 1 */
} charrnn_sampling;

const char* charrnn_version(void);
const char* charrnn_vector_path(void);      /* "512-bit", "256-bit", "128-bit" or "scalar" */
const char* charrnn_last_error(void);       /* NULL when the thread's last call succeeded */

/* Models: load a .safetensors model (written by charrnn, or by numpy/PyTorch in the documented layout). */
int charrnn_model_load(const char* path, charrnn_model* model);
int charrnn_model_load_memory(const void* data, size_t size, charrnn_model* model);  /* data is copied */
int charrnn_model_free(charrnn_model model);                                         /* 0 is accepted */
int charrnn_model_info(charrnn_model model, int32_t* vocab_size, int32_t* hidden_size, int32_t* lines_mode);
int charrnn_model_token_text(charrnn_model model, int32_t token, char* buffer, size_t capacity, size_t* written);
int charrnn_model_token_of(charrnn_model model, uint32_t codepoint, int32_t* token);

/* Generators: one caller's generation state over a shared model. */
int charrnn_generator_create(charrnn_model model, uint64_t seed, charrnn_generator* generator);
int charrnn_generator_free(charrnn_generator generator);                              /* 0 is accepted */
int charrnn_generator_reset(charrnn_generator generator, uint64_t seed);             /* zero state, reseed */
int charrnn_generator_prime(charrnn_generator generator, const char* utf8_text);     /* feed every character */
int charrnn_generator_feed(charrnn_generator generator, int32_t token);              /* feed one token */
int charrnn_generator_logits(charrnn_generator generator, float* out, size_t count); /* count >= vocab_size */
int charrnn_generator_probabilities(charrnn_generator generator, double temperature, float* out, size_t count);
/* Sample the next token (from the default start token if nothing was fed) and feed it back. options may be NULL. */
int charrnn_generator_next(charrnn_generator generator, const charrnn_sampling* options, int32_t* token);
/* Up to length characters as UTF-8 (a lines model stops at its end-of-line token, which is not written). */
int charrnn_generator_generate(charrnn_generator generator, const charrnn_sampling* options, int32_t length,
                               char* buffer, size_t capacity, size_t* written);

/* The instruction set this library was compiled for: "x86-64-v2", "x86-64-v3" or "x86-64-v4" in the portable release,
 * whose libcharrnn.so loads, at its first call, the build for the widest vectors the CPU runs (or the one CHARRNN_ISA
 * names); if it cannot, every function fails (CHARRNN_INTERNAL, or NULL for a string) and charrnn_last_error() says why. */
const char* charrnn_build_variant(void);

#ifdef __cplusplus
}
#endif
#endif /* CHARRNN_H */
