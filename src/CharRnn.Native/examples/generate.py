"""Generate text with libcharrnn from Python through ctypes (standard library only).

    LD_LIBRARY_PATH=out/native python3 src/CharRnn.Native/examples/generate.py MODEL [SEED] [LENGTH] [TEMPERATURE] [TOP_K] [PRIME]

Prints prime + generated text, exactly as `charrnn sample --model MODEL --seed SEED --length LENGTH
--temperature TEMPERATURE --top-k TOP_K --prime PRIME` does (the library's sample protocol: charrnn_generator_start,
then charrnn_generator_generate, which stops a lines model at the end of its line). The text is generated in two
halves with the generator's state saved in between; a second generator that loads it must continue the same way.
"""
import ctypes, sys

ABI_MAJOR, ABI_MINOR = 1, 1  # charrnn.h: CHARRNN_ABI_VERSION_MAJOR / _MINOR; saved states are ABI 1.1
OK, INVALID_HANDLE, UNKNOWN_CHARACTER, BUFFER_TOO_SMALL = 0, 2, 5, 6

class Sampling(ctypes.Structure):
    _fields_ = [("temperature", ctypes.c_double), ("top_k", ctypes.c_int32), ("top_p", ctypes.c_double), ("greedy", ctypes.c_int32)]

handle = ctypes.c_ssize_t
lib = ctypes.CDLL("libcharrnn.so")
lib.charrnn_abi_version.restype = ctypes.c_uint32
lib.charrnn_last_error.restype = ctypes.c_char_p
lib.charrnn_model_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(handle)]
lib.charrnn_model_free.argtypes = [handle]
lib.charrnn_generator_create.argtypes = [handle, ctypes.c_uint64, ctypes.POINTER(handle)]
lib.charrnn_generator_start.argtypes = [handle, ctypes.c_uint64, ctypes.c_char_p]
lib.charrnn_generator_generate.argtypes = [handle, ctypes.POINTER(Sampling), ctypes.c_int32, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]
lib.charrnn_generator_free.argtypes = [handle]
lib.charrnn_state_size.argtypes = [handle, ctypes.POINTER(ctypes.c_size_t)]
lib.charrnn_generator_state_save.argtypes = [handle, ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]
lib.charrnn_generator_state_load.argtypes = [handle, ctypes.c_void_p, ctypes.c_size_t]

def check(status, what):
    if status != OK:
        raise RuntimeError(f"{what}: status {status}: {lib.charrnn_last_error().decode()}")

def main():
    path = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    length = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    options = Sampling(float(sys.argv[4]) if len(sys.argv) > 4 else 1.0, int(sys.argv[5]) if len(sys.argv) > 5 else 0, 1.0, 0)
    prime = sys.argv[6] if len(sys.argv) > 6 else ""

    abi = lib.charrnn_abi_version()
    if abi >> 16 != ABI_MAJOR or abi & 0xFFFF < ABI_MINOR:
        raise RuntimeError(f"libcharrnn serves ABI {abi >> 16}.{abi & 0xFFFF}; this script needs {ABI_MAJOR}.{ABI_MINOR} or a later {ABI_MAJOR}.x")

    model, generator = handle(), handle()
    check(lib.charrnn_model_load(path.encode(), ctypes.byref(model)), "load")
    check(lib.charrnn_generator_create(model, seed, ctypes.byref(generator)), "create")
    check(lib.charrnn_generator_start(generator, seed, prime.encode()), "start")

    def generate(generator, count):
        # a NULL buffer asks for a size that is always enough, and generates nothing
        written = ctypes.c_size_t()
        status = lib.charrnn_generator_generate(generator, ctypes.byref(options), count, None, 0, ctypes.byref(written))
        assert status == BUFFER_TOO_SMALL, f"a size query must be CHARRNN_BUFFER_TOO_SMALL, got {status}"
        buffer = ctypes.create_string_buffer(written.value + 1)
        check(lib.charrnn_generator_generate(generator, ctypes.byref(options), count, buffer, len(buffer), ctypes.byref(written)), "generate")
        return buffer.raw[:written.value]

    head = generate(generator, length // 2)
    # save the state half-way: a conversation kept as bytes; another generator that loads it continues it exactly
    size = ctypes.c_size_t()
    check(lib.charrnn_state_size(model, ctypes.byref(size)), "state size")
    state = ctypes.create_string_buffer(size.value)
    check(lib.charrnn_generator_state_save(generator, state, size, ctypes.byref(size)), "save state")
    tail = generate(generator, length - length // 2)
    other = handle()
    check(lib.charrnn_generator_create(model, seed + 1, ctypes.byref(other)), "create another")
    check(lib.charrnn_generator_state_load(other, state, size), "load state")
    assert generate(other, length - length // 2) == tail, "a generator that loaded the saved state must continue the same way"
    check(lib.charrnn_generator_free(other), "free the other generator")
    sys.stdout.buffer.write(prime.encode() + head + tail + b"\n")

    # a bad call is an error code and a message, not a crash
    assert lib.charrnn_generator_start(generator, seed, "☃".encode()) == UNKNOWN_CHARACTER, "an unknown character must be CHARRNN_UNKNOWN_CHARACTER"
    check(lib.charrnn_generator_free(generator), "free generator")
    assert lib.charrnn_generator_free(generator) == INVALID_HANDLE, "a double free must be CHARRNN_INVALID_HANDLE"
    check(lib.charrnn_model_free(model), "free model")

if __name__ == "__main__":
    main()
