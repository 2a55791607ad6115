using System.Runtime.InteropServices;
using CharRnn.Fast.Inference;

namespace CharRnn.Native;

/// <summary>A <see cref="BatchGenerator"/> behind a charrnn_batch handle, with room for one sampling option per stream.</summary>
internal sealed class NativeBatch(BatchGenerator generator)
{
    public BatchGenerator Generator { get; } = generator;

    /// <summary>[M]: the options of a step, converted from C's without allocating.</summary>
    public SamplingOptions[] Options { get; } = new SamplingOptions[generator.Streams];
}

/// <summary>
/// Batches through the C ABI (1.1): M streams over one model advanced together, each weight read once per step for all
/// of them (<see cref="BatchGenerator"/>), each stream with its own seed, sampling options and saved state.
/// </summary>
internal static unsafe partial class Exports
{
    // charrnn.h: CHARRNN_BATCH_MAX_STREAMS
    private const int BatchMaxStreams = 1 << 16;

    [UnmanagedCallersOnly(EntryPoint = "charrnn_batch_create")]
    public static int BatchCreate(nint model, int streams, nint* batch)
    {
        try
        {
            if (batch is not null) *batch = 0;
            if (batch is null) return Fail(Status.InvalidArgument, "batch must not be NULL");
            if (!HandleTable.TryGet<InferenceModel>(model, out var m)) return Fail(Status.InvalidHandle, "not a live model handle");
            if (streams < 1 || streams > BatchMaxStreams) return Fail(Status.InvalidArgument, $"streams must be in 1..{BatchMaxStreams} (CHARRNN_BATCH_MAX_STREAMS), got {streams}");
            *batch = HandleTable.Add(new NativeBatch(new BatchGenerator(m, streams)));
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_batch_free")]
    public static int BatchFree(nint batch)
    {
        try
        {
            return batch == 0 || HandleTable.Remove<NativeBatch>(batch) ? Ok() : Fail(Status.InvalidHandle, "not a live batch handle (already freed?)");
        }
        catch (Exception e) { return Fail(e); }
    }

    /// <summary>Starts a sample on one stream by the library's protocol (see <see cref="BatchGenerator.Start"/>); NULL prime = none.</summary>
    [UnmanagedCallersOnly(EntryPoint = "charrnn_batch_start")]
    public static int BatchStart(nint batch, int stream, ulong seed, byte* utf8Prime)
    {
        try
        {
            if (!HandleTable.TryGet<NativeBatch>(batch, out var b)) return NotABatch();
            if ((uint)stream >= (uint)b.Generator.Streams) return NoSuchStream(b, stream);
            b.Generator.Start(stream, seed, utf8Prime is null ? default : Marshal.PtrToStringUTF8((nint)utf8Prime));
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    /// <summary>
    /// One step of every stream (see <see cref="BatchGenerator.Next"/>): NULL options (count 0) = temperature 1 for all,
    /// one option for all, or one per stream; every option is checked before any stream draws.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "charrnn_batch_next")]
    public static int BatchNext(nint batch, NativeSampling* options, nuint optionCount, int* tokens, nuint tokenCount)
    {
        try
        {
            if (!HandleTable.TryGet<NativeBatch>(batch, out var b)) return NotABatch();
            int m = b.Generator.Streams;
            if (tokens is null) return Fail(Status.InvalidArgument, "tokens must not be NULL");
            if (tokenCount < (nuint)m) return Fail(Status.BufferTooSmall, $"tokens needs {m} entries, one per stream");
            if (options is null ? optionCount != 0 : optionCount != 1 && optionCount != (nuint)m)
                return Fail(Status.InvalidArgument, $"options: NULL with count 0, one for all streams, or one per stream ({m}); got {(options is null ? "NULL" : "an array")} with count {optionCount}");
            int count = options is null ? 1 : (int)optionCount;
            for (int i = 0; i < count; i++)
            {
                b.Options[i] = Sampling(options is null ? null : options + i);
                b.Options[i].Validate();
            }
            b.Generator.Next(b.Options.AsSpan(0, count), new Span<int>(tokens, m));
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_batch_state_save")]
    public static int BatchStateSave(nint batch, int stream, byte* buffer, nuint capacity, nuint* written)
    {
        try
        {
            if (written is not null) *written = 0;
            if (!HandleTable.TryGet<NativeBatch>(batch, out var b)) return NotABatch();
            if ((uint)stream >= (uint)b.Generator.Streams) return NoSuchStream(b, stream);
            int size = GeneratorState.Size(b.Generator.Model);
            if (written is not null) *written = (nuint)size;
            if (buffer is null || capacity < (nuint)size) return StateBufferTooSmall(size);
            b.Generator.SaveState(stream, new Span<byte>(buffer, size));
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_batch_state_load")]
    public static int BatchStateLoad(nint batch, int stream, byte* state, nuint size)
    {
        try
        {
            if (!HandleTable.TryGet<NativeBatch>(batch, out var b)) return NotABatch();
            if ((uint)stream >= (uint)b.Generator.Streams) return NoSuchStream(b, stream);
            if (state is null) return Fail(Status.InvalidArgument, "state must not be NULL");
            if (size > int.MaxValue) return StateOfAnotherSize(b.Generator.Model, size);
            b.Generator.LoadState(stream, new ReadOnlySpan<byte>(state, (int)size));
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    private static int NotABatch() => Fail(Status.InvalidHandle, "not a live batch handle");

    private static int NoSuchStream(NativeBatch b, int stream) => Fail(Status.InvalidArgument, $"stream {stream} is outside [0,{b.Generator.Streams})");
}
