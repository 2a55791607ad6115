/* Races charrnn_generator_free against calls on the same generator from another thread, many times: the process
 * must survive and every call must return CHARRNN_OK or CHARRNN_INVALID_HANDLE (charrnn.h, "Threading"), and a call
 * that returns CHARRNN_OK must have written its token.
 *
 *   test_race MODEL [ROUNDS]      exit 0 when every round passed
 *
 *   gcc -O2 -Wall -Wextra -Werror -pthread -I src/CharRnn.Native tests/native/test_race.c -L out/native -lcharrnn */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "charrnn.h"

enum { CALL_NEXT, CALL_TRY_NEXT, CALL_FEED, CALL_LOGITS, CALL_PROBABILITIES, CALL_GENERATE, CALL_START, CALLS };
static const char* const call_names[CALLS] = { "next", "try_next", "feed", "logits", "probabilities", "generate", "start" };

typedef struct {
    charrnn_generator generator;
    int call;
    int32_t vocab;
    atomic_long calls;      /* calls made so far: the freeing thread waits for a few */
    atomic_int done;        /* the user thread has stopped */
    int failure;            /* the first unexpected status */
    int unwritten;          /* *token untouched or out of range after CHARRNN_OK, or a text without its NUL */
    char message[200];      /* that thread's charrnn_last_error() for the failure */
    long ok, invalid;
} round_state;

static void* use_until_freed(void* arg) {
    round_state* r = arg;
    charrnn_sampling options = { 1.0, 0, 1.0, 0 };
    float* out = malloc(sizeof(float) * (size_t)r->vocab);
    char text[64];
    size_t written;
    for (;;) {
        int32_t token = -2;
        int status;
        switch (r->call) {
            case CALL_NEXT: status = charrnn_generator_next(r->generator, &options, &token); break;
            case CALL_TRY_NEXT: status = charrnn_generator_try_next(r->generator, &options, &token); break;
            case CALL_FEED: status = charrnn_generator_feed(r->generator, 0); token = 0; break;
            case CALL_LOGITS: status = charrnn_generator_logits(r->generator, out, (size_t)r->vocab); token = 0; break;
            case CALL_PROBABILITIES: status = charrnn_generator_probabilities(r->generator, 0.7, out, (size_t)r->vocab); token = 0; break;
            case CALL_GENERATE:
                memset(text, 'x', sizeof text);
                status = charrnn_generator_generate(r->generator, &options, 8, text, sizeof text, &written);
                token = memchr(text, 0, sizeof text) ? 0 : -2; /* NUL-terminated whatever the status */
                break;
            default: status = charrnn_generator_start(r->generator, 7, ""); token = 0; break;
        }
        atomic_fetch_add(&r->calls, 1);
        if (token == -2 && r->call == CALL_GENERATE) { r->unwritten = 1; break; }
        if (status == CHARRNN_INVALID_HANDLE) { r->invalid++; break; }
        if (status != CHARRNN_OK) {
            const char* message = charrnn_last_error();
            r->failure = status;
            strncpy(r->message, message ? message : "no message", sizeof r->message - 1);
            break;
        }
        if (token < -1 || token >= r->vocab) { r->unwritten = 1; break; }
        r->ok++;
    }
    free(out);
    atomic_store(&r->done, 1);
    return NULL;
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [ROUNDS]\n", argv[0]);
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 3000;
    charrnn_model model = 0;
    if (charrnn_model_load(argv[1], &model) != CHARRNN_OK) {
        fprintf(stderr, "FAIL load: %s\n", charrnn_last_error());
        return 1;
    }
    int32_t vocab = 0;
    charrnn_model_info(model, &vocab, NULL, NULL);
    int failures = 0;
    long ok = 0, invalid = 0;
    srand(12345);
    for (int i = 0; i < rounds; i++) {
        round_state r = { .call = i % CALLS, .vocab = vocab };
        atomic_init(&r.calls, 0);
        atomic_init(&r.done, 0);
        if (charrnn_generator_create(model, (uint64_t)i, &r.generator) != CHARRNN_OK ||
            charrnn_generator_start(r.generator, (uint64_t)i, "") != CHARRNN_OK ||
            charrnn_generator_feed(r.generator, 0) != CHARRNN_OK) {  /* logits exist from the first call on */
            fprintf(stderr, "FAIL round %d: set-up: %s\n", i, charrnn_last_error());
            return 1;
        }
        pthread_t user;
        pthread_create(&user, NULL, use_until_freed, &r);
        long wait = rand() % 40;  /* free after 0..39 calls, somewhere inside one of them */
        while (atomic_load(&r.calls) < wait && !atomic_load(&r.done)) sched_yield();
        int freed = charrnn_generator_free(r.generator);
        pthread_join(user, NULL);
        if (freed != CHARRNN_OK) { fprintf(stderr, "FAIL round %d: free returned %d\n", i, freed); failures++; }
        if (r.failure) {
            fprintf(stderr, "FAIL round %d (%s racing free): status %d (%s)\n", i, call_names[r.call], r.failure, r.message);
            failures++;
        }
        if (r.unwritten) {
            fprintf(stderr, "FAIL round %d (%s racing free): %s\n", i, call_names[r.call],
                    r.call == CALL_GENERATE ? "the text was left without its NUL" : "CHARRNN_OK without a token");
            failures++;
        }
        ok += r.ok;
        invalid += r.invalid;
    }
    charrnn_model_free(model);
    fprintf(stderr, "%s: %d rounds of free racing next/try_next/feed/logits/probabilities/generate/start, %ld calls OK, %ld "
            "INVALID_HANDLE, %d failure(s)\n", failures ? "FAILED" : "PASSED", rounds, ok, invalid, failures);
    return failures ? 1 : 0;
}
