using System.Runtime.InteropServices;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// A float buffer whose element 0 sits on a 64-byte boundary (a cache line, one Vector512). Rows whose length is a
/// multiple of 16 floats then never straddle two lines; a straddling vector load costs a second access, about 15% of
/// a GEMV's time when its weights stream from L2 (H = 256–512). The storage is allocated on the pinned object heap,
/// so the offset found once stays valid.
/// </summary>
internal sealed class AlignedBuffer
{
    /// <summary>Bytes: one cache line.</summary>
    public const int Alignment = 64;

    private readonly float[] _storage;
    private readonly int _offset;

    /// <summary>A zeroed, aligned buffer of <paramref name="length"/> floats.</summary>
    public AlignedBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _storage = GC.AllocateArray<float>(length + Alignment / sizeof(float) - 1, pinned: true);
        long address = Marshal.UnsafeAddrOfPinnedArrayElement(_storage, 0);
        _offset = (int)((Alignment - address % Alignment) % Alignment) / sizeof(float);
        Length = length;
    }

    /// <summary>Floats held.</summary>
    public int Length { get; }

    /// <summary>All of it.</summary>
    public Span<float> Span => _storage.AsSpan(_offset, Length);

    /// <summary>[start, start + length).</summary>
    public Span<float> AsSpan(int start, int length)
    {
        if ((uint)start > (uint)Length || (uint)length > (uint)(Length - start)) throw new ArgumentOutOfRangeException(nameof(start));
        return _storage.AsSpan(_offset + start, length);
    }

    public static implicit operator Span<float>(AlignedBuffer buffer) => buffer.Span;

    public static implicit operator ReadOnlySpan<float>(AlignedBuffer buffer) => buffer.Span;
}
