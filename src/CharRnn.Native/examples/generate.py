"""Generate text with libcharrnn from Python through ctypes (standard library only).

    LD_LIBRARY_PATH=out/native python3 src/CharRnn.Native/examples/generate.py MODEL [SEED] [LENGTH] [TEMPERATURE] [TOP_K] [PRIME]

Prints prime + generated text, exactly as `charrnn sample --model MODEL --seed SEED --length LENGTH
--temperature TEMPERATURE --top-k TOP_K --prime PRIME` does.
"""
import ctypes, sys

class Sampling(ctypes.Structure):
    _fields_ = [("temperature", ctypes.c_double), ("top_k", ctypes.c_int32), ("top_p", ctypes.c_double), ("greedy", ctypes.c_int32)]

lib = ctypes.CDLL("libcharrnn.so")
lib.charrnn_last_error.restype = ctypes.c_char_p
lib.charrnn_vector_path.restype = ctypes.c_char_p
handle = ctypes.c_ssize_t

def check(status, what):
    if status != 0:
        raise RuntimeError(f"{what}: status {status}: {lib.charrnn_last_error().decode()}")

def main():
    path = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    length = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    options = Sampling(float(sys.argv[4]) if len(sys.argv) > 4 else 1.0, int(sys.argv[5]) if len(sys.argv) > 5 else 0, 1.0, 0)
    prime = sys.argv[6] if len(sys.argv) > 6 else ""

    model, generator = handle(), handle()
    check(lib.charrnn_model_load(path.encode(), ctypes.byref(model)), "load")
    vocab, hidden, lines = ctypes.c_int32(), ctypes.c_int32(), ctypes.c_int32()
    check(lib.charrnn_model_info(model, ctypes.byref(vocab), ctypes.byref(hidden), ctypes.byref(lines)), "info")
    check(lib.charrnn_generator_create(model, ctypes.c_uint64(seed), ctypes.byref(generator)), "create")
    check(lib.charrnn_generator_reset(generator, ctypes.c_uint64(seed)), "reset")
    if lines.value:
        check(lib.charrnn_generator_prime(generator, b"\n"), "boundary")
    check(lib.charrnn_generator_prime(generator, prime.encode()), "prime")
    buffer, written = ctypes.create_string_buffer(length * 4 + 1), ctypes.c_size_t()
    check(lib.charrnn_generator_generate(generator, ctypes.byref(options), length, buffer, len(buffer), ctypes.byref(written)), "generate")
    sys.stdout.buffer.write(prime.encode() + buffer.raw[:written.value] + b"\n")

    # a bad call is an error code and a message, not a crash
    assert lib.charrnn_generator_prime(generator, "☃".encode()) == 5, "an unknown character must be CHARRNN_UNKNOWN_CHARACTER"
    check(lib.charrnn_generator_free(generator), "free generator")
    assert lib.charrnn_generator_free(generator) == 2, "a double free must be CHARRNN_INVALID_HANDLE"
    check(lib.charrnn_model_free(model), "free model")

if __name__ == "__main__":
    main()
