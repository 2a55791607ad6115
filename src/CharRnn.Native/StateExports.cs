using System.Runtime.InteropServices;
using CharRnn.Fast.Inference;

namespace CharRnn.Native;

/// <summary>
/// Saved generator states through the C ABI (1.1): the bytes of <see cref="GeneratorState"/>, written into and read
/// from the caller's memory. Saving follows the buffer contract of the other outputs: *written receives the state's
/// size, and a NULL or too-short buffer only asks for it.
/// </summary>
internal static unsafe partial class Exports
{
    [UnmanagedCallersOnly(EntryPoint = "charrnn_state_size")]
    public static int StateSize(nint model, nuint* size)
    {
        try
        {
            if (size is not null) *size = 0;
            if (!HandleTable.TryGet<InferenceModel>(model, out var m)) return Fail(Status.InvalidHandle, "not a live model handle");
            if (size is null) return Fail(Status.InvalidArgument, "size must not be NULL");
            *size = (nuint)GeneratorState.Size(m);
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_state_save")]
    public static int GeneratorStateSave(nint generator, byte* buffer, nuint capacity, nuint* written)
    {
        try
        {
            if (written is not null) *written = 0;
            if (!HandleTable.TryGet<Generator>(generator, out var g)) return NotAGenerator();
            int size = GeneratorState.Size(g.Model);
            if (written is not null) *written = (nuint)size;
            if (buffer is null || capacity < (nuint)size) return StateBufferTooSmall(size);
            g.SaveState(new Span<byte>(buffer, size));
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly(EntryPoint = "charrnn_generator_state_load")]
    public static int GeneratorStateLoad(nint generator, byte* state, nuint size)
    {
        try
        {
            if (!HandleTable.TryGet<Generator>(generator, out var g)) return NotAGenerator();
            if (state is null) return Fail(Status.InvalidArgument, "state must not be NULL");
            if (size > int.MaxValue) return StateOfAnotherSize(g.Model, size);
            g.LoadState(new ReadOnlySpan<byte>(state, (int)size));
            return Ok();
        }
        catch (Exception e) { return Fail(e); }
    }

    private static int StateBufferTooSmall(int size)
        => Fail(Status.BufferTooSmall, $"a saved state of this model takes {size} bytes (charrnn_state_size); nothing was written");

    private static int StateOfAnotherSize(InferenceModel model, nuint size)
        => Fail(Status.StateMismatch, $"a saved state of this model is {GeneratorState.Size(model)} bytes, got {size}");
}
