using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using CharRnn.Fast.Inference;
using CharRnn.Fast.IO;
using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;

namespace CharRnn.Native;

/// <summary>Sampling options as C passes them (charrnn_sampling).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeSampling
{
    public double Temperature;
    public int TopK;
    public double TopP;
    public int Greedy;
}

/// <summary>
/// The C ABI of libcharrnn (see charrnn.h for ownership, threading and versioning). Every entry point runs its body in
/// try/catch (no delegate, so the per-character calls allocate nothing): no exception crosses the boundary; failures
/// return a status and set the thread's last-error message. The sampling protocol and the checks of the sampling
/// options are the library's (<see cref="Generator"/>); this layer maps their exceptions to statuses.
/// </summary>
internal static unsafe partial class Exports
{
    // charrnn.h: CHARRNN_ABI_VERSION_MAJOR / _MINOR, CHARRNN_GENERATE_MAX_LENGTH
    private const uint AbiMajor = 1, AbiMinor = 2;
    private const int GenerateMaxLength = 1 << 28;

    private static readonly byte[] Version = "0.1.0\0"u8.ToArray();
    private static readonly byte[][] PathNames = [.. new[] { VectorPath.Scalar, VectorPath.V128, VectorPath.V256, VectorPath.V512 }
        .Select(p => Encoding.UTF8.GetBytes(VectorPaths.Describe(p) + "\0"))];

    /// <summary>(major &lt;&lt; 16) | minor: a constant, nothing to guard.</summary>
    [UnmanagedCallersOnly(EntryPoint = "charrnn_abi_version")]
    public static uint AbiVersion() => AbiMajor << 16 | AbiMinor;

    [UnmanagedCallersOnly(EntryPoint = "charrnn_version")]
    public static byte* GetVersion()
    {
        try { return (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(Version)); }
        catch { return null; }
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_vector_path")]
    public static byte* GetVectorPath()
    {
        try
        {
            VectorPath path;
            try { path = KernelPolicy.Default.Path; }
            catch (InvalidOperationException) { path = KernelPolicy.Best.Path; } // a bad CHARRNN_ISA is reported when a model loads
            var name = PathNames[path switch { VectorPath.V128 => 1, VectorPath.V256 => 2, VectorPath.V512 => 3, _ => 0 }];
            return (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(name));
        }
        catch { return null; }
    }

    /// <summary>The calling thread's last error message, or NULL; valid until that thread's next call.</summary>
    [UnmanagedCallersOnly(EntryPoint = "charrnn_last_error")]
    public static byte* GetLastError()
    {
        try
        {
            var m = LastError.Message;
            return m is null ? null : (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(m));
        }
        catch { return null; }
    }

    // ───────────────────────────── models

    /// <summary>A model file in the weight format it stores (f32, or bf16 / int8 for a compact file).</summary>
    [UnmanagedCallersOnly(EntryPoint = "charrnn_model_load")]
    public static int ModelLoad(byte* path, nint* model) => LoadFile(path, WeightsStored, model);

    /// <summary>A model file with its streamed weights held as <paramref name="weights"/> (charrnn_weights).</summary>
    [UnmanagedCallersOnly(EntryPoint = "charrnn_model_load_weights")]
    public static int ModelLoadWeights(byte* path, int weights, nint* model) => LoadFile(path, weights, model);

    [UnmanagedCallersOnly(EntryPoint = "charrnn_model_load_memory")]
    public static int ModelLoadMemory(byte* data, nuint size, nint* model) => LoadMemory(data, size, WeightsStored, model);

    [UnmanagedCallersOnly(EntryPoint = "charrnn_model_load_memory_weights")]
    public static int ModelLoadMemoryWeights(byte* data, nuint size, int weights, nint* model) => LoadMemory(data, size, weights, model);

    // charrnn.h's charrnn_weights: CHARRNN_WEIGHTS_STORED = 0, then F32, BF16, INT8
    private const int WeightsStored = 0;
    private static readonly WeightFormat[] WeightFormatsByCode = [WeightFormat.F32, WeightFormat.Bf16, WeightFormat.Int8];

    private static int LoadFile(byte* path, int weights, nint* model)
    {
        try
        {
            if (model is not null) *model = 0;
            if (path is null || model is null) return Fail(Status.InvalidArgument, "path and model must not be NULL");
            if (!KnownWeights(weights)) return UnknownWeights(weights);
            *model = HandleTable.Add(Inference(Checkpoint.Load(Marshal.PtrToStringUTF8((nint)path)!), weights));
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    private static int LoadMemory(byte* data, nuint size, int weights, nint* model)
    {
        try
        {
            if (model is not null) *model = 0;
            if (data is null || model is null) return Fail(Status.InvalidArgument, "data and model must not be NULL");
            if (size > int.MaxValue) return Fail(Status.InvalidArgument, "a model buffer is at most 2 GiB");
            if (!KnownWeights(weights)) return UnknownWeights(weights);
            *model = HandleTable.Add(Inference(Checkpoint.Load(new ReadOnlySpan<byte>(data, (int)size)), weights));
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    private static bool KnownWeights(int weights) => (uint)weights <= (uint)WeightFormatsByCode.Length;

    private static int UnknownWeights(int weights)
        => Fail(Status.InvalidArgument, $"weights must be CHARRNN_WEIGHTS_STORED (0), _F32 (1), _BF16 (2) or _INT8 (3), got {weights}");

    private static InferenceModel Inference(LoadedCheckpoint loaded, int weights)
        => new(loaded.Model, weights: weights == WeightsStored ? loaded.StoredWeights : WeightFormatsByCode[weights - 1]);

    [UnmanagedCallersOnly(EntryPoint = "charrnn_model_free")]
    public static int ModelFree(nint model)
    {
        try
        {
            return model == 0 || HandleTable.Remove<InferenceModel>(model) ? Ok() : Fail(Status.InvalidHandle, "not a live model handle (already freed?)");
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_model_info")]
    public static int ModelInfo(nint model, int* vocabularySize, int* hiddenSize, int* linesMode)
    {
        try
        {
            if (!HandleTable.TryGet<InferenceModel>(model, out var m)) return Fail(Status.InvalidHandle, "not a live model handle");
            if (vocabularySize is not null) *vocabularySize = m.VocabularySize;
            if (hiddenSize is not null) *hiddenSize = m.HiddenSize;
            if (linesMode is not null) *linesMode = m.SequenceMode ? 1 : 0;
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_model_architecture")]
    public static int ModelArchitecture(nint model, int* cell, int* layers, int* weights)
    {
        try
        {
            if (!HandleTable.TryGet<InferenceModel>(model, out var m)) return Fail(Status.InvalidHandle, "not a live model handle");
            // the header's charrnn_cell and charrnn_weights values, named here rather than taken from the enums' order
            if (cell is not null) *cell = m.Cell switch { CellKind.Lstm => 1, CellKind.Gru => 2, _ => 0 };
            if (layers is not null) *layers = m.Layers;
            if (weights is not null) *weights = m.Weights switch { WeightFormat.Bf16 => 2, WeightFormat.Int8 => 3, _ => 1 };
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_model_token_text")]
    public static int TokenText(nint model, int token, byte* buffer, nuint capacity, nuint* written)
    {
        try
        {
            if (buffer is not null && capacity > 0) buffer[0] = 0; // "" on every failure
            if (!HandleTable.TryGet<InferenceModel>(model, out var m)) return Fail(Status.InvalidHandle, "not a live model handle");
            if ((uint)token >= (uint)m.VocabularySize) return Fail(Status.InvalidArgument, $"token {token} is outside [0,{m.VocabularySize})");
            var symbol = m.Vocabulary[token];
            if (written is not null) *written = (nuint)symbol.Utf8SequenceLength;
            if (buffer is null || capacity < (nuint)symbol.Utf8SequenceLength + 1)
            {
                if (buffer is not null && capacity > 0) buffer[0] = 0;
                return Fail(Status.BufferTooSmall, $"the buffer needs {symbol.Utf8SequenceLength + 1} bytes (NUL included)");
            }
            buffer[symbol.EncodeToUtf8(new Span<byte>(buffer, symbol.Utf8SequenceLength))] = 0;
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_model_token_of")]
    public static int TokenOf(nint model, uint codepoint, int* token)
    {
        try
        {
            if (!HandleTable.TryGet<InferenceModel>(model, out var m)) return Fail(Status.InvalidHandle, "not a live model handle");
            if (token is null) return Fail(Status.InvalidArgument, "token must not be NULL");
            if (!Rune.IsValid(codepoint) || !m.Vocabulary.TryGetId(new Rune(codepoint), out int id))
                return Fail(Status.UnknownCharacter, $"U+{codepoint:X4} is not in the model's vocabulary");
            *token = id;
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    // ───────────────────────────── generators

    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_create")]
    public static int GeneratorCreate(nint model, ulong seed, nint* generator)
    {
        try
        {
            if (generator is not null) *generator = 0;
            if (generator is null) return Fail(Status.InvalidArgument, "generator must not be NULL");
            if (!HandleTable.TryGet<InferenceModel>(model, out var m)) return Fail(Status.InvalidHandle, "not a live model handle");
            *generator = HandleTable.Add(new Generator(m, seed));
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_free")]
    public static int GeneratorFree(nint generator)
    {
        try
        {
            return generator == 0 || HandleTable.Remove<Generator>(generator) ? Ok() : Fail(Status.InvalidHandle, "not a live generator handle (already freed?)");
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_reset")]
    public static int GeneratorReset(nint generator, ulong seed)
    {
        try
        {
            if (!HandleTable.TryGet<Generator>(generator, out var g)) return NotAGenerator();
            g.Reset();
            g.Reseed(seed);
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    /// <summary>Starts a sample by the library's protocol (see <see cref="Generator.Start"/>); NULL prime = none.</summary>
    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_start")]
    public static int GeneratorStart(nint generator, ulong seed, byte* utf8Prime)
    {
        try
        {
            if (!HandleTable.TryGet<Generator>(generator, out var g)) return NotAGenerator();
            g.Start(seed, utf8Prime is null ? default : Marshal.PtrToStringUTF8((nint)utf8Prime));
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_prime")]
    public static int GeneratorPrime(nint generator, byte* utf8Text)
    {
        try
        {
            if (!HandleTable.TryGet<Generator>(generator, out var g)) return NotAGenerator();
            if (utf8Text is null) return Fail(Status.InvalidArgument, "text must not be NULL");
            g.Prime(Marshal.PtrToStringUTF8((nint)utf8Text));
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_feed")]
    public static int GeneratorFeed(nint generator, int token)
    {
        try
        {
            if (!HandleTable.TryGet<Generator>(generator, out var g)) return NotAGenerator();
            if ((uint)token >= (uint)g.Model.VocabularySize) return Fail(Status.InvalidArgument, $"token {token} is outside [0,{g.Model.VocabularySize})");
            g.Feed(token);
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_logits")]
    public static int GeneratorLogits(nint generator, float* output, nuint count)
    {
        try
        {
            if (!HandleTable.TryGet<Generator>(generator, out var g)) return NotAGenerator();
            if (output is null) return Fail(Status.InvalidArgument, "output must not be NULL");
            if (count < (nuint)g.Model.VocabularySize) return Fail(Status.BufferTooSmall, $"output needs {g.Model.VocabularySize} floats");
            var logits = g.Logits;
            if (logits.IsEmpty) return Fail(Status.InvalidArgument, "feed or prime a token first");
            logits.CopyTo(new Span<float>(output, g.Model.VocabularySize));
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_probabilities")]
    public static int GeneratorProbabilities(nint generator, double temperature, float* output, nuint count)
    {
        try
        {
            if (!HandleTable.TryGet<Generator>(generator, out var g)) return NotAGenerator();
            if (output is null) return Fail(Status.InvalidArgument, "output must not be NULL");
            if (count < (nuint)g.Model.VocabularySize) return Fail(Status.BufferTooSmall, $"output needs {g.Model.VocabularySize} floats");
            g.Probabilities(new Span<float>(output, g.Model.VocabularySize), temperature);
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    /// <summary>Draws the next token and feeds it back, whatever it is (NULL options = temperature 1).</summary>
    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_next")]
    public static int GeneratorNext(nint generator, NativeSampling* options, int* token)
    {
        try
        {
            if (!HandleTable.TryGet<Generator>(generator, out var g)) return NotAGenerator();
            if (token is null) return Fail(Status.InvalidArgument, "token must not be NULL");
            *token = g.Next(Sampling(options));
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    /// <summary>The next token of the sample (see <see cref="Generator.TryNext"/>), or −1 when it has ended.</summary>
    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_try_next")]
    public static int GeneratorTryNext(nint generator, NativeSampling* options, int* token)
    {
        try
        {
            if (!HandleTable.TryGet<Generator>(generator, out var g)) return NotAGenerator();
            if (token is null) return Fail(Status.InvalidArgument, "token must not be NULL");
            *token = g.TryNext(Sampling(options), out int id) ? id : -1;
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    /// <summary>
    /// Continues the sample with up to <paramref name="length"/> characters as NUL-terminated UTF-8 (see
    /// <see cref="Generator.TryGenerateUtf8"/>). A NULL buffer or capacity 0 only reports the bound; a too-small buffer
    /// leaves the generator unchanged and holds "".
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_generate")]
    public static int GeneratorGenerate(nint generator, NativeSampling* options, int length, byte* buffer, nuint capacity, nuint* written)
    {
        try
        {
            if (written is not null) *written = 0;
            if (buffer is not null && capacity > 0) buffer[0] = 0;
            if (!HandleTable.TryGet<Generator>(generator, out var g)) return NotAGenerator();
            if (length < 0 || length > GenerateMaxLength) return Fail(Status.InvalidArgument, $"length must be in 0..{GenerateMaxLength} (CHARRNN_GENERATE_MAX_LENGTH), got {length}");
            var sampling = Sampling(options);
            sampling.Validate();
            long bound = g.MaxUtf8ByteCount(length);
            if (buffer is not null && capacity > 0)
            {
                // the bound is at most 4 · 2^28 bytes, so a span of int.MaxValue holds any text that can be asked for
                var utf8 = new Span<byte>(buffer, (int)Math.Min(capacity - 1, int.MaxValue));
                if (g.TryGenerateUtf8(sampling, length, utf8, out int n))
                {
                    buffer[n] = 0;
                    if (written is not null) *written = (nuint)n;
                    return Ok();
                }
            }
            if (buffer is not null && capacity > 0) buffer[0] = 0; // what did not fit was written there
            if (written is not null) *written = (nuint)bound;
            return Fail(Status.BufferTooSmall, $"{length} characters may need up to {bound + 1} bytes (NUL included); nothing was generated");
        }
        catch (Exception e)
        {
            if (buffer is not null && capacity > 0) buffer[0] = 0; // e.g. freed by another thread after a few characters
            return Fail(e);
        }
    }

    // greedy is 0 or 1, as the header says; any other value is a caller's mistake (InvalidArgument), not "true"
    private static SamplingOptions Sampling(NativeSampling* options)
        => options is null ? new SamplingOptions()
            : options->Greedy is 0 or 1 ? new SamplingOptions(options->Temperature, options->TopK, options->TopP, options->Greedy != 0)
            : throw new ArgumentException($"greedy must be 0 or 1, got {options->Greedy}");

    private static int NotAGenerator() => Fail(Status.InvalidHandle, "not a live generator handle");

    private static int Ok()
    {
        if (LastError.Message is not null) LastError.Clear();
        return (int)Status.Ok;
    }

    private static int Fail(Status status, string message) => (int)LastError.Set(status, message);

    /// <summary>The status of an exception thrown by the engine; never throws itself.</summary>
    private static int Fail(Exception e)
    {
        try
        {
            return e switch
            {
                // a free raced the call in flight: the handle died under it
                ObjectDisposedException => Fail(Status.InvalidHandle, "not a live generator handle (it was freed during the call)"),
                FileNotFoundException or IOException or UnauthorizedAccessException => Fail(Status.IoError, e.Message),
                CheckpointFormatException or NonFiniteOutputException => Fail(Status.FormatError, e.Message),
                UnknownCharactersException => Fail(Status.UnknownCharacter, e.Message),
                StateMismatchException => Fail(Status.StateMismatch, e.Message),
                ArgumentException => Fail(Status.InvalidArgument, e.Message),
                InvalidOperationException => Fail(Status.InvalidArgument, e.Message), // a call in the wrong order
                _ => Fail(Status.Internal, "internal error: " + e.Message),
            };
        }
        catch
        {
            LastError.Clear();
            return (int)Status.Internal;
        }
    }
}
