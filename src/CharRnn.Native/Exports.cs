using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using CharRnn.Fast.Inference;
using CharRnn.Fast.IO;
using CharRnn.Fast.Kernels;
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
/// The C ABI of libcharrnn (see charrnn.h for ownership and threading). Every entry point catches everything: no
/// exception crosses the boundary; failures return a status and set the thread's last-error message.
/// </summary>
internal static unsafe class Exports
{
    private static readonly byte[] Version = "0.1.0\0"u8.ToArray();
    private static readonly byte[][] PathNames = [.. new[] { VectorPath.Scalar, VectorPath.V128, VectorPath.V256, VectorPath.V512 }
        .Select(p => Encoding.UTF8.GetBytes(VectorPaths.Describe(p) + "\0"))];

    [UnmanagedCallersOnly(EntryPoint = "charrnn_version")]
    public static byte* GetVersion() => (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(Version));

    [UnmanagedCallersOnly(EntryPoint = "charrnn_vector_path")]
    public static byte* GetVectorPath()
    {
        VectorPath path;
        try { path = KernelPolicy.Default.Path; }
        catch (InvalidOperationException) { path = KernelPolicy.Best.Path; } // a bad CHARRNN_ISA is reported when a model loads
        var name = PathNames[path switch { VectorPath.V128 => 1, VectorPath.V256 => 2, VectorPath.V512 => 3, _ => 0 }];
        return (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(name));
    }

    /// <summary>The calling thread's last error message, or NULL; valid until that thread's next call.</summary>
    [UnmanagedCallersOnly(EntryPoint = "charrnn_last_error")]
    public static byte* GetLastError()
    {
        var m = LastError.Message;
        return m is null ? null : (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(m));
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_model_load")]
    public static int ModelLoad(byte* path, nint* model)
    {
        if (model is not null) *model = 0;
        if (path is null || model is null) return Fail(Status.InvalidArgument, "path and model must not be NULL");
        return Guard(() =>
        {
            var p = Marshal.PtrToStringUTF8((nint)path)!;
            *model = HandleTable.Add(new InferenceModel(Checkpoint.Load(p).Model));
            return Status.Ok;
        });
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_model_load_memory")]
    public static int ModelLoadMemory(byte* data, nuint size, nint* model)
    {
        if (model is not null) *model = 0;
        if (data is null || model is null) return Fail(Status.InvalidArgument, "data and model must not be NULL");
        if (size > int.MaxValue) return Fail(Status.InvalidArgument, "a model buffer is at most 2 GiB");
        return Guard(() =>
        {
            *model = HandleTable.Add(new InferenceModel(Checkpoint.Load(new ReadOnlySpan<byte>(data, (int)size)).Model));
            return Status.Ok;
        });
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_model_free")]
    public static int ModelFree(nint model)
        => model == 0 ? Ok() : HandleTable.Remove<InferenceModel>(model) ? Ok() : Fail(Status.InvalidHandle, "not a live model handle (already freed?)");

    [UnmanagedCallersOnly(EntryPoint = "charrnn_model_info")]
    public static int ModelInfo(nint model, int* vocabularySize, int* hiddenSize, int* linesMode)
    {
        if (!HandleTable.TryGet<InferenceModel>(model, out var m)) return Fail(Status.InvalidHandle, "not a live model handle");
        if (vocabularySize is not null) *vocabularySize = m.VocabularySize;
        if (hiddenSize is not null) *hiddenSize = m.HiddenSize;
        if (linesMode is not null) *linesMode = m.SequenceMode ? 1 : 0;
        return Ok();
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_model_token_text")]
    public static int TokenText(nint model, int token, byte* buffer, nuint capacity, nuint* written)
    {
        if (!HandleTable.TryGet<InferenceModel>(model, out var m)) return Fail(Status.InvalidHandle, "not a live model handle");
        if ((uint)token >= (uint)m.VocabularySize) return Fail(Status.InvalidArgument, $"token {token} is outside [0,{m.VocabularySize})");
        return WriteUtf8(m.Vocabulary.GetString(token), buffer, capacity, written);
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_model_token_of")]
    public static int TokenOf(nint model, uint codepoint, int* token)
    {
        if (!HandleTable.TryGet<InferenceModel>(model, out var m)) return Fail(Status.InvalidHandle, "not a live model handle");
        if (token is null) return Fail(Status.InvalidArgument, "token must not be NULL");
        if (!Rune.IsValid(codepoint) || !m.Vocabulary.TryGetId(new Rune(codepoint), out int id))
            return Fail(Status.UnknownCharacter, $"U+{codepoint:X4} is not in the model's vocabulary");
        *token = id;
        return Ok();
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_create")]
    public static int GeneratorCreate(nint model, ulong seed, nint* generator)
    {
        if (generator is not null) *generator = 0;
        if (generator is null) return Fail(Status.InvalidArgument, "generator must not be NULL");
        if (!HandleTable.TryGet<InferenceModel>(model, out var m)) return Fail(Status.InvalidHandle, "not a live model handle");
        return Guard(() => { *generator = HandleTable.Add(new Generator(m, seed)); return Status.Ok; });
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_free")]
    public static int GeneratorFree(nint generator)
        => generator == 0 ? Ok() : HandleTable.Remove<Generator>(generator) ? Ok() : Fail(Status.InvalidHandle, "not a live generator handle (already freed?)");

    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_reset")]
    public static int GeneratorReset(nint generator, ulong seed)
    {
        if (!HandleTable.TryGet<Generator>(generator, out var g)) return Fail(Status.InvalidHandle, "not a live generator handle");
        g.Reset();
        g.Reseed(seed);
        return Ok();
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_prime")]
    public static int GeneratorPrime(nint generator, byte* utf8Text)
    {
        if (!HandleTable.TryGet<Generator>(generator, out var g)) return Fail(Status.InvalidHandle, "not a live generator handle");
        if (utf8Text is null) return Fail(Status.InvalidArgument, "text must not be NULL");
        return Guard(() => { g.Prime(Marshal.PtrToStringUTF8((nint)utf8Text)!); return Status.Ok; });
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_feed")]
    public static int GeneratorFeed(nint generator, int token)
    {
        if (!HandleTable.TryGet<Generator>(generator, out var g)) return Fail(Status.InvalidHandle, "not a live generator handle");
        if ((uint)token >= (uint)g.Model.VocabularySize) return Fail(Status.InvalidArgument, $"token {token} is outside [0,{g.Model.VocabularySize})");
        g.Feed(token);
        return Ok();
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_logits")]
    public static int GeneratorLogits(nint generator, float* output, nuint count)
    {
        if (!HandleTable.TryGet<Generator>(generator, out var g)) return Fail(Status.InvalidHandle, "not a live generator handle");
        if (output is null) return Fail(Status.InvalidArgument, "output must not be NULL");
        if (count < (nuint)g.Model.VocabularySize) return Fail(Status.BufferTooSmall, $"output needs {g.Model.VocabularySize} floats");
        if (g.Logits.IsEmpty) return Fail(Status.InvalidArgument, "feed or prime a token first");
        g.Logits.CopyTo(new Span<float>(output, g.Model.VocabularySize));
        return Ok();
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_probabilities")]
    public static int GeneratorProbabilities(nint generator, double temperature, float* output, nuint count)
    {
        if (!HandleTable.TryGet<Generator>(generator, out var g)) return Fail(Status.InvalidHandle, "not a live generator handle");
        if (output is null) return Fail(Status.InvalidArgument, "output must not be NULL");
        if (!(temperature > 0) || double.IsInfinity(temperature)) return Fail(Status.InvalidArgument, "temperature must be a positive number");
        if (count < (nuint)g.Model.VocabularySize) return Fail(Status.BufferTooSmall, $"output needs {g.Model.VocabularySize} floats");
        if (g.Logits.IsEmpty) return Fail(Status.InvalidArgument, "feed or prime a token first");
        g.Probabilities(new Span<float>(output, g.Model.VocabularySize), temperature);
        return Ok();
    }

    /// <summary>Draws the next token and feeds it back (NULL options = temperature 1).</summary>
    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_next")]
    public static int GeneratorNext(nint generator, NativeSampling* options, int* token)
    {
        if (!HandleTable.TryGet<Generator>(generator, out var g)) return Fail(Status.InvalidHandle, "not a live generator handle");
        if (token is null) return Fail(Status.InvalidArgument, "token must not be NULL");
        var sampling = options is null ? new SamplingOptions() : new SamplingOptions(options->Temperature, options->TopK, options->TopP, options->Greedy != 0);
        if (!InRange(sampling)) return Valid(sampling, out var why) ? (int)Status.Ok : Fail(Status.InvalidArgument, why);
        *token = g.Next(sampling);
        if (LastError.Message is not null) LastError.Clear();
        return (int)Status.Ok;
    }

    /// <summary>Generates <paramref name="length"/> characters (fewer if a lines model emits its boundary) as UTF-8 into buffer.</summary>
    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_generate")]
    public static int GeneratorGenerate(nint generator, NativeSampling* options, int length, byte* buffer, nuint capacity, nuint* written)
    {
        if (!HandleTable.TryGet<Generator>(generator, out var g)) return Fail(Status.InvalidHandle, "not a live generator handle");
        if (length < 0) return Fail(Status.InvalidArgument, "length must be ≥ 0");
        var sampling = options is null ? new SamplingOptions() : new SamplingOptions(options->Temperature, options->TopK, options->TopP, options->Greedy != 0);
        if (!Valid(sampling, out var why)) return Fail(Status.InvalidArgument, why);
        return Guard(() =>
        {
            var text = new StringBuilder();
            for (int i = 0; i < length; i++)
            {
                int id = g.Next(sampling);
                if (id == g.Model.BoundaryToken) break;
                text.Append(g.Model.Vocabulary.GetString(id));
            }
            return (Status)WriteUtf8(text.ToString(), buffer, capacity, written);
        });
    }

    // The per-character path checks the ranges inline; the exception-based validation only runs to word the error.
    private static bool InRange(in SamplingOptions o)
        => o.Temperature >= 0 && !double.IsInfinity(o.Temperature) && o.TopK >= 0 && o.TopP > 0 && o.TopP <= 1;

    private static bool Valid(in SamplingOptions options, out string why)
    {
        try { options.Validate(); why = ""; return true; }
        catch (ArgumentException e) { why = e.Message; return false; }
    }

    private static int WriteUtf8(string text, byte* buffer, nuint capacity, nuint* written)
    {
        int needed = Encoding.UTF8.GetByteCount(text);
        if (written is not null) *written = (nuint)needed;
        if (buffer is null || capacity < (nuint)needed + 1) return Fail(Status.BufferTooSmall, $"the buffer needs {needed + 1} bytes (NUL included)");
        int n = Encoding.UTF8.GetBytes(text, new Span<byte>(buffer, needed));
        buffer[n] = 0;
        return Ok();
    }

    private static int Ok()
    {
        LastError.Clear();
        return (int)Status.Ok;
    }

    private static int Fail(Status status, string message) => (int)LastError.Set(status, message);

    private static int Guard(Func<Status> body)
    {
        try
        {
            var status = body();
            if (status == Status.Ok) LastError.Clear();
            return (int)status;
        }
        catch (FileNotFoundException e) { return Fail(Status.IoError, e.Message); }
        catch (IOException e) { return Fail(Status.IoError, e.Message); }
        catch (UnauthorizedAccessException e) { return Fail(Status.IoError, e.Message); }
        catch (CheckpointFormatException e) { return Fail(Status.FormatError, e.Message); }
        catch (UnknownCharactersException e) { return Fail(Status.UnknownCharacter, e.Message); }
        catch (ArgumentException e) { return Fail(Status.InvalidArgument, e.Message); }
        catch (Exception e) { return Fail(Status.Internal, "internal error: " + e.Message); }
    }
}
