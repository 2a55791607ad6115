/*
 * charrnn.h — C interface of libcharrnn, the CharRnn.Fast character-level RNN engine.
 *
 * Build the library:  dotnet publish src/CharRnn.Native -r linux-x64 -c Release -o out/native
 *                     (gives out/native/libcharrnn.so; link with -L out/native -lcharrnn)
 *
 * Handles.   charrnn_model, charrnn_generator and charrnn_batch are opaque handles. Every handle the library gives
 *            you is yours until you pass it to its _free function; after that, the same value is rejected with
 *            CHARRNN_INVALID_HANDLE (handles are never reused), so a double free or a use after free is an error,
 *            not a crash. Freeing a model does not invalidate generators or batches created from it (they keep it
 *            alive).
 * Threading. A model is immutable: share one across any number of threads. A generator holds one caller's state
 *            (hidden vector, sampling RNG, scratch): use each generator from one thread at a time. Create one
 *            generator per thread or per stream; they are small (a few floats per hidden unit and vocabulary entry).
 *            Freeing a generator while another thread is inside a call on it is a mistake, but not a crash: that
 *            call returns CHARRNN_OK or CHARRNN_INVALID_HANDLE. Use a batch, like a generator, from one thread at a
 *            time.
 * Errors.    Every function returns a charrnn_status; on failure, charrnn_last_error() returns a UTF-8 message for
 *            the calling thread (owned by the library, valid until that thread's next call into it). No .NET exception
 *            crosses the boundary.
 * Strings.   All text is UTF-8. When capacity > 0, an output buffer always receives a NUL-terminated string ("" on
 *            failure); *written receives the byte length without the NUL (also when the buffer is too small, so
 *            you can retry with the right size; for charrnn_generator_generate, a size that is always enough).
 * Samples.   One protocol, the library's (the same as `charrnn sample`): charrnn_generator_start begins a sample
 *            (zero state, the seed, in a lines model its end-of-line token fed first, then the prime); then
 *            charrnn_generator_try_next or charrnn_generator_generate continue it until the requested length or,
 *            in a lines model, until the model draws its end-of-line token, which ends the sample and is not part
 *            of its text. charrnn_generator_reset / _prime / _feed / _next are the raw steps, for callers who want
 *            their own protocol.
 * Batches.   A charrnn_batch advances M independent streams over one model together (a server's users): one step reads
 *            each weight once for all of them instead of once per stream. Stream i follows the same protocol as a
 *            generator (charrnn_batch_start, then charrnn_batch_next until its length or its end of line) and gives
 *            exactly the characters a generator started with the same seed and options gives.
 * States.    A generator's or a batch stream's complete resumable state (every layer's h, an LSTM's c, the last logits,
 *            the sampling RNG, where the sample stands) saves into charrnn_state_size bytes of your memory and loads
 *            into any generator or batch stream of a model with the same cell, layers, hidden size, mode and
 *            vocabulary, which then continues exactly as the one that saved it would have: keep thousands of
 *            conversations as states and swap them in and out of a few generators or batch streams. The layout is
 *            the same on every machine (little-endian; see GeneratorState.cs), so a state loads anywhere; it
 *            continues bit for bit on the same vector path (charrnn_vector_path) and weight format (charrnn_weights),
 *            within rounding on another. A state of one library release loads in any later release of the same major
 *            ABI version; a state another model cannot take is refused with CHARRNN_STATE_MISMATCH, changing nothing.
 * Speed.     charrnn_generator_next and _try_next, charrnn_batch_next and the state functions allocate nothing; at
 *            hidden size 128 one character takes about a microsecond.
 * Versions.  charrnn_abi_version() is (major << 16) | minor of the library that is loaded; this header is
 *            CHARRNN_ABI_VERSION. A minor version only adds: new functions, new charrnn_status values, new
 *            macros; it never changes the signature or the documented behaviour of an existing function, so a
 *            program built against 1.x runs on any 1.y with y >= x. A major version may change or remove anything.
 *            At start-up, check that the major versions are equal and that the library's minor is at least the
 *            header's (see CHARRNN_ABI_COMPATIBLE). Version 1.0 is the first versioned ABI; 1.1 adds saved states
 *            (charrnn_state_size, charrnn_generator_state_save / _load, charrnn_batch_state_save / _load), batches
 *            (charrnn_batch_*), CHARRNN_STATE_MISMATCH (returned only by the state functions) and
 *            CHARRNN_BATCH_MAX_STREAMS; 1.2 adds the compact weight formats (charrnn_weights,
 *            charrnn_model_load_weights and _load_memory_weights).
 */
#ifndef CHARRNN_H
#define CHARRNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CHARRNN_ABI_VERSION_MAJOR 1
#define CHARRNN_ABI_VERSION_MINOR 2
#define CHARRNN_ABI_VERSION ((uint32_t)CHARRNN_ABI_VERSION_MAJOR << 16 | (uint32_t)CHARRNN_ABI_VERSION_MINOR)
/* True when a library reporting abi_version (from charrnn_abi_version()) serves a program built with this header. */
#define CHARRNN_ABI_COMPATIBLE(abi_version) \
    ((abi_version) >> 16 == CHARRNN_ABI_VERSION_MAJOR && (int32_t)((abi_version) & 0xFFFFu) >= CHARRNN_ABI_VERSION_MINOR)

/* The most characters one charrnn_generator_generate call produces (2^28: the text then fits in 1 GiB). */
#define CHARRNN_GENERATE_MAX_LENGTH (1 << 28)
/* The most streams one batch holds (ABI 1.1). */
#define CHARRNN_BATCH_MAX_STREAMS (1 << 16)

typedef intptr_t charrnn_model;      /* 0 = no model */
typedef intptr_t charrnn_generator;  /* 0 = no generator */
typedef intptr_t charrnn_batch;      /* 0 = no batch (ABI 1.1) */

typedef enum charrnn_status {
    CHARRNN_OK = 0,
    CHARRNN_INVALID_ARGUMENT = 1,    /* NULL pointer, out-of-range value, or call in the wrong order */
    CHARRNN_INVALID_HANDLE = 2,      /* not a live handle of the expected kind (freed, or never created) */
    CHARRNN_IO_ERROR = 3,            /* file missing or unreadable */
    CHARRNN_FORMAT_ERROR = 4,        /* not a valid model file (truncated, corrupt, wrong shapes, NaN weights …),
                                        or weights so large that the outputs overflow (next: nothing drawn or fed) */
    CHARRNN_UNKNOWN_CHARACTER = 5,   /* text contains characters outside the model's vocabulary */
    CHARRNN_BUFFER_TOO_SMALL = 6,    /* see *written / the message for the size needed */
    CHARRNN_STATE_MISMATCH = 7,      /* (1.1) a saved state of another model (cell, layers, hidden size, mode or
                                        vocabulary), of another size, or damaged; nothing was changed */
    CHARRNN_INTERNAL = 99
} charrnn_status;

/* How the next character is drawn from softmax(logits / temperature). greedy = 1 (or temperature 0) takes the
 * most likely; top_k > 0 keeps the k most likely; top_p < 1 keeps the smallest most-likely set with mass >= top_p.
 * Values outside the ranges below (NaN included) make every call that draws return CHARRNN_INVALID_ARGUMENT. */
typedef struct charrnn_sampling {
    double temperature;   /* finite, >= 0; 1 = the model's distribution */
    int32_t top_k;        /* 0 = off */
    double top_p;         /* (0, 1]; 1 = off */
    int32_t greedy;       /* 0 or 1 */
} charrnn_sampling;

uint32_t charrnn_abi_version(void);         /* (major << 16) | minor; compare with CHARRNN_ABI_VERSION */
const char* charrnn_version(void);          /* the library's release, e.g. "0.1.0" */
const char* charrnn_vector_path(void);      /* "512-bit", "256-bit", "128-bit" or "scalar" */
const char* charrnn_last_error(void);       /* NULL when the thread's last call succeeded */

/* How a loaded model holds the weight matrices a generated character streams (every W_hh, the W_ih above layer 0,
 * the output layer's W): bf16 reads half the bytes of f32 per character, int8 (one symmetric scale per row, and each
 * product's input rounded to int8 too) a quarter. CHARRNN_WEIGHTS_STORED takes the format the file stores: f32 for
 * an ordinary model, bf16 or int8 for a file written by `charrnn quantize` (a file with any I8 weight is int8). */
typedef enum charrnn_weights {
    CHARRNN_WEIGHTS_STORED = 0,
    CHARRNN_WEIGHTS_F32 = 1,
    CHARRNN_WEIGHTS_BF16 = 2,
    CHARRNN_WEIGHTS_INT8 = 3
} charrnn_weights;

/* Models: load a .safetensors model (written by charrnn, or by numpy/PyTorch in the documented layout), in the weight
 * format it stores; the _weights forms choose it (a charrnn_weights value; another is CHARRNN_INVALID_ARGUMENT). */
int charrnn_model_load(const char* path, charrnn_model* model);
int charrnn_model_load_memory(const void* data, size_t size, charrnn_model* model);  /* data is copied */
int charrnn_model_load_weights(const char* path, int32_t weights, charrnn_model* model);
int charrnn_model_load_memory_weights(const void* data, size_t size, int32_t weights, charrnn_model* model);
int charrnn_model_free(charrnn_model model);                                         /* 0 is accepted */
int charrnn_model_info(charrnn_model model, int32_t* vocab_size, int32_t* hidden_size, int32_t* lines_mode);
/* (1.2) The network: its cell (a charrnn_cell), its stacked layers, and the charrnn_weights format the loaded model
 * holds (F32, BF16 or INT8; never STORED). Any of the pointers may be NULL. */
typedef enum charrnn_cell {
    CHARRNN_CELL_RNN = 0,    /* Elman, tanh or relu */
    CHARRNN_CELL_LSTM = 1,
    CHARRNN_CELL_GRU = 2
} charrnn_cell;
int charrnn_model_architecture(charrnn_model model, int32_t* cell, int32_t* layers, int32_t* weights);
int charrnn_model_token_text(charrnn_model model, int32_t token, char* buffer, size_t capacity, size_t* written);
int charrnn_model_token_of(charrnn_model model, uint32_t codepoint, int32_t* token);

/* Generators: one caller's generation state over a shared model. */
int charrnn_generator_create(charrnn_model model, uint64_t seed, charrnn_generator* generator);
int charrnn_generator_free(charrnn_generator generator);                              /* 0 is accepted */

/* Start a sample: zero state, the sampling RNG seeded with seed, in a lines model the end-of-line token fed, then
 * every character of utf8_prime (NULL or "" = none). CHARRNN_UNKNOWN_CHARACTER leaves the generator unchanged. */
int charrnn_generator_start(charrnn_generator generator, uint64_t seed, const char* utf8_prime);
/* The next token of the sample, fed back; *token = -1 when the sample has ended (a lines model drew its end-of-line
 * token, which is not fed) and on every later call until the next start. options may be NULL (temperature 1). */
int charrnn_generator_try_next(charrnn_generator generator, const charrnn_sampling* options, int32_t* token);
/* Continue the sample with up to length characters (0 <= length <= CHARRNN_GENERATE_MAX_LENGTH; fewer when a lines
 * model ends it) into buffer as NUL-terminated UTF-8; *written = the bytes without the NUL. Once the sample has ended
 * it writes "". CHARRNN_BUFFER_TOO_SMALL: the text does not fit in capacity bytes with its NUL; the generator is left
 * exactly as it was (so a retry gives the same text), buffer holds "" (when capacity > 0), and *written = a size
 * that is always enough without the NUL: length times the model's longest character in UTF-8 (at most 4 bytes).
 * The work is bounded by the buffer: a NULL buffer or capacity 0 only asks for that size and generates nothing;
 * otherwise at most capacity characters are drawn before giving up. */
int charrnn_generator_generate(charrnn_generator generator, const charrnn_sampling* options, int32_t length,
                               char* buffer, size_t capacity, size_t* written);

/* Raw steps, outside the sample protocol. */
int charrnn_generator_reset(charrnn_generator generator, uint64_t seed);             /* zero state, reseed */
int charrnn_generator_prime(charrnn_generator generator, const char* utf8_text);     /* feed every character */
int charrnn_generator_feed(charrnn_generator generator, int32_t token);              /* feed one token */
int charrnn_generator_logits(charrnn_generator generator, float* out, size_t count); /* count >= vocab_size */
/* softmax(logits / temperature), temperature finite and > 0. */
int charrnn_generator_probabilities(charrnn_generator generator, double temperature, float* out, size_t count);
/* Sample the next token (from the default start token if nothing was fed) and feed it back, whatever it is (a lines
 * model's end-of-line token included). options may be NULL (temperature 1). */
int charrnn_generator_next(charrnn_generator generator, const charrnn_sampling* options, int32_t* token);

/* Saved states (ABI 1.1). The bytes a state takes for this model's generators and batch streams. */
int charrnn_state_size(charrnn_model model, size_t* size);
/* Write the generator's state into buffer (it changes nothing); *written = the state's size. CHARRNN_BUFFER_TOO_SMALL:
 * buffer is NULL or capacity is below that size; nothing was written. */
int charrnn_generator_state_save(charrnn_generator generator, void* buffer, size_t capacity, size_t* written);
/* Replace the generator's state with a saved one (size bytes, from any generator or batch stream of a model of the
 * same shape and vocabulary). CHARRNN_STATE_MISMATCH leaves the generator unchanged. */
int charrnn_generator_state_load(charrnn_generator generator, const void* state, size_t size);

/* Batches (ABI 1.1): streams (1..CHARRNN_BATCH_MAX_STREAMS) streams over a shared model, each at the zero state. */
int charrnn_batch_create(charrnn_model model, int32_t streams, charrnn_batch* batch);
int charrnn_batch_free(charrnn_batch batch);                                          /* 0 is accepted */
/* Start a sample on stream (0 <= stream < streams) as charrnn_generator_start does; the other streams are untouched. */
int charrnn_batch_start(charrnn_batch batch, int32_t stream, uint64_t seed, const char* utf8_prime);
/* One step of every stream: each draws its next token and feeds it back; tokens[i] = stream i's token, or -1 once its
 * sample has ended (a lines model drew its end-of-line token; until the next charrnn_batch_start on it). A stream
 * never started holds a new generator's state (zero, seed 1) and feeds the default start token before its first draw.
 * options: NULL with option_count 0 (temperature 1 for all), one for all streams (option_count 1) or one per stream
 * (option_count = streams); every option is checked before any stream draws (CHARRNN_INVALID_ARGUMENT: nothing
 * changed). token_count >= streams, else CHARRNN_BUFFER_TOO_SMALL. charrnn_model_token_text gives a token's text. */
int charrnn_batch_next(charrnn_batch batch, const charrnn_sampling* options, size_t option_count,
                       int32_t* tokens, size_t token_count);
/* Stream's state, as charrnn_generator_state_save and _load (the same bytes: a state moves between generators and
 * batch streams); a stream that has ended saves the state it ended in. */
int charrnn_batch_state_save(charrnn_batch batch, int32_t stream, void* buffer, size_t capacity, size_t* written);
int charrnn_batch_state_load(charrnn_batch batch, int32_t stream, const void* state, size_t size);

/* The instruction set this library was compiled for: "x86-64-v2", "x86-64-v3" or "x86-64-v4" in the portable release,
 * whose libcharrnn.so loads, at its first call, the build for the widest vectors the CPU runs (or the one CHARRNN_ISA
 * names); if it cannot, every function fails (CHARRNN_INTERNAL, or NULL for a string) and charrnn_last_error() says why. */
const char* charrnn_build_variant(void);

#ifdef __cplusplus
}
#endif
#endif /* CHARRNN_H */
