using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// The GEMM's register tiles. Each computes a block of C = epilogue(init + A·B) in "axpy" form: per k, a few vectors of
/// row k of B are loaded once and multiplied by the broadcast A(i,k) of every row of the tile, so the vector loop runs
/// along N and no horizontal sums are needed. Pointers are at the tile's origin: c, init and aux at C(i,j) with rows
/// <c>ldc</c> apart, a at A(i,0) (element (r,k) at a[r·aRow + k·aCol]), b at B(0,j) with rows <c>ldb</c> apart (N for a
/// row-major B, the panel width for a <see cref="PackedMatrix"/>).
/// </summary>
internal static class GemmTiles
{
    /// <summary>
    /// The register tile: <typeparamref name="TR"/> rows × <typeparamref name="TC"/> vectors (up to 6 × 4). One kernel
    /// for every shape: the JIT specializes it per type argument, and the rows and vectors beyond the shape are dead code
    /// whose accumulators take no register. A policy's main tile is sized for its register file (6 × 2 with 16
    /// registers: 12 accumulators, 2 B vectors and a broadcast; 4 × 4 with 32); leftover rows use the same kernel with
    /// fewer rows, so a batch of 16 or 32 streams never falls back to single-row tiles. With <typeparamref name="TP"/> =
    /// <see cref="One"/> it also prefetches <paramref name="prefetchLines"/> cache lines from <paramref name="prefetch"/> on
    /// into L2, one per k (its share of the next column panel: see <see cref="CachePrefetch"/>); with <see cref="Zero"/>
    /// the check is compiled out.
    /// </summary>
    [SkipLocalsInit]
    public static void Tile<TS, TV, TE, TR, TC, TP>(ref float c, ref float init, bool hasInit, ref float a, nint aRow, nint aCol,
        ref float b, nint ldb, ref float aux, nint ldc, int k, ref float prefetch, int prefetchLines)
        where TS : ISimd<TV> where TV : struct where TE : IEpilogue where TR : ICount where TC : ICount where TP : ICount
    {
        int rows = TR.Value, vectors = TC.Value;
        nint w = TS.Count;
        TV c00 = default, c01 = default, c02 = default, c03 = default;
        TV c10 = default, c11 = default, c12 = default, c13 = default;
        TV c20 = default, c21 = default, c22 = default, c23 = default;
        TV c30 = default, c31 = default, c32 = default, c33 = default;
        TV c40 = default, c41 = default, c42 = default, c43 = default;
        TV c50 = default, c51 = default, c52 = default, c53 = default;
        if (hasInit)
        {
            c00 = TS.Load(in init);
            if (vectors > 1) c01 = TS.Load(in Unsafe.Add(ref init, w));
            if (vectors > 2) c02 = TS.Load(in Unsafe.Add(ref init, 2 * w));
            if (vectors > 3) c03 = TS.Load(in Unsafe.Add(ref init, 3 * w));
            if (rows > 1) c10 = TS.Load(in Unsafe.Add(ref init, ldc));
            if (rows > 1 && vectors > 1) c11 = TS.Load(in Unsafe.Add(ref init, ldc + w));
            if (rows > 1 && vectors > 2) c12 = TS.Load(in Unsafe.Add(ref init, ldc + 2 * w));
            if (rows > 1 && vectors > 3) c13 = TS.Load(in Unsafe.Add(ref init, ldc + 3 * w));
            if (rows > 2) c20 = TS.Load(in Unsafe.Add(ref init, 2 * ldc));
            if (rows > 2 && vectors > 1) c21 = TS.Load(in Unsafe.Add(ref init, 2 * ldc + w));
            if (rows > 2 && vectors > 2) c22 = TS.Load(in Unsafe.Add(ref init, 2 * ldc + 2 * w));
            if (rows > 2 && vectors > 3) c23 = TS.Load(in Unsafe.Add(ref init, 2 * ldc + 3 * w));
            if (rows > 3) c30 = TS.Load(in Unsafe.Add(ref init, 3 * ldc));
            if (rows > 3 && vectors > 1) c31 = TS.Load(in Unsafe.Add(ref init, 3 * ldc + w));
            if (rows > 3 && vectors > 2) c32 = TS.Load(in Unsafe.Add(ref init, 3 * ldc + 2 * w));
            if (rows > 3 && vectors > 3) c33 = TS.Load(in Unsafe.Add(ref init, 3 * ldc + 3 * w));
            if (rows > 4) c40 = TS.Load(in Unsafe.Add(ref init, 4 * ldc));
            if (rows > 4 && vectors > 1) c41 = TS.Load(in Unsafe.Add(ref init, 4 * ldc + w));
            if (rows > 4 && vectors > 2) c42 = TS.Load(in Unsafe.Add(ref init, 4 * ldc + 2 * w));
            if (rows > 4 && vectors > 3) c43 = TS.Load(in Unsafe.Add(ref init, 4 * ldc + 3 * w));
            if (rows > 5) c50 = TS.Load(in Unsafe.Add(ref init, 5 * ldc));
            if (rows > 5 && vectors > 1) c51 = TS.Load(in Unsafe.Add(ref init, 5 * ldc + w));
            if (rows > 5 && vectors > 2) c52 = TS.Load(in Unsafe.Add(ref init, 5 * ldc + 2 * w));
            if (rows > 5 && vectors > 3) c53 = TS.Load(in Unsafe.Add(ref init, 5 * ldc + 3 * w));
        }
        ref float a0 = ref a;
        ref float a1 = ref Unsafe.Add(ref a0, rows > 1 ? aRow : 0);
        ref float a2 = ref Unsafe.Add(ref a1, rows > 2 ? aRow : 0);
        ref float a3 = ref Unsafe.Add(ref a2, rows > 3 ? aRow : 0);
        ref float a4 = ref Unsafe.Add(ref a3, rows > 4 ? aRow : 0);
        ref float a5 = ref Unsafe.Add(ref a4, rows > 5 ? aRow : 0);
        ref float bk = ref b;
        nint p = 0;
        for (int kk = 0; kk < k; kk++, p += aCol, bk = ref Unsafe.Add(ref bk, ldb))
        {
            if (TP.Value > 0 && kk < prefetchLines)
            {
                CachePrefetch.ToL2(ref prefetch);
                prefetch = ref Unsafe.Add(ref prefetch, CachePrefetch.LineFloats);
            }
            TV b0 = TS.Load(in bk);
            TV b1 = vectors > 1 ? TS.Load(in Unsafe.Add(ref bk, w)) : default;
            TV b2 = vectors > 2 ? TS.Load(in Unsafe.Add(ref bk, 2 * w)) : default;
            TV b3 = vectors > 3 ? TS.Load(in Unsafe.Add(ref bk, 3 * w)) : default;
            TV x;
            x = TS.Create(Unsafe.Add(ref a0, p));
            c00 = TS.MultiplyAdd(x, b0, c00);
            if (vectors > 1) c01 = TS.MultiplyAdd(x, b1, c01);
            if (vectors > 2) c02 = TS.MultiplyAdd(x, b2, c02);
            if (vectors > 3) c03 = TS.MultiplyAdd(x, b3, c03);
            if (rows > 1)
            {
                x = TS.Create(Unsafe.Add(ref a1, p));
                c10 = TS.MultiplyAdd(x, b0, c10);
                if (vectors > 1) c11 = TS.MultiplyAdd(x, b1, c11);
                if (vectors > 2) c12 = TS.MultiplyAdd(x, b2, c12);
                if (vectors > 3) c13 = TS.MultiplyAdd(x, b3, c13);
            }
            if (rows > 2)
            {
                x = TS.Create(Unsafe.Add(ref a2, p));
                c20 = TS.MultiplyAdd(x, b0, c20);
                if (vectors > 1) c21 = TS.MultiplyAdd(x, b1, c21);
                if (vectors > 2) c22 = TS.MultiplyAdd(x, b2, c22);
                if (vectors > 3) c23 = TS.MultiplyAdd(x, b3, c23);
            }
            if (rows > 3)
            {
                x = TS.Create(Unsafe.Add(ref a3, p));
                c30 = TS.MultiplyAdd(x, b0, c30);
                if (vectors > 1) c31 = TS.MultiplyAdd(x, b1, c31);
                if (vectors > 2) c32 = TS.MultiplyAdd(x, b2, c32);
                if (vectors > 3) c33 = TS.MultiplyAdd(x, b3, c33);
            }
            if (rows > 4)
            {
                x = TS.Create(Unsafe.Add(ref a4, p));
                c40 = TS.MultiplyAdd(x, b0, c40);
                if (vectors > 1) c41 = TS.MultiplyAdd(x, b1, c41);
                if (vectors > 2) c42 = TS.MultiplyAdd(x, b2, c42);
                if (vectors > 3) c43 = TS.MultiplyAdd(x, b3, c43);
            }
            if (rows > 5)
            {
                x = TS.Create(Unsafe.Add(ref a5, p));
                c50 = TS.MultiplyAdd(x, b0, c50);
                if (vectors > 1) c51 = TS.MultiplyAdd(x, b1, c51);
                if (vectors > 2) c52 = TS.MultiplyAdd(x, b2, c52);
                if (vectors > 3) c53 = TS.MultiplyAdd(x, b3, c53);
            }
        }
        TS.Store(c00, ref c);
        if (vectors > 1) TS.Store(c01, ref Unsafe.Add(ref c, w));
        if (vectors > 2) TS.Store(c02, ref Unsafe.Add(ref c, 2 * w));
        if (vectors > 3) TS.Store(c03, ref Unsafe.Add(ref c, 3 * w));
        if (rows > 1) TS.Store(c10, ref Unsafe.Add(ref c, ldc));
        if (rows > 1 && vectors > 1) TS.Store(c11, ref Unsafe.Add(ref c, ldc + w));
        if (rows > 1 && vectors > 2) TS.Store(c12, ref Unsafe.Add(ref c, ldc + 2 * w));
        if (rows > 1 && vectors > 3) TS.Store(c13, ref Unsafe.Add(ref c, ldc + 3 * w));
        if (rows > 2) TS.Store(c20, ref Unsafe.Add(ref c, 2 * ldc));
        if (rows > 2 && vectors > 1) TS.Store(c21, ref Unsafe.Add(ref c, 2 * ldc + w));
        if (rows > 2 && vectors > 2) TS.Store(c22, ref Unsafe.Add(ref c, 2 * ldc + 2 * w));
        if (rows > 2 && vectors > 3) TS.Store(c23, ref Unsafe.Add(ref c, 2 * ldc + 3 * w));
        if (rows > 3) TS.Store(c30, ref Unsafe.Add(ref c, 3 * ldc));
        if (rows > 3 && vectors > 1) TS.Store(c31, ref Unsafe.Add(ref c, 3 * ldc + w));
        if (rows > 3 && vectors > 2) TS.Store(c32, ref Unsafe.Add(ref c, 3 * ldc + 2 * w));
        if (rows > 3 && vectors > 3) TS.Store(c33, ref Unsafe.Add(ref c, 3 * ldc + 3 * w));
        if (rows > 4) TS.Store(c40, ref Unsafe.Add(ref c, 4 * ldc));
        if (rows > 4 && vectors > 1) TS.Store(c41, ref Unsafe.Add(ref c, 4 * ldc + w));
        if (rows > 4 && vectors > 2) TS.Store(c42, ref Unsafe.Add(ref c, 4 * ldc + 2 * w));
        if (rows > 4 && vectors > 3) TS.Store(c43, ref Unsafe.Add(ref c, 4 * ldc + 3 * w));
        if (rows > 5) TS.Store(c50, ref Unsafe.Add(ref c, 5 * ldc));
        if (rows > 5 && vectors > 1) TS.Store(c51, ref Unsafe.Add(ref c, 5 * ldc + w));
        if (rows > 5 && vectors > 2) TS.Store(c52, ref Unsafe.Add(ref c, 5 * ldc + 2 * w));
        if (rows > 5 && vectors > 3) TS.Store(c53, ref Unsafe.Add(ref c, 5 * ldc + 3 * w));
        Epilogue<TS, TV, TE>(ref c, ref aux, ldc, rows, vectors);
    }

    /// <summary>One row × 8 vectors (M = 1: the GEMV of batch-1 training and generation): 8 independent accumulators hide the FMA latency (4 cycles × 2 ports).</summary>
    [SkipLocalsInit]
    public static void Tile1x8<TS, TV, TE>(ref float c, ref float init, bool hasInit, ref float a, nint aCol, ref float b, nint ldb, ref float aux, int k)
        where TS : ISimd<TV> where TV : struct where TE : IEpilogue
    {
        nint w = TS.Count;
        TV c0 = Start<TS, TV>(ref init, hasInit, 0), c1 = Start<TS, TV>(ref init, hasInit, w), c2 = Start<TS, TV>(ref init, hasInit, 2 * w), c3 = Start<TS, TV>(ref init, hasInit, 3 * w);
        TV c4 = Start<TS, TV>(ref init, hasInit, 4 * w), c5 = Start<TS, TV>(ref init, hasInit, 5 * w), c6 = Start<TS, TV>(ref init, hasInit, 6 * w), c7 = Start<TS, TV>(ref init, hasInit, 7 * w);
        ref float bk = ref b;
        nint p = 0;
        for (int kk = 0; kk < k; kk++, p += aCol, bk = ref Unsafe.Add(ref bk, ldb))
        {
            TV x = TS.Create(Unsafe.Add(ref a, p));
            c0 = TS.MultiplyAdd(x, TS.Load(in bk), c0);
            c1 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, w)), c1);
            c2 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 2 * w)), c2);
            c3 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 3 * w)), c3);
            c4 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 4 * w)), c4);
            c5 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 5 * w)), c5);
            c6 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 6 * w)), c6);
            c7 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 7 * w)), c7);
        }
        TS.Store(c0, ref c); TS.Store(c1, ref Unsafe.Add(ref c, w));
        TS.Store(c2, ref Unsafe.Add(ref c, 2 * w)); TS.Store(c3, ref Unsafe.Add(ref c, 3 * w));
        TS.Store(c4, ref Unsafe.Add(ref c, 4 * w)); TS.Store(c5, ref Unsafe.Add(ref c, 5 * w));
        TS.Store(c6, ref Unsafe.Add(ref c, 6 * w)); TS.Store(c7, ref Unsafe.Add(ref c, 7 * w));
        Epilogue<TS, TV, TE>(ref c, ref aux, 0, 1, 8);
    }

    /// <summary>One row × 4 vectors (the logits GEMV at V = 65): even and odd k go to two sets of accumulators, so eight independent FMA chains cover the latency as in <see cref="Tile1x8"/>.</summary>
    [SkipLocalsInit]
    public static void Tile1x4<TS, TV, TE>(ref float c, ref float init, bool hasInit, ref float a, nint aCol, ref float b, nint ldb, ref float aux, int k)
        where TS : ISimd<TV> where TV : struct where TE : IEpilogue
    {
        nint w = TS.Count;
        TV c0 = Start<TS, TV>(ref init, hasInit, 0), c1 = Start<TS, TV>(ref init, hasInit, w), c2 = Start<TS, TV>(ref init, hasInit, 2 * w), c3 = Start<TS, TV>(ref init, hasInit, 3 * w);
        TV d0 = TS.Zero, d1 = TS.Zero, d2 = TS.Zero, d3 = TS.Zero;
        ref float bk = ref b;
        nint p = 0, ldb2 = 2 * ldb;
        int kk = 0;
        for (; kk + 1 < k; kk += 2, p += 2 * aCol, bk = ref Unsafe.Add(ref bk, ldb2))
        {
            TV x = TS.Create(Unsafe.Add(ref a, p));
            c0 = TS.MultiplyAdd(x, TS.Load(in bk), c0);
            c1 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, w)), c1);
            c2 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 2 * w)), c2);
            c3 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 3 * w)), c3);
            ref float bn = ref Unsafe.Add(ref bk, ldb);
            TV y = TS.Create(Unsafe.Add(ref a, p + aCol));
            d0 = TS.MultiplyAdd(y, TS.Load(in bn), d0);
            d1 = TS.MultiplyAdd(y, TS.Load(in Unsafe.Add(ref bn, w)), d1);
            d2 = TS.MultiplyAdd(y, TS.Load(in Unsafe.Add(ref bn, 2 * w)), d2);
            d3 = TS.MultiplyAdd(y, TS.Load(in Unsafe.Add(ref bn, 3 * w)), d3);
        }
        if (kk < k)
        {
            TV x = TS.Create(Unsafe.Add(ref a, p));
            c0 = TS.MultiplyAdd(x, TS.Load(in bk), c0);
            c1 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, w)), c1);
            c2 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 2 * w)), c2);
            c3 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 3 * w)), c3);
        }
        TS.Store(TS.Add(c0, d0), ref c); TS.Store(TS.Add(c1, d1), ref Unsafe.Add(ref c, w));
        TS.Store(TS.Add(c2, d2), ref Unsafe.Add(ref c, 2 * w)); TS.Store(TS.Add(c3, d3), ref Unsafe.Add(ref c, 3 * w));
        Epilogue<TS, TV, TE>(ref c, ref aux, 0, 1, 4);
    }

    /// <summary>One vector of one row (column remainders at a narrower width): two accumulators over alternate k halve the FMA-latency chain.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tile1x1<TS, TV, TE>(ref float c, ref float init, bool hasInit, ref float a, nint aCol, ref float b, nint ldb, ref float aux, int k)
        where TS : ISimd<TV> where TV : struct where TE : IEpilogue
        => TileRowsx1<TS, TV, TE, One>(ref c, ref init, hasInit, ref a, 0, aCol, ref b, ldb, ref aux, 0, k);

    /// <summary>
    /// One vector of <typeparamref name="TR"/> rows (up to 4), each row as <see cref="Tile1x1"/> computes it (two
    /// accumulators over alternate k, added at the end), so a remainder of many rows runs TR rows' chains side by side
    /// with the same result for every row as one row alone.
    /// </summary>
    [SkipLocalsInit]
    public static void TileRowsx1<TS, TV, TE, TR>(ref float c, ref float init, bool hasInit, ref float a, nint aRow, nint aCol, ref float b, nint ldb,
        ref float aux, nint ldc, int k) where TS : ISimd<TV> where TV : struct where TE : IEpilogue where TR : ICount
    {
        int rows = TR.Value;
        TV c0 = Start<TS, TV>(ref init, hasInit, 0), d0 = TS.Zero;
        TV c1 = rows > 1 ? Start<TS, TV>(ref init, hasInit, ldc) : default, d1 = TS.Zero;
        TV c2 = rows > 2 ? Start<TS, TV>(ref init, hasInit, 2 * ldc) : default, d2 = TS.Zero;
        TV c3 = rows > 3 ? Start<TS, TV>(ref init, hasInit, 3 * ldc) : default, d3 = TS.Zero;
        ref float bk = ref b;
        nint p = 0, ldb2 = 2 * ldb;
        int kk = 0;
        for (; kk + 1 < k; kk += 2, p += 2 * aCol, bk = ref Unsafe.Add(ref bk, ldb2))
        {
            TV even = TS.Load(in bk), odd = TS.Load(in Unsafe.Add(ref bk, ldb));
            c0 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, p)), even, c0);
            d0 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, p + aCol)), odd, d0);
            if (rows > 1)
            {
                c1 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, aRow + p)), even, c1);
                d1 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, aRow + p + aCol)), odd, d1);
            }
            if (rows > 2)
            {
                c2 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, 2 * aRow + p)), even, c2);
                d2 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, 2 * aRow + p + aCol)), odd, d2);
            }
            if (rows > 3)
            {
                c3 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, 3 * aRow + p)), even, c3);
                d3 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, 3 * aRow + p + aCol)), odd, d3);
            }
        }
        if (kk < k)
        {
            TV last = TS.Load(in bk);
            c0 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, p)), last, c0);
            if (rows > 1) c1 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, aRow + p)), last, c1);
            if (rows > 2) c2 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, 2 * aRow + p)), last, c2);
            if (rows > 3) c3 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref a, 3 * aRow + p)), last, c3);
        }
        TS.Store(TS.Add(c0, d0), ref c);
        if (rows > 1) TS.Store(TS.Add(c1, d1), ref Unsafe.Add(ref c, ldc));
        if (rows > 2) TS.Store(TS.Add(c2, d2), ref Unsafe.Add(ref c, 2 * ldc));
        if (rows > 3) TS.Store(TS.Add(c3, d3), ref Unsafe.Add(ref c, 3 * ldc));
        Epilogue<TS, TV, TE>(ref c, ref aux, ldc, rows, 1);
    }

    /// <summary>
    /// The last columns [0, count), fewer than a vector, when A's rows are contiguous: C(i,j) = init(i,j) + A(i,:)·B(:,j),
    /// a dot product vectorized along K against B's column gathered once (the logits column past V = 64 would
    /// otherwise be a K-long chain of scalar FMAs per row). k is at most one K block.
    /// </summary>
    [SkipLocalsInit]
    public static void DotColumns<TS, TV, TE>(ref float c, ref float init, bool hasInit, ref float a, nint aRow, ref float b, nint ldb,
        ref float aux, nint ldc, int m, int k, int count) where TS : ISimd<TV> where TV : struct where TE : IEpilogue
    {
        int w = TS.Count;
        Span<float> gathered = stackalloc float[KernelPolicy.MaxKBlock]; // a constant size: the JIT allocates it in the frame
        ref float column = ref MemoryMarshal.GetReference(gathered);
        for (int j = 0; j < count; j++)
        {
            for (int kk = 0; kk < k; kk++) Unsafe.Add(ref column, kk) = Unsafe.Add(ref b, kk * ldb + j);
            for (int i = 0; i < m; i++)
            {
                ref float ai = ref Unsafe.Add(ref a, i * aRow);
                TV s0 = TS.Zero, s1 = TS.Zero;
                int kk = 0;
                for (; kk + 2 * w <= k; kk += 2 * w)
                {
                    s0 = TS.MultiplyAdd(TS.Load(in Unsafe.Add(ref ai, kk)), TS.Load(in Unsafe.Add(ref column, kk)), s0);
                    s1 = TS.MultiplyAdd(TS.Load(in Unsafe.Add(ref ai, kk + w)), TS.Load(in Unsafe.Add(ref column, kk + w)), s1);
                }
                if (kk + w <= k)
                {
                    s0 = TS.MultiplyAdd(TS.Load(in Unsafe.Add(ref ai, kk)), TS.Load(in Unsafe.Add(ref column, kk)), s0);
                    kk += w;
                }
                float sum = TS.Sum(TS.Add(s0, s1));
                for (; kk < k; kk++) sum = SimdScalar.MultiplyAdd(Unsafe.Add(ref ai, kk), Unsafe.Add(ref column, kk), sum);
                nint o = i * ldc + j;
                if (hasInit) sum += Unsafe.Add(ref init, o);
                Unsafe.Add(ref c, o) = TE.Apply<SimdScalar, float>(sum, TE.UsesAux ? Unsafe.Add(ref aux, o) : 0f);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Start<TS, TV>(ref float init, bool hasInit, nint offset) where TS : ISimd<TV> where TV : struct
        => hasInit ? TS.Load(in Unsafe.Add(ref init, offset)) : TS.Zero;

    /// <summary>
    /// Applies the epilogue to a finished tile (rows × vectors from c, rows ldc apart) in place. One loop expands the
    /// epilogue once per tile instead of once per accumulator, which keeps large tiles within the inliner's budget (the
    /// tile is still in L1, so the extra load and store cost little).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Epilogue<TS, TV, TE>(ref float c, ref float aux, nint ldc, int rows, int vectors)
        where TS : ISimd<TV> where TV : struct where TE : IEpilogue
    {
        if (TE.IsIdentity) return;
        for (int r = 0; r < rows; r++)
            for (int v = 0; v < vectors; v++)
            {
                nint o = r * ldc + v * TS.Count;
                ref float target = ref Unsafe.Add(ref c, o);
                TS.Store(TE.Apply<TS, TV>(TS.Load(in target), TE.UsesAux ? TS.Load(in Unsafe.Add(ref aux, o)) : TS.Zero), ref target);
            }
    }
}
