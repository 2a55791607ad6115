using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// Generation's GEMV with compact weights: C[M,N] = TE(init[M,N] + x[M,K]·B[K,N]) with B a <see cref="CompactMatrix"/>
/// (bf16, or int8 with one scale per column) and x's M rows (M ≥ 1: streams) prepared in a <see cref="CompactActivations"/>
/// of the same format. int8 multiplies in integers, y = init + s_x·s_w·Σ q_x·q_w; bf16 widens the weights to float in
/// registers, y = init + Σ x·w. Then the epilogue, as the float GEMM's (none, tanh, relu; those that read aux are not for
/// generation). From H = 512 on the weights stream from L2 or L3 and the time is their bytes: int8 reads a quarter of the
/// float GEMV's, bf16 a half.
///
/// The columns go in tiles of 8 vectors (then 4, 2, 1) for one row, else of 4 rows × 4 vectors (32 registers) or × 2
/// (16) and then single vectors, and the last partial vector through a small buffer. Within a tile each vector of
/// weights is read once for all its rows, so for M ≤ 4 the weights stream from memory once per call; beyond, each 4-row
/// block re-reads a tile's column of weights (at most 64 KiB at K = 1024), from cache. Every column's arithmetic is the
/// same sequence whatever its tile or the policy (int8 sums are exact; bf16 takes the same FMAs in the same order on
/// every path), so results are bit-identical across policies, across column splits at any point, and whether a row
/// comes alone or with others. Nothing is allocated.
/// </summary>
internal static class CompactGemv
{
    /// <summary>C = TE(init + x·B) for all N columns. <paramref name="init"/> empty means zero; it may alias c.</summary>
    public static void Run<TE>(KernelPolicy policy, Span<float> c, ReadOnlySpan<float> init, CompactActivations x, CompactMatrix b) where TE : IEpilogue
        => RunColumns<TE>(policy, c, init, x, b, 0, b?.Cols ?? 0);

    /// <summary>
    /// Columns [<paramref name="first"/>, <paramref name="end"/>) of <see cref="Run{TE}"/>'s C (rows x.Rows, N = b.Cols apart),
    /// the rest of c untouched: one thread's share of a product split by columns, bit-identical to the whole.
    /// </summary>
    public static void RunColumns<TE>(KernelPolicy policy, Span<float> c, ReadOnlySpan<float> init, CompactActivations x, CompactMatrix b, int first, int end)
        where TE : IEpilogue
    {
        ArgumentNullException.ThrowIfNull(policy);
        Check<TE>(c, init, x, b, first, end);
        if (x.Rows == 0 || first == end) return;
        bool wide = policy.Tiles == TileFamily.Registers32;
        if (b.Format == WeightFormat.Int8)
        {
            Int8<TE>(Int8Paths.For(policy), wide, c, init, x, b, first, end);
            return;
        }
        var o = new CompactOperands(x, b, !init.IsEmpty);
        ref float cr = ref MemoryMarshal.GetReference(c), ir = ref At(init);
        switch (policy.Path)
        {
            case VectorPath.V512: Columns<Bf16Dot512, Simd512, Vector512<float>, TE>(wide, ref cr, ref ir, b.Cols, o, x.Rows, first, end); break;
            case VectorPath.V256: Columns<Bf16Dot256, Simd256, Vector256<float>, TE>(wide, ref cr, ref ir, b.Cols, o, x.Rows, first, end); break;
            case VectorPath.V128: Columns<Bf16Dot128, Simd128, Vector128<float>, TE>(wide, ref cr, ref ir, b.Cols, o, x.Rows, first, end); break;
            default: Columns<Bf16DotScalar, SimdScalar, float, TE>(wide, ref cr, ref ir, b.Cols, o, x.Rows, first, end); break;
        }
    }

    /// <summary>The int8 product on a given instruction path (tests run every one the CPU has); <paramref name="wide"/> picks the 32-register tiles.</summary>
    internal static void RunColumns<TE>(Int8Path path, bool wide, Span<float> c, ReadOnlySpan<float> init, CompactActivations x, CompactMatrix b, int first, int end)
        where TE : IEpilogue
    {
        Check<TE>(c, init, x, b, first, end);
        if (b.Format != WeightFormat.Int8) throw new ArgumentException("an int8 path needs int8 weights", nameof(b));
        if (!Int8Paths.Available.Contains(path)) throw new PlatformNotSupportedException($"this CPU has no {path} path");
        if (x.Rows == 0 || first == end) return;
        Int8<TE>(path, wide, c, init, x, b, first, end);
    }

    private static void Int8<TE>(Int8Path path, bool wide, Span<float> c, ReadOnlySpan<float> init, CompactActivations x, CompactMatrix b, int first, int end)
        where TE : IEpilogue
    {
        var o = new CompactOperands(x, b, !init.IsEmpty);
        ref float cr = ref MemoryMarshal.GetReference(c), ir = ref At(init);
        switch (path)
        {
            case Int8Path.Avx512: Columns<Int8DotAvx512, Simd512, Vector512<float>, TE>(wide, ref cr, ref ir, b.Cols, o, x.Rows, first, end); break;
            case Int8Path.AvxVnni: Columns<Int8DotAvxVnni, Simd256, Vector256<float>, TE>(wide, ref cr, ref ir, b.Cols, o, x.Rows, first, end); break;
            case Int8Path.Avx2: Columns<Int8DotAvx2, Simd256, Vector256<float>, TE>(wide, ref cr, ref ir, b.Cols, o, x.Rows, first, end); break;
            case Int8Path.Ssse3: Columns<Int8DotSsse3, Simd128, Vector128<float>, TE>(wide, ref cr, ref ir, b.Cols, o, x.Rows, first, end); break;
            case Int8Path.Portable128: Columns<Int8DotPortable128, Simd128, Vector128<float>, TE>(wide, ref cr, ref ir, b.Cols, o, x.Rows, first, end); break;
            default: Columns<Int8DotScalar, SimdScalar, float, TE>(wide, ref cr, ref ir, b.Cols, o, x.Rows, first, end); break;
        }
    }

    private static void Check<TE>(Span<float> c, ReadOnlySpan<float> init, CompactActivations x, CompactMatrix b, int first, int end) where TE : IEpilogue
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(b);
        if (TE.UsesAux) throw new NotSupportedException($"{typeof(TE).Name} reads a second matrix; compact products take the forward epilogues");
        if (x.Format != b.Format) throw new ArgumentException($"x is prepared for {x.Format}, the weights are {b.Format}", nameof(x));
        if (x.Columns != b.Rows) throw new ArgumentException($"x has {x.Columns} columns, the weights {b.Rows} rows", nameof(x));
        int m = x.Rows, n = b.Cols;
        if (first < 0 || end > n || first > end) throw new ArgumentOutOfRangeException(nameof(first), $"columns [{first},{end}) are not within [0,{n})");
        if (c.Length < (long)m * n) throw new ArgumentException($"c holds {c.Length} floats, needs [{m},{n}]", nameof(c));
        if (!init.IsEmpty && init.Length < (long)m * n) throw new ArgumentException($"init holds {init.Length} floats, needs [{m},{n}]", nameof(init));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float At(ReadOnlySpan<float> span) => ref MemoryMarshal.GetReference(span);

    /// <summary>Columns [first, end) of every row: whole tiles, then single vectors, then the partial vector.</summary>
    private static void Columns<TD, TS, TV, TE>(bool wide, ref float c, ref float init, nint ldc, scoped in CompactOperands o, int m, int first, int end)
        where TD : ICompactDot<TV> where TS : ISimd<TV> where TV : struct where TE : IEpilogue
    {
        int w = TS.Count, j = first;
        if (m == 1)
        {
            // the GEMV: 8 independent accumulators (bf16's FMA latency × 2 ports), then 4, 2, 1 vectors
            for (; j + 8 * w <= end; j += 8 * w)
                CompactTiles.Tile<TD, TS, TV, TE, One, Eight>(ref Unsafe.Add(ref c, j), ref Unsafe.Add(ref init, j), ldc, o, 0, j);
            if (j + 4 * w <= end)
            {
                CompactTiles.Tile<TD, TS, TV, TE, One, Four>(ref Unsafe.Add(ref c, j), ref Unsafe.Add(ref init, j), ldc, o, 0, j);
                j += 4 * w;
            }
            if (j + 2 * w <= end)
            {
                CompactTiles.Tile<TD, TS, TV, TE, One, Two>(ref Unsafe.Add(ref c, j), ref Unsafe.Add(ref init, j), ldc, o, 0, j);
                j += 2 * w;
            }
            if (j + w <= end)
            {
                CompactTiles.Tile<TD, TS, TV, TE, One, One>(ref Unsafe.Add(ref c, j), ref Unsafe.Add(ref init, j), ldc, o, 0, j);
                j += w;
            }
        }
        else if (wide)
            for (; j + 4 * w <= end; j += 4 * w) Rows<TD, TS, TV, TE, Four>(ref c, ref init, ldc, o, m, j);
        else
            for (; j + 2 * w <= end; j += 2 * w) Rows<TD, TS, TV, TE, Two>(ref c, ref init, ldc, o, m, j);
        for (; j + w <= end; j += w) Rows<TD, TS, TV, TE, One>(ref c, ref init, ldc, o, m, j);
        if (j < end) Partial<TD, TS, TV, TE>(ref c, ref init, ldc, o, m, j, end - j);
    }

    /// <summary>Columns [j, j + TC vectors) of every row: blocks of 4 rows, then one tile of the rest.</summary>
    private static void Rows<TD, TS, TV, TE, TC>(ref float c, ref float init, nint ldc, scoped in CompactOperands o, int m, int j)
        where TD : ICompactDot<TV> where TS : ISimd<TV> where TV : struct where TE : IEpilogue where TC : ICount
    {
        int i = 0;
        for (; i + 4 <= m; i += 4)
            CompactTiles.Tile<TD, TS, TV, TE, Four, TC>(ref Unsafe.Add(ref c, i * ldc + j), ref Unsafe.Add(ref init, i * ldc + j), ldc, o, i, j);
        ref float ci = ref Unsafe.Add(ref c, i * ldc + j), ii = ref Unsafe.Add(ref init, i * ldc + j);
        switch (m - i)
        {
            case 1: CompactTiles.Tile<TD, TS, TV, TE, One, TC>(ref ci, ref ii, ldc, o, i, j); break;
            case 2: CompactTiles.Tile<TD, TS, TV, TE, Two, TC>(ref ci, ref ii, ldc, o, i, j); break;
            case 3: CompactTiles.Tile<TD, TS, TV, TE, Three, TC>(ref ci, ref ii, ldc, o, i, j); break;
        }
    }

    /// <summary>
    /// The last <paramref name="count"/> (&lt; one vector) columns: each block of up to 4 rows runs a one-vector tile on a
    /// copy of its init, and only the valid lanes are copied out. The lanes past the range read the cells that follow
    /// (the next columns, the padding, or the matrix's trailing vector of zeros) and are dropped; lanes never mix.
    /// </summary>
    [SkipLocalsInit]
    private static void Partial<TD, TS, TV, TE>(ref float c, ref float init, nint ldc, scoped in CompactOperands o, int m, int j, int count)
        where TD : ICompactDot<TV> where TS : ISimd<TV> where TV : struct where TE : IEpilogue
    {
        int w = TS.Count;
        Span<float> buffer = stackalloc float[2 * 4 * 16]; // [2][4 rows, w ≤ 16]: outputs, then init
        buffer.Clear();
        var outputs = buffer.Slice(0, 4 * w);
        var starts = buffer.Slice(4 * 16, 4 * w);
        ref float tc = ref MemoryMarshal.GetReference(outputs), ti = ref MemoryMarshal.GetReference(starts);
        for (int i = 0; i < m; i += 4)
        {
            int rows = Math.Min(4, m - i);
            if (o.HasInit)
                for (int r = 0; r < rows; r++)
                    MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref init, (i + r) * ldc + j), count).CopyTo(starts.Slice(r * w, count));
            switch (rows)
            {
                case 1: CompactTiles.Tile<TD, TS, TV, TE, One, One>(ref tc, ref ti, w, o, i, j); break;
                case 2: CompactTiles.Tile<TD, TS, TV, TE, Two, One>(ref tc, ref ti, w, o, i, j); break;
                case 3: CompactTiles.Tile<TD, TS, TV, TE, Three, One>(ref tc, ref ti, w, o, i, j); break;
                default: CompactTiles.Tile<TD, TS, TV, TE, Four, One>(ref tc, ref ti, w, o, i, j); break;
            }
            for (int r = 0; r < rows; r++)
                outputs.Slice(r * w, count).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref c, (i + r) * ldc + j), count));
        }
    }
}
