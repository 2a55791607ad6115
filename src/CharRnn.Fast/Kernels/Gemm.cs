using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// The one matrix-multiply kernel of the engine: C[M,N] = epilogue(init[M,N] + A·B). A is read through strides
/// (<see cref="StridedMatrix"/>), so A·B and Aᵀ·B share it; B is row-major or packed in column panels
/// (<see cref="PackedMatrix"/>, for a B that several row blocks reuse). The work is cut into the policy's register tiles
/// (<see cref="GemmTiles"/>): for each column panel, every block of rows runs the main tile (6 × 2 vectors with 16
/// registers, 4 × 4 with 32) and the leftover rows the same kernel with fewer rows (many rows over a B that stays in L2
/// go through the panels a row group at a time, so their block of A stays in L1); a single row over a row-major B
/// (the GEMV of batch-1 training and generation) runs 1 × 8-vector tiles. Columns past the last whole vector run at
/// narrower widths, then as dot products along K. Epilogues fuse the nonlinearity (forward) or its derivative
/// (backward) into the store. <c>init</c> may alias <c>c</c> (accumulate) or be empty (start from zero).
/// </summary>
internal static class Gemm
{
    /// <summary>c[M,N] = A[M,K]·B[K,N]  (c overwritten; B row-major).</summary>
    public static void Multiply(KernelPolicy policy, Span<float> c, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int m, int k, int n)
        => Run<NoEpilogue>(policy, c, default, StridedMatrix.RowMajor(a, m, k), PanelView.RowMajor(b, k, n), default);

    /// <summary>c[M,N] += A[M,K]·B[K,N]  (B row-major).</summary>
    public static void MultiplyAdd(KernelPolicy policy, Span<float> c, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int m, int k, int n)
        => Run<NoEpilogue>(policy, c, c, StridedMatrix.RowMajor(a, m, k), PanelView.RowMajor(b, k, n), default);

    /// <summary>c[M,N] = A[M,K]·B  (c overwritten; K = B's rows).</summary>
    public static void Multiply(KernelPolicy policy, Span<float> c, ReadOnlySpan<float> a, in PanelView b, int m)
        => Run<NoEpilogue>(policy, c, default, StridedMatrix.RowMajor(a, m, b.Rows), b, default);

    /// <summary>c[M,N] += A[M,K]·B  (K = B's rows).</summary>
    public static void MultiplyAdd(KernelPolicy policy, Span<float> c, ReadOnlySpan<float> a, in PanelView b, int m)
        => Run<NoEpilogue>(policy, c, c, StridedMatrix.RowMajor(a, m, b.Rows), b, default);

    /// <summary>c[M,N] = Aᵀ·B with A stored [K,M] (c overwritten; K = B's rows): a weight gradient written, not added to.</summary>
    public static void MultiplyTransposedA(KernelPolicy policy, Span<float> c, ReadOnlySpan<float> a, in PanelView b, int m)
        => Run<NoEpilogue>(policy, c, default, StridedMatrix.TransposeOf(a, m, b.Rows), b, default);

    /// <summary>
    /// c[M,N] = TEpilogue(init[M,N] + A·B, aux[M,N]) with A [M,K] seen through strides and B [K,N] (the first K rows of
    /// the view). <paramref name="init"/> empty means zero; it may alias c.
    /// </summary>
    public static void Run<TEpilogue>(KernelPolicy policy, Span<float> c, ReadOnlySpan<float> init, in StridedMatrix a, in PanelView b,
        ReadOnlySpan<float> aux) where TEpilogue : IEpilogue
        => RunColumns<TEpilogue>(policy, c, init, a, b, aux, 0, b.Cols);

    /// <summary>
    /// Columns [<paramref name="first"/>, <paramref name="end"/>) of <see cref="Run{TEpilogue}"/>'s result, the rest of c
    /// untouched: one thread's share of a product split by columns. Each element gets the same sequence of FMAs as in
    /// the whole product when the split points are multiples of <see cref="KernelPolicy.ColumnSplitUnit"/>.
    /// </summary>
    public static void RunColumns<TEpilogue>(KernelPolicy policy, Span<float> c, ReadOnlySpan<float> init, in StridedMatrix a, in PanelView b,
        ReadOnlySpan<float> aux, int first, int end) where TEpilogue : IEpilogue
        => RunColumns<TEpilogue>(policy, c, init, a, b, aux, first, end, b.Cols);

    /// <summary>
    /// <see cref="RunColumns{TEpilogue}(KernelPolicy, Span{float}, ReadOnlySpan{float}, in StridedMatrix, in PanelView, ReadOnlySpan{float}, int, int)"/>
    /// with c, init and aux rows <paramref name="ldc"/> ≥ N floats apart (a product into a block of a wider matrix).
    /// </summary>
    public static void RunColumns<TEpilogue>(KernelPolicy policy, Span<float> c, ReadOnlySpan<float> init, in StridedMatrix a, in PanelView b,
        ReadOnlySpan<float> aux, int first, int end, int ldc) where TEpilogue : IEpilogue
    {
        int n = b.Cols;
        if (ldc < n) throw new ArgumentOutOfRangeException(nameof(ldc), ldc, $"rows of c are at least N = {n} floats apart");
        if (first < 0 || end > n || first > end) throw new ArgumentOutOfRangeException(nameof(first), $"columns [{first},{end}) are not within [0,{n})");
        if (!b.IsRowMajor && first % b.Width != 0) throw new ArgumentOutOfRangeException(nameof(first), $"a packed product splits at multiples of the panel width {b.Width}");
        if (b.Policy is { } packedFor && packedFor != policy) throw new ArgumentException($"b is packed for {packedFor.Name}, the product runs on {policy.Name}", nameof(b));
        if (a.Cols > b.Rows) throw new ArgumentException($"A has K = {a.Cols} columns but B only {b.Rows} rows", nameof(b));
        if (a.Rows == 0 || first == end) return;
        Check<TEpilogue>(c, init, a, aux, n, ldc);
        ref float origin = ref MemoryMarshal.GetReference(b.Data);
        origin = ref b.IsRowMajor ? ref Unsafe.Add(ref origin, first) : ref Unsafe.Add(ref origin, first / b.Width * (nint)b.PanelStride);
        // a packed B too large to stay in L2 between calls (the LSTM's W_hhᵀ, re-read at every time step) is prefetched
        // panel by panel; one that stays there is not (the prefetches would only take load slots)
        bool prefetch = !b.IsRowMajor && (long)b.Rows * b.Cols * sizeof(float) > CacheSizes.L2Bytes / 2;
        Blocked<TEpilogue>(policy, ref At(c, first), ref At(init, first), !init.IsEmpty, ref MemoryMarshal.GetReference(a.Data), a.RowStride, a.ColStride,
            ref origin, b.IsRowMajor ? n : b.Width, b.PanelStride, prefetch, ref At(aux, first), a.Rows, a.Cols, end - first, ldc);
    }

    private static void Check<TEpilogue>(Span<float> c, ReadOnlySpan<float> init, in StridedMatrix a, ReadOnlySpan<float> aux, int n, int ldc) where TEpilogue : IEpilogue
    {
        int m = a.Rows, k = a.Cols;
        long needed = (long)(m - 1) * ldc + n;
        if (c.Length < needed) throw new ArgumentException($"c holds {c.Length} floats, needs [{m},{n}] in rows {ldc} apart", nameof(c));
        if (!init.IsEmpty && init.Length < needed) throw new ArgumentException($"init holds {init.Length} floats, needs [{m},{n}] in rows {ldc} apart", nameof(init));
        if (k > 0 && a.Data.Length < (long)(m - 1) * a.RowStride + (long)(k - 1) * a.ColStride + 1) throw new ArgumentException("a is too short for its shape and strides", nameof(a));
        if (TEpilogue.UsesAux && aux.Length < needed) throw new ArgumentException($"aux holds {aux.Length} floats, needs [{m},{n}] in rows {ldc} apart", nameof(aux));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float At(ReadOnlySpan<float> span, int offset)
        => ref Unsafe.Add(ref MemoryMarshal.GetReference(span), span.IsEmpty ? 0 : offset);

    // Blocks of K keep the B panel a tile reads ([K block, panel width]) in L1: every block but the last accumulates plain
    // partial sums into C, the last one continues from them and applies the epilogue. B(k, j) is at b + k·ldb + column(j),
    // column(j) = j for a row-major B (panelStride 0), (j / W)·panelStride + j % W for a packed one. Blocked and Dispatch
    // are inlined into the entry points (NativeAOT would otherwise keep them as calls; a generated character makes about
    // ten such calls).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Blocked<TEpilogue>(KernelPolicy policy, ref float c, ref float init, bool hasInit, ref float a, nint aRow, nint aCol,
        ref float b, nint ldb, nint panelStride, bool prefetch, ref float aux, int m, int k, int n, nint ldc) where TEpilogue : IEpilogue
    {
        if (aRow == 1 && aCol == m && m > 1 && k >= TransposedAMinimumDepth)
        {
            BlockedTransposedA<TEpilogue>(policy, ref c, ref init, hasInit, ref a, ref b, ldb, panelStride, prefetch, ref aux, m, k, n, ldc);
            return;
        }
        int kBlock = m == 1 && panelStride == 0 ? Math.Min(policy.KBlock, GemvBlock) : policy.KBlock;
        for (int k0 = 0; k0 + kBlock < k; k0 += kBlock)
        {
            Dispatch<NoEpilogue>(policy, ref c, ref init, hasInit, ref Unsafe.Add(ref a, k0 * aCol), aRow, aCol,
                ref Unsafe.Add(ref b, k0 * ldb), ldb, panelStride, prefetch, ref aux, m, kBlock, n, ldc);
            init = ref c;
            hasInit = true;
        }
        int last = k == 0 ? 0 : (k - 1) / kBlock * kBlock;
        Dispatch<TEpilogue>(policy, ref c, ref init, hasInit, ref Unsafe.Add(ref a, last * aCol), aRow, aCol,
            ref Unsafe.Add(ref b, last * ldb), ldb, panelStride, prefetch, ref aux, m, k - last, n, ldc);
    }

    /// <summary>
    /// K from which a transposed A is copied into row-major blocks first: below it (batch-1 chunks of T = 25 positions)
    /// the few lines of A a tile reads stay in L1, and the copy would cost more than it saves.
    /// </summary>
    private const int TransposedAMinimumDepth = 64;

    /// <summary>
    /// The deepest K block of a transposed A: its row-major copy, [rows, block], stays in L2 beside C's slab and B's block
    /// (the weight gradient of a 512-unit LSTM at 128: 96 KiB, 384 KiB and 256 KiB), which a policy's deeper
    /// <see cref="KernelPolicy.KBlock"/> would not.
    /// </summary>
    internal const int TransposedABlock = 128;

    /// <summary>
    /// The deepest K block of a GEMV (one row over a row-major B, which no other row reuses): the 2-layer LSTM's
    /// H = 128 products, K = 128 and 256, ran about 7% faster in blocks of 128 than in one block of 256 with 256-bit
    /// vectors, so a policy's deeper <see cref="KernelPolicy.KBlock"/> stops at this.
    /// </summary>
    internal const int GemvBlock = 128;

    /// <summary>
    /// <see cref="Blocked{TEpilogue}"/> for A = Sᵀ with S stored [K,M] (the weight-gradient GEMMs), a slab of rows
    /// (<see cref="SlabRows"/>) at a time: each K block of the slab's A is first transposed into a row-major
    /// [rows, block] scratch, so a tile's broadcasts come from a few contiguous rows instead of one cache line per k at a
    /// stride of M floats (with M = 512 those lines all fall into two cache sets and are re-read from L2 by every column
    /// panel). The copy is 1/N of the block's arithmetic. Every element gets the same FMAs, K block after K block, as
    /// without slabs.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void BlockedTransposedA<TEpilogue>(KernelPolicy policy, ref float c, ref float init, bool hasInit, ref float a,
        ref float b, nint ldb, nint panelStride, bool prefetch, ref float aux, int m, int k, int n, nint ldc) where TEpilogue : IEpilogue
    {
        int kBlock = Math.Min(policy.KBlock, TransposedABlock), slab = SlabRows(m, n);
        var scratch = TransposeScratch(slab * Math.Min(k, kBlock));
        ref float rows = ref MemoryMarshal.GetReference(scratch);
        for (int i0 = 0; i0 < m; i0 += slab)
        {
            int mi = Math.Min(slab, m - i0);
            ref float ci = ref Unsafe.Add(ref c, i0 * ldc), xi = ref Unsafe.Add(ref aux, i0 * ldc);
            ref float from = ref Unsafe.Add(ref init, i0 * ldc);
            bool started = hasInit;
            for (int k0 = 0; k0 < k || k0 == 0; k0 += kBlock)
            {
                int kb = Math.Min(kBlock, k - k0);
                RowKernels.Transpose(policy, scratch, kb, MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref a, (nint)k0 * m + i0), kb == 0 ? 0 : (kb - 1) * m + mi), m, kb, mi);
                if (k0 + kBlock >= k)
                {
                    Dispatch<TEpilogue>(policy, ref ci, ref from, started, ref rows, kb, 1, ref Unsafe.Add(ref b, k0 * ldb), ldb, panelStride, prefetch, ref xi, mi, kb, n, ldc);
                    break;
                }
                Dispatch<NoEpilogue>(policy, ref ci, ref from, started, ref rows, kb, 1, ref Unsafe.Add(ref b, k0 * ldb), ldb, panelStride, prefetch, ref xi, mi, kb, n, ldc);
                from = ref ci;
                started = true;
            }
        }
    }

    /// <summary>
    /// Rows of C a transposed-A product finishes, through every K block, before it starts the next rows: C's slab,
    /// [rows, N], then stays in L2 between K blocks (with at most <see cref="SlabLimit"/> rows), where a whole C of more
    /// rows would pass through L3 once per K block. Slabs are of equal whole 12-row blocks (4- and 6-row tiles).
    /// </summary>
    internal static int SlabRows(int m, int n)
    {
        int most = SlabLimit(n);
        if (most >= m) return m;
        int slabs = (m + most - 1) / most;
        return ((m + slabs - 1) / slabs + 11) / 12 * 12;
    }

    /// <summary>
    /// The most rows of C [rows, N] that take a third of the L2, in whole 12-row blocks; B's K block, [128, N], and A's
    /// transposed rows share the rest. The weight gradient of a 512-unit LSTM (C [2048, 512], 4 MiB; K = T·B = 800) then
    /// runs in slabs of about 200 rows on a 1.25 MiB L2, so C is written once instead of passing through L3 in each of
    /// its seven K blocks, while B's blocks (h, [800, 512], 1.6 MB) are read once per slab.
    /// </summary>
    internal static int SlabLimit(int n)
        => (int)Math.Min(int.MaxValue, Math.Max(12, CacheSizes.L2Bytes / 3 / ((long)Math.Max(n, 1) * sizeof(float)) / 12 * 12));

    [ThreadStatic] private static AlignedBuffer? t_transposeScratch;

    /// <summary>This thread's scratch of at least <paramref name="length"/> floats (grown on first use, then reused: no allocation per call).</summary>
    private static Span<float> TransposeScratch(int length)
    {
        var buffer = t_transposeScratch;
        if (buffer is null || buffer.Length < length) t_transposeScratch = buffer = new AlignedBuffer(Math.Max(length, 2 * (buffer?.Length ?? 0)));
        return buffer.AsSpan(0, length);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dispatch<TEpilogue>(KernelPolicy policy, ref float c, ref float init, bool hasInit, ref float a, nint aRow, nint aCol,
        ref float b, nint ldb, nint panelStride, bool prefetch, ref float aux, int m, int k, int n, nint ldc) where TEpilogue : IEpilogue
    {
        bool wide = policy.Tiles == TileFamily.Registers32;
        switch (policy.Path)
        {
            case VectorPath.V512:
                Kernel<Simd512, Vector512<float>, TEpilogue, Four, Four>(ref c, ref init, hasInit, ref a, aRow, aCol, ref b, ldb, panelStride, prefetch, ref aux, m, k, n, ldc);
                break;
            case VectorPath.V256:
                Kernel<Simd256, Vector256<float>, TEpilogue, Six, Two>(ref c, ref init, hasInit, ref a, aRow, aCol, ref b, ldb, panelStride, prefetch, ref aux, m, k, n, ldc);
                break;
            case VectorPath.V128 when wide:
                Kernel<Simd128, Vector128<float>, TEpilogue, Four, Four>(ref c, ref init, hasInit, ref a, aRow, aCol, ref b, ldb, panelStride, prefetch, ref aux, m, k, n, ldc);
                break;
            case VectorPath.V128:
                Kernel<Simd128, Vector128<float>, TEpilogue, Six, Two>(ref c, ref init, hasInit, ref a, aRow, aCol, ref b, ldb, panelStride, prefetch, ref aux, m, k, n, ldc);
                break;
            default:
                Kernel<SimdScalar, float, TEpilogue, Six, Two>(ref c, ref init, hasInit, ref a, aRow, aCol, ref b, ldb, panelStride, prefetch, ref aux, m, k, n, ldc);
                break;
        }
    }

    /// <summary>
    /// One K block of the product: column panels, each swept by row blocks of the main tile (TR × TV) and its leftovers;
    /// many rows over a B block that stays in L2 are taken in row groups (<see cref="RowGroup"/>). Not inlined: the
    /// entry points inline <see cref="Dispatch"/>, which names one Kernel per vector path.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Kernel<TS, TV, TE, TR, TV4>(ref float c, ref float init, bool hasInit, ref float a, nint aRow, nint aCol,
        ref float b, nint ldb, nint panelStride, bool prefetch, ref float aux, int m, int k, int n, nint ldc)
        where TS : ISimd<TV> where TV : struct where TE : IEpilogue where TR : ICount where TV4 : ICount
    {
        int group = RowGroup(TR.Value, k);
        if (m >= 2 * group && (long)k * n * sizeof(float) <= CacheSizes.L2Bytes / 2)
        {
            // groups of equal whole tiles (m = 2048 at 6 rows: 48 each, then 32); B's block is read from L2 once per
            // group, so it is not prefetched. Fewer rows than two groups (a batch of 32 over K blocks of 256) stay
            // one sweep: B is then read once, with its prefetch. A last group of one row is not a GEMV: its floats
            // must not depend on where this L1's groups end.
            int groups = (m + group - 1) / group, rows = ((m + groups - 1) / groups + TR.Value - 1) / TR.Value * TR.Value;
            for (int i = 0; i < m; i += rows)
                Panels<TS, TV, TE, TR, TV4>(ref Unsafe.Add(ref c, i * ldc), ref Unsafe.Add(ref init, i * ldc), hasInit, ref Unsafe.Add(ref a, i * aRow), aRow, aCol,
                    ref b, ldb, panelStride, false, false, ref Unsafe.Add(ref aux, i * ldc), Math.Min(rows, m - i), k, n, ldc);
            return;
        }
        Panels<TS, TV, TE, TR, TV4>(ref c, ref init, hasInit, ref a, aRow, aCol, ref b, ldb, panelStride, prefetch, m == 1 && panelStride == 0, ref aux, m, k, n, ldc);
    }

    /// <summary>
    /// Rows of A that go through every column panel before the next rows start, when A has at least twice as many rows
    /// and B's K block, [k, N], fits in half the L2: whole tiles whose A block, [rows, k], takes at most half the L1
    /// (48 rows of 128 floats, 24 KiB of a 48 KiB L1), so it stays there across the panels while the panels' blocks
    /// come from L2.
    /// Without groups every panel re-reads all of A's block: the weight gradient's transposed A, [G·H, 128], is 1 MiB
    /// for a 512-unit LSTM, read 32 times per K block with 16-column panels, and does not stay in L2 beside C's lines.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int RowGroup(int tileRows, int k)
        => (int)Math.Max(tileRows, CacheSizes.L1Bytes / 2 / ((long)Math.Max(k, 1) * sizeof(float)) / tileRows * tileRows);

    /// <summary>
    /// One K block over rows [0, m): column panels, each swept by row blocks of the main tile and its leftovers, or, for
    /// a product that is one row over a row-major B (<paramref name="gemv"/>), the 1 × 8-vector tiles.
    /// </summary>
    private static void Panels<TS, TV, TE, TR, TV4>(ref float c, ref float init, bool hasInit, ref float a, nint aRow, nint aCol,
        ref float b, nint ldb, nint panelStride, bool prefetch, bool gemv, ref float aux, int m, int k, int n, nint ldc)
        where TS : ISimd<TV> where TV : struct where TE : IEpilogue where TR : ICount where TV4 : ICount
    {
        int w = TS.Count, mr = TR.Value, nr = TV4.Value * w;
        int j = 0;
        if (gemv)
        {
            // the GEMV: one row over a row-major B, eight independent chains
            for (; j + 8 * w <= n; j += 8 * w)
                GemmTiles.Tile1x8<TS, TV, TE>(ref Unsafe.Add(ref c, j), ref Unsafe.Add(ref init, j), hasInit, ref a, aCol, ref Unsafe.Add(ref b, j), ldb, ref Unsafe.Add(ref aux, j), k);
            for (; j + 4 * w <= n; j += 4 * w)
                GemmTiles.Tile1x4<TS, TV, TE>(ref Unsafe.Add(ref c, j), ref Unsafe.Add(ref init, j), hasInit, ref a, aCol, ref Unsafe.Add(ref b, j), ldb, ref Unsafe.Add(ref aux, j), k);
            for (; j + w <= n; j += w)
                GemmTiles.Tile1x1<TS, TV, TE>(ref Unsafe.Add(ref c, j), ref Unsafe.Add(ref init, j), hasInit, ref a, aCol, ref Unsafe.Add(ref b, j), ldb, ref Unsafe.Add(ref aux, j), k);
        }
        else
        {
            // whole panels, then whole vectors of the last, partial one; with prefetch, a panel's row tiles fetch the next
            // whole panel's K block (k·nr contiguous floats) into L2
            for (; j + nr <= n; j += nr)
            {
                if (prefetch && j + 2 * nr <= n)
                    Rows<TS, TV, TE, TR, TV4, One>(ref c, ref init, hasInit, ref a, aRow, aCol, ref Column(ref b, panelStride, nr, j), ldb, ref aux, m, k, j, ldc,
                        ref Column(ref b, panelStride, nr, j + nr), k * nr / CachePrefetch.LineFloats);
                else
                    Rows<TS, TV, TE, TR, TV4, Zero>(ref c, ref init, hasInit, ref a, aRow, aCol, ref Column(ref b, panelStride, nr, j), ldb, ref aux, m, k, j, ldc, ref b, 0);
            }
            for (; j + w <= n; j += w)
                Rows<TS, TV, TE, TR, One, Zero>(ref c, ref init, hasInit, ref a, aRow, aCol, ref Column(ref b, panelStride, nr, j), ldb, ref aux, m, k, j, ldc, ref b, 0);
        }
        if (j == n) return;

        // Columns past the last whole vector: narrower vectors (V = 125 at 512 bits leaves 8 + 4 + 1), four rows at a time,
        // then width 1.
        if (w > 8 && n - j >= 8)
        {
            NarrowColumn<Simd256, Vector256<float>, TE>(ref c, ref init, hasInit, ref a, aRow, aCol, ref Column(ref b, panelStride, nr, j), ldb, ref aux, m, k, j, ldc);
            j += 8;
        }
        if (w > 4 && n - j >= 4)
        {
            NarrowColumn<Simd128, Vector128<float>, TE>(ref c, ref init, hasInit, ref a, aRow, aCol, ref Column(ref b, panelStride, nr, j), ldb, ref aux, m, k, j, ldc);
            j += 4;
        }
        if (j == n) return;
        if (aCol == 1 && k >= w)
            GemmTiles.DotColumns<TS, TV, TE>(ref Unsafe.Add(ref c, j), ref Unsafe.Add(ref init, j), hasInit, ref a, aRow, ref Column(ref b, panelStride, nr, j), ldb,
                ref Unsafe.Add(ref aux, j), ldc, m, k, n - j);
        else
            for (; j < n; j++)
                for (int i = 0; i < m; i++)
                    GemmTiles.Tile1x1<SimdScalar, float, TE>(ref Unsafe.Add(ref c, i * ldc + j), ref Unsafe.Add(ref init, i * ldc + j), hasInit,
                        ref Unsafe.Add(ref a, i * aRow), aCol, ref Column(ref b, panelStride, nr, j), ldb, ref Unsafe.Add(ref aux, i * ldc + j), k);
    }

    /// <summary>Column vector [j, j + TS.Count) of every row: blocks of four rows, then the leftover rows one by one (each row's arithmetic is the same either way).</summary>
    private static void NarrowColumn<TS, TV, TE>(ref float c, ref float init, bool hasInit, ref float a, nint aRow, nint aCol, ref float bj, nint ldb,
        ref float aux, int m, int k, int j, nint ldc) where TS : ISimd<TV> where TV : struct where TE : IEpilogue
    {
        int i = 0;
        for (; i + 4 <= m; i += 4)
            GemmTiles.TileRowsx1<TS, TV, TE, Four>(ref Unsafe.Add(ref c, i * ldc + j), ref Unsafe.Add(ref init, i * ldc + j), hasInit,
                ref Unsafe.Add(ref a, i * aRow), aRow, aCol, ref bj, ldb, ref Unsafe.Add(ref aux, i * ldc + j), ldc, k);
        for (; i < m; i++)
            GemmTiles.Tile1x1<TS, TV, TE>(ref Unsafe.Add(ref c, i * ldc + j), ref Unsafe.Add(ref init, i * ldc + j), hasInit,
                ref Unsafe.Add(ref a, i * aRow), aCol, ref bj, ldb, ref Unsafe.Add(ref aux, i * ldc + j), k);
    }

    /// <summary>B(0, j): column j of a row-major B, or of a packed one (panels of <paramref name="width"/> columns, <paramref name="panelStride"/> apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float Column(ref float b, nint panelStride, int width, int j)
        => ref panelStride == 0 ? ref Unsafe.Add(ref b, j) : ref Unsafe.Add(ref b, j / width * panelStride + j % width);

    /// <summary>
    /// Columns [j, j + TC vectors) for every row: blocks of TR rows, then the leftover rows. A leftover tile with fewer
    /// than <see cref="BusyAccumulators"/> accumulators cannot keep both FMA ports busy, so then the last whole block and
    /// the leftover run as two tiles of about half as many rows each (B = 32 with 6-row tiles: 6, 6, 6, 6, 4, 4, not
    /// …, 6, 2); every element still gets the same FMAs. With TP = <see cref="One"/> the <paramref name="prefetchLines"/>
    /// cache lines from <paramref name="prefetch"/> on are shared out among the tiles (at most one per k each), so the
    /// fetch runs alongside the whole panel's arithmetic.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows<TS, TV, TE, TR, TC, TP>(ref float c, ref float init, bool hasInit, ref float a, nint aRow, nint aCol,
        ref float bj, nint ldb, ref float aux, int m, int k, int j, nint ldc, ref float prefetch, int prefetchLines)
        where TS : ISimd<TV> where TV : struct where TE : IEpilogue where TR : ICount where TC : ICount where TP : ICount
    {
        int mr = TR.Value, whole = m / mr, left = m - whole * mr;
        bool halve = left > 0 && whole > 0 && left * TC.Value < BusyAccumulators && (mr + left + 1) / 2 < mr; // halves of at most 5 rows
        if (halve) whole--;
        int tiles = whole + (halve ? 2 : left > 0 ? 1 : 0);
        int share = Math.Min(k, (prefetchLines + tiles - 1) / tiles), i = 0;
        for (int block = 0; block < whole; block++, i += mr)
        {
            int lines = Math.Min(share, prefetchLines);
            GemmTiles.Tile<TS, TV, TE, TR, TC, TP>(ref Unsafe.Add(ref c, i * ldc + j), ref Unsafe.Add(ref init, i * ldc + j), hasInit, ref Unsafe.Add(ref a, i * aRow),
                aRow, aCol, ref bj, ldb, ref Unsafe.Add(ref aux, i * ldc + j), ldc, k, ref prefetch, lines);
            prefetch = ref Unsafe.Add(ref prefetch, lines * CachePrefetch.LineFloats);
            prefetchLines -= lines;
        }
        if (halve)
        {
            int rows = (m - i + 1) / 2, lines = Math.Min(share, prefetchLines);
            Leftover<TS, TV, TE, TC, TP>(ref c, ref init, hasInit, ref a, aRow, aCol, ref bj, ldb, ref aux, i, rows, k, j, ldc, ref prefetch, lines);
            prefetch = ref Unsafe.Add(ref prefetch, lines * CachePrefetch.LineFloats);
            prefetchLines -= lines;
            i += rows;
        }
        if (i < m) Leftover<TS, TV, TE, TC, TP>(ref c, ref init, hasInit, ref a, aRow, aCol, ref bj, ldb, ref aux, i, m - i, k, j, ldc, ref prefetch, prefetchLines);
    }

    /// <summary>
    /// Accumulators a tile needs in flight to keep two FMA ports busy through an FMA's 4-cycle latency (fewer leave
    /// ports idle: a 2-row × 2-vector tile runs at half the rate).
    /// </summary>
    private const int BusyAccumulators = 8;

    /// <summary>Rows [i, i + <paramref name="rows"/>) (1–5) as one tile of that many rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Leftover<TS, TV, TE, TC, TP>(ref float c, ref float init, bool hasInit, ref float a, nint aRow, nint aCol,
        ref float bj, nint ldb, ref float aux, int i, int rows, int k, int j, nint ldc, ref float prefetch, int prefetchLines)
        where TS : ISimd<TV> where TV : struct where TE : IEpilogue where TC : ICount where TP : ICount
    {
        ref float ci = ref Unsafe.Add(ref c, i * ldc + j), ii = ref Unsafe.Add(ref init, i * ldc + j), xi = ref Unsafe.Add(ref aux, i * ldc + j);
        ref float ai = ref Unsafe.Add(ref a, i * aRow);
        switch (rows)
        {
            case 1: GemmTiles.Tile<TS, TV, TE, One, TC, TP>(ref ci, ref ii, hasInit, ref ai, aRow, aCol, ref bj, ldb, ref xi, ldc, k, ref prefetch, prefetchLines); break;
            case 2: GemmTiles.Tile<TS, TV, TE, Two, TC, TP>(ref ci, ref ii, hasInit, ref ai, aRow, aCol, ref bj, ldb, ref xi, ldc, k, ref prefetch, prefetchLines); break;
            case 3: GemmTiles.Tile<TS, TV, TE, Three, TC, TP>(ref ci, ref ii, hasInit, ref ai, aRow, aCol, ref bj, ldb, ref xi, ldc, k, ref prefetch, prefetchLines); break;
            case 4: GemmTiles.Tile<TS, TV, TE, Four, TC, TP>(ref ci, ref ii, hasInit, ref ai, aRow, aCol, ref bj, ldb, ref xi, ldc, k, ref prefetch, prefetchLines); break;
            default: GemmTiles.Tile<TS, TV, TE, Five, TC, TP>(ref ci, ref ii, hasInit, ref ai, aRow, aCol, ref bj, ldb, ref xi, ldc, k, ref prefetch, prefetchLines); break;
        }
    }
}
