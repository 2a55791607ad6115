using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// A float buffer whose element 0 sits on a 64-byte boundary (a cache line, one Vector512). Rows whose length is a
/// multiple of 16 floats then never straddle two lines; a straddling vector load costs a second access, about 15% of
/// a GEMV's time when its weights stream from L2 (H = 256–512). The storage is allocated on the pinned object heap,
/// so the offset found once stays valid. A buffer of <see cref="HugeMinimum"/> bytes or more starts on a 2 MiB
/// boundary and, on Linux, asks for 2 MiB pages (transparent huge pages, with madvise).
/// </summary>
internal sealed partial class AlignedBuffer
{
    /// <summary>Bytes: one cache line.</summary>
    public const int Alignment = 64;

    /// <summary>Bytes of a huge page (x86-64, and arm64 with 4 KiB base pages).</summary>
    private const long HugePage = 2L << 20;

    /// <summary>
    /// Bytes from which a buffer goes on huge pages: the 512-unit LSTM's packed W_hh copies, read from L3 at every time
    /// step, its parameters, gradient and Adam moments, its chunk's gates. Its B = 32 training step ran 1–3% faster
    /// so (LSTM and GRU, AVX-512 and AVX2, on an Ice Lake server). The alignment costs at most 2 MiB more per buffer.
    /// </summary>
    internal const long HugeMinimum = 4L << 20;

    private readonly float[] _storage;
    private readonly int _offset;

    /// <summary>A zeroed, aligned buffer of <paramref name="length"/> floats.</summary>
    public AlignedBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        bool huge = (long)length * sizeof(float) >= HugeMinimum;
        long alignment = huge ? HugePage : Alignment;
        _storage = GC.AllocateArray<float>(checked(length + (int)(alignment / sizeof(float)) - 1), pinned: true);
        long address = Marshal.UnsafeAddrOfPinnedArrayElement(_storage, 0);
        _offset = (int)((alignment - address % alignment) % alignment) / sizeof(float);
        Length = length;
        if (huge && OperatingSystem.IsLinux()) UseHugePages(address + _offset * sizeof(float), address + (long)_storage.Length * sizeof(float));
    }

    /// <summary>
    /// Asks Linux to back the whole 2 MiB pages of [start, end) with huge pages: MADV_HUGEPAGE marks the range, and
    /// MADV_DONTNEED drops the small pages the zeroed array may already occupy (the range reads as zeros again), so the
    /// next touch faults in huge ones. Where huge pages are off or none is free the range stays on small pages; nothing
    /// else differs.
    /// </summary>
    [SupportedOSPlatform("linux")]
    private static void UseHugePages(long start, long end)
    {
        const int MadviseDontNeed = 4, MadviseHugePage = 14;
        nuint length = (nuint)((end - start) / HugePage * HugePage);
        try
        {
            if (Madvise((nint)start, length, MadviseHugePage) == 0) _ = Madvise((nint)start, length, MadviseDontNeed);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    [SupportedOSPlatform("linux")]
    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);

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
