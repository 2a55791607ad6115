using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// The one matrix-multiply kernel of the engine, in "axpy" form: C[M,N] = epilogue(init[M,N] + A·B), where B is
/// [K,N] row-major and A is read through strides, A(i,k) = a[i·rowStride + k·colStride], so the same kernel serves
/// A·B (A row-major [M,K]) and Aᵀ·B (A stored [K,M]). Rows of C are computed as sums of broadcast A elements times
/// rows of B, so the vector loop runs along N and no horizontal sums are needed. Register tiles are 4 rows × 4
/// vectors (16 accumulators); leftover rows use 1×8 (M = 1 is the GEMV of batch-1 training and generation), 1×4 and 1×1 tiles, and columns past the last whole vector narrower vectors, then width-1 tiles (dot products along K when A's rows are contiguous). <c>init</c> may alias <c>c</c> (accumulate)
/// or be empty (start from zero).
/// </summary>
internal static class Gemm
{
    /// <summary>c[M,N] = A[M,K]·B[K,N]  (c overwritten).</summary>
    public static void Multiply(KernelPolicy policy, Span<float> c, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int m, int k, int n)
        => Run<NoEpilogue>(policy, c, default, StridedMatrix.RowMajor(a, m, k), b, default, n);

    /// <summary>c[M,N] += A[M,K]·B[K,N].</summary>
    public static void MultiplyAdd(KernelPolicy policy, Span<float> c, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int m, int k, int n)
        => Run<NoEpilogue>(policy, c, c, StridedMatrix.RowMajor(a, m, k), b, default, n);

    /// <summary>c[M,N] += Aᵀ·B with A stored [K,M] and B [K,N]: the weight-gradient GEMM (K = T·B positions).</summary>
    public static void MultiplyTransposedAAdd(KernelPolicy policy, Span<float> c, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int m, int k, int n)
        => Run<NoEpilogue>(policy, c, c, StridedMatrix.TransposeOf(a, m, k), b, default, n);

    /// <summary>
    /// The general entry: c[M,N] = TEpilogue(init[M,N] + A·B, aux[M,N]) with A [M,K] seen through strides and B [K,N]
    /// row-major. <paramref name="init"/> empty means zero; it may alias c.
    /// </summary>
    public static void Run<TEpilogue>(KernelPolicy policy, Span<float> c, ReadOnlySpan<float> init, in StridedMatrix a, ReadOnlySpan<float> b,
        ReadOnlySpan<float> aux, int n) where TEpilogue : IEpilogue
    {
        int m = a.Rows, k = a.Cols;
        if (m == 0 || n == 0) return;
        Check<TEpilogue>(c, init, a, b, aux, n);
        Blocked<TEpilogue>(policy, ref MemoryMarshal.GetReference(c), ref MemoryMarshal.GetReference(init), !init.IsEmpty, ref MemoryMarshal.GetReference(a.Data),
            a.RowStride, a.ColStride, ref MemoryMarshal.GetReference(b), ref MemoryMarshal.GetReference(aux), m, k, n, n);
    }

    /// <summary>
    /// Columns [<paramref name="first"/>, <paramref name="end"/>) of <see cref="Run{TEpilogue}"/>'s result, the rest of c
    /// untouched: one thread's share of a product split by columns. Each element gets the same sequence of FMAs as in
    /// <see cref="Run{TEpilogue}"/> when the split points are multiples of <see cref="KernelPolicy.ColumnSplitUnit"/>.
    /// </summary>
    public static void RunColumns<TEpilogue>(KernelPolicy policy, Span<float> c, ReadOnlySpan<float> init, in StridedMatrix a, ReadOnlySpan<float> b,
        ReadOnlySpan<float> aux, int n, int first, int end) where TEpilogue : IEpilogue
    {
        if (first < 0 || end > n || first > end) throw new ArgumentOutOfRangeException(nameof(first), $"columns [{first},{end}) are not within [0,{n})");
        if (a.Rows == 0 || first == end) return;
        Check<TEpilogue>(c, init, a, b, aux, n);
        Blocked<TEpilogue>(policy, ref Unsafe.Add(ref MemoryMarshal.GetReference(c), first), ref Unsafe.Add(ref MemoryMarshal.GetReference(init), init.IsEmpty ? 0 : first),
            !init.IsEmpty, ref MemoryMarshal.GetReference(a.Data), a.RowStride, a.ColStride, ref Unsafe.Add(ref MemoryMarshal.GetReference(b), first),
            ref Unsafe.Add(ref MemoryMarshal.GetReference(aux), aux.IsEmpty ? 0 : first), a.Rows, a.Cols, end - first, n);
    }

    private static void Check<TEpilogue>(Span<float> c, ReadOnlySpan<float> init, in StridedMatrix a, ReadOnlySpan<float> b, ReadOnlySpan<float> aux, int n)
        where TEpilogue : IEpilogue
    {
        int m = a.Rows, k = a.Cols;
        if (c.Length < m * n) throw new ArgumentException($"c holds {c.Length} floats, needs [{m},{n}]", nameof(c));
        if (!init.IsEmpty && init.Length < m * n) throw new ArgumentException($"init holds {init.Length} floats, needs [{m},{n}]", nameof(init));
        if (k > 0 && a.Data.Length < (long)(m - 1) * a.RowStride + (long)(k - 1) * a.ColStride + 1) throw new ArgumentException("a is too short for its shape and strides", nameof(a));
        if (b.Length < k * n) throw new ArgumentException($"b holds {b.Length} floats, needs [{k},{n}]", nameof(b));
        if (TEpilogue.UsesAux && aux.Length < m * n) throw new ArgumentException($"aux holds {aux.Length} floats, needs [{m},{n}]", nameof(aux));
    }

    // Blocks of K keep the B panel a tile reads ([KBlock, 4 vectors]) in L1: every block but the last accumulates
    // plain partial sums into C, the last one continues from them and applies the epilogue. C, init, aux and B have
    // rows of `ld` floats, of which `n` columns are computed. Blocked and Dispatch are inlined into the entry points
    // (NativeAOT would otherwise keep them as calls; a generated character makes about ten such calls).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Blocked<TEpilogue>(KernelPolicy policy, ref float cr, ref float ir, bool hasInit, ref float ar, int aRowStride, int aColStride,
        ref float br, ref float xr, int m, int k, int n, int ld) where TEpilogue : IEpilogue
    {
        int kBlock = policy.KBlock;
        for (int k0 = 0; k0 + kBlock < k; k0 += kBlock)
        {
            Dispatch<NoEpilogue>(policy, ref cr, ref ir, hasInit, ref Unsafe.Add(ref ar, k0 * (nint)aColStride), aRowStride, aColStride,
                ref Unsafe.Add(ref br, k0 * (nint)ld), ref xr, m, kBlock, n, ld);
            ir = ref cr;
            hasInit = true;
        }
        int last = k == 0 ? 0 : (k - 1) / kBlock * kBlock;
        Dispatch<TEpilogue>(policy, ref cr, ref ir, hasInit, ref Unsafe.Add(ref ar, last * (nint)aColStride), aRowStride, aColStride,
            ref Unsafe.Add(ref br, last * (nint)ld), ref xr, m, k - last, n, ld);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dispatch<TEpilogue>(KernelPolicy policy, ref float cr, ref float ir, bool hasInit, ref float ar, int aRowStride, int aColStride,
        ref float br, ref float xr, int m, int k, int n, int ld) where TEpilogue : IEpilogue
    {
        switch (policy.Path)
        {
            case VectorPath.V512: Kernel<Simd512, Vector512<float>, TEpilogue>(ref cr, ref ir, hasInit, ref ar, aRowStride, aColStride, ref br, ref xr, m, k, n, ld); break;
            case VectorPath.V256: Kernel<Simd256, Vector256<float>, TEpilogue>(ref cr, ref ir, hasInit, ref ar, aRowStride, aColStride, ref br, ref xr, m, k, n, ld); break;
            case VectorPath.V128: Kernel<Simd128, Vector128<float>, TEpilogue>(ref cr, ref ir, hasInit, ref ar, aRowStride, aColStride, ref br, ref xr, m, k, n, ld); break;
            default: Kernel<SimdScalar, float, TEpilogue>(ref cr, ref ir, hasInit, ref ar, aRowStride, aColStride, ref br, ref xr, m, k, n, ld); break;
        }
    }

    [SkipLocalsInit]
    private static void Kernel<TS, TV, TE>(ref float c, ref float init, bool hasInit, ref float a, nint aRow, nint aCol,
        ref float b, ref float aux, int m, int k, int n, int ld) where TS : ISimd<TV> where TV : struct where TE : IEpilogue
    {
        int w = TS.Count;
        int nVec = n - n % w, mFull = m - m % 4;
        // Rows in blocks of 4: the B panel [K, 4 vectors] is reused by every row block while it is hot in cache.
        int j = 0;
        for (; j + 4 * w <= nVec; j += 4 * w)
            for (int i = 0; i < mFull; i += 4) Tile4x4<TS, TV, TE>(ref c, ref init, hasInit, ref a, aRow, aCol, ref b, ref aux, i, j, k, ld);
        for (; j < nVec; j += w)
            for (int i = 0; i < mFull; i++) Tile1x1<TS, TV, TE>(ref c, ref init, hasInit, ref a, aRow, aCol, ref b, ref aux, i, j, k, ld);
        // Leftover rows (all of them when M = 1, the GEMV of batch-1 training and generation): 8 independent
        // accumulators hide the FMA latency (4 cycles × 2 ports).
        for (int i = mFull; i < m; i++)
        {
            j = 0;
            for (; j + 8 * w <= nVec; j += 8 * w) Tile1x8<TS, TV, TE>(ref c, ref init, hasInit, ref a, aRow, aCol, ref b, ref aux, i, j, k, ld);
            for (; j + 4 * w <= nVec; j += 4 * w) Tile1x4<TS, TV, TE>(ref c, ref init, hasInit, ref a, aRow, aCol, ref b, ref aux, i, j, k, ld);
            for (; j < nVec; j += w) Tile1x1<TS, TV, TE>(ref c, ref init, hasInit, ref a, aRow, aCol, ref b, ref aux, i, j, k, ld);
        }
        // Columns past the last whole vector: narrower vectors (V = 125 at 512 bits leaves 8 + 4 + 1), then width 1.
        j = nVec;
        if (w > 8 && n - j >= 8)
        {
            for (int i = 0; i < m; i++) Tile1x1<Simd256, Vector256<float>, TE>(ref c, ref init, hasInit, ref a, aRow, aCol, ref b, ref aux, i, j, k, ld);
            j += 8;
        }
        if (w > 4 && n - j >= 4)
        {
            for (int i = 0; i < m; i++) Tile1x1<Simd128, Vector128<float>, TE>(ref c, ref init, hasInit, ref a, aRow, aCol, ref b, ref aux, i, j, k, ld);
            j += 4;
        }
        if (aCol == 1 && k >= w) DotColumns<TS, TV, TE>(ref c, ref init, hasInit, ref a, aRow, ref b, ref aux, m, k, j, n, ld);
        else
            for (; j < n; j++)
                for (int i = 0; i < m; i++) Tile1x1<SimdScalar, float, TE>(ref c, ref init, hasInit, ref a, aRow, aCol, ref b, ref aux, i, j, k, ld);
    }

    /// <summary>
    /// The last columns [first, n), fewer than a vector, when A's rows are contiguous: C(i,j) = init(i,j) + A(i,:)·B(:,j),
    /// a dot product vectorized along K against B's column gathered once (the logits column past V = 64 would
    /// otherwise be a K-long chain of scalar FMAs per row).
    /// </summary>
    [SkipLocalsInit]
    private static void DotColumns<TS, TV, TE>(ref float c, ref float init, bool hasInit, ref float a, nint aRow,
        ref float b, ref float aux, int m, int k, int first, int n, int ld) where TS : ISimd<TV> where TV : struct where TE : IEpilogue
    {
        int w = TS.Count;
        Span<float> gathered = stackalloc float[k]; // k ≤ the policy's K block: Blocked hands out one block at a time
        ref float column = ref MemoryMarshal.GetReference(gathered);
        for (int j = first; j < n; j++)
        {
            for (int kk = 0; kk < k; kk++) Unsafe.Add(ref column, kk) = Unsafe.Add(ref b, (nint)kk * ld + j);
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
                for (; kk < k; kk++) sum = MathF.FusedMultiplyAdd(Unsafe.Add(ref ai, kk), Unsafe.Add(ref column, kk), sum);
                nint o = (nint)i * ld + j;
                if (hasInit) sum += Unsafe.Add(ref init, o);
                Unsafe.Add(ref c, o) = TE.Apply<SimdScalar, float>(sum, TE.UsesAux ? Unsafe.Add(ref aux, o) : 0f);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Start<TS, TV>(ref float init, bool hasInit, nint offset) where TS : ISimd<TV> where TV : struct
        => hasInit ? TS.Load(in Unsafe.Add(ref init, offset)) : TS.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TS, TV>(TV acc, ref float c, nint offset) where TS : ISimd<TV> where TV : struct
        => TS.Store(acc, ref Unsafe.Add(ref c, offset));

    /// <summary>
    /// Applies the epilogue to a finished tile, rows × vectors starting at offset, in place. One loop expands the epilogue
    /// once per tile instead of once per accumulator, which keeps large tiles within the inliner's budget (the tile is
    /// still in L1, so the extra load and store cost little).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Epilogue<TS, TV, TE>(ref float c, ref float aux, nint offset, nint ld, int rows, int vectors)
        where TS : ISimd<TV> where TV : struct where TE : IEpilogue
    {
        if (TE.IsIdentity) return;
        for (int r = 0; r < rows; r++)
            for (int v = 0; v < vectors; v++)
            {
                nint o = offset + r * ld + v * TS.Count;
                ref float target = ref Unsafe.Add(ref c, o);
                TS.Store(TE.Apply<TS, TV>(TS.Load(in target), TE.UsesAux ? TS.Load(in Unsafe.Add(ref aux, o)) : TS.Zero), ref target);
            }
    }

    [SkipLocalsInit]
    private static void Tile4x4<TS, TV, TE>(ref float c, ref float init, bool hasInit, ref float a, nint aRow, nint aCol,
        ref float b, ref float aux, int i, int j, int k, int n) where TS : ISimd<TV> where TV : struct where TE : IEpilogue
    {
        nint w = TS.Count, ldc = n;
        nint o0 = (nint)i * n + j, o1 = o0 + ldc, o2 = o1 + ldc, o3 = o2 + ldc;
        TV c00 = Start<TS, TV>(ref init, hasInit, o0), c01 = Start<TS, TV>(ref init, hasInit, o0 + w), c02 = Start<TS, TV>(ref init, hasInit, o0 + 2 * w), c03 = Start<TS, TV>(ref init, hasInit, o0 + 3 * w);
        TV c10 = Start<TS, TV>(ref init, hasInit, o1), c11 = Start<TS, TV>(ref init, hasInit, o1 + w), c12 = Start<TS, TV>(ref init, hasInit, o1 + 2 * w), c13 = Start<TS, TV>(ref init, hasInit, o1 + 3 * w);
        TV c20 = Start<TS, TV>(ref init, hasInit, o2), c21 = Start<TS, TV>(ref init, hasInit, o2 + w), c22 = Start<TS, TV>(ref init, hasInit, o2 + 2 * w), c23 = Start<TS, TV>(ref init, hasInit, o2 + 3 * w);
        TV c30 = Start<TS, TV>(ref init, hasInit, o3), c31 = Start<TS, TV>(ref init, hasInit, o3 + w), c32 = Start<TS, TV>(ref init, hasInit, o3 + 2 * w), c33 = Start<TS, TV>(ref init, hasInit, o3 + 3 * w);
        ref float a0 = ref Unsafe.Add(ref a, i * aRow);
        ref float a1 = ref Unsafe.Add(ref a0, aRow);
        ref float a2 = ref Unsafe.Add(ref a1, aRow);
        ref float a3 = ref Unsafe.Add(ref a2, aRow);
        ref float bk = ref Unsafe.Add(ref b, j);
        nint p = 0;
        for (int kk = 0; kk < k; kk++, p += aCol, bk = ref Unsafe.Add(ref bk, n))
        {
            TV b0 = TS.Load(in bk), b1 = TS.Load(in Unsafe.Add(ref bk, w)), b2 = TS.Load(in Unsafe.Add(ref bk, 2 * w)), b3 = TS.Load(in Unsafe.Add(ref bk, 3 * w));
            TV x = TS.Create(Unsafe.Add(ref a0, p));
            c00 = TS.MultiplyAdd(x, b0, c00); c01 = TS.MultiplyAdd(x, b1, c01); c02 = TS.MultiplyAdd(x, b2, c02); c03 = TS.MultiplyAdd(x, b3, c03);
            x = TS.Create(Unsafe.Add(ref a1, p));
            c10 = TS.MultiplyAdd(x, b0, c10); c11 = TS.MultiplyAdd(x, b1, c11); c12 = TS.MultiplyAdd(x, b2, c12); c13 = TS.MultiplyAdd(x, b3, c13);
            x = TS.Create(Unsafe.Add(ref a2, p));
            c20 = TS.MultiplyAdd(x, b0, c20); c21 = TS.MultiplyAdd(x, b1, c21); c22 = TS.MultiplyAdd(x, b2, c22); c23 = TS.MultiplyAdd(x, b3, c23);
            x = TS.Create(Unsafe.Add(ref a3, p));
            c30 = TS.MultiplyAdd(x, b0, c30); c31 = TS.MultiplyAdd(x, b1, c31); c32 = TS.MultiplyAdd(x, b2, c32); c33 = TS.MultiplyAdd(x, b3, c33);
        }
        Store<TS, TV>(c00, ref c, o0); Store<TS, TV>(c01, ref c, o0 + w); Store<TS, TV>(c02, ref c, o0 + 2 * w); Store<TS, TV>(c03, ref c, o0 + 3 * w);
        Store<TS, TV>(c10, ref c, o1); Store<TS, TV>(c11, ref c, o1 + w); Store<TS, TV>(c12, ref c, o1 + 2 * w); Store<TS, TV>(c13, ref c, o1 + 3 * w);
        Store<TS, TV>(c20, ref c, o2); Store<TS, TV>(c21, ref c, o2 + w); Store<TS, TV>(c22, ref c, o2 + 2 * w); Store<TS, TV>(c23, ref c, o2 + 3 * w);
        Store<TS, TV>(c30, ref c, o3); Store<TS, TV>(c31, ref c, o3 + w); Store<TS, TV>(c32, ref c, o3 + 2 * w); Store<TS, TV>(c33, ref c, o3 + 3 * w);
        Epilogue<TS, TV, TE>(ref c, ref aux, o0, ldc, 4, 4);
    }

    [SkipLocalsInit]
    private static void Tile1x8<TS, TV, TE>(ref float c, ref float init, bool hasInit, ref float a, nint aRow, nint aCol,
        ref float b, ref float aux, int i, int j, int k, int n) where TS : ISimd<TV> where TV : struct where TE : IEpilogue
    {
        nint w = TS.Count;
        nint o = (nint)i * n + j;
        TV c0 = Start<TS, TV>(ref init, hasInit, o), c1 = Start<TS, TV>(ref init, hasInit, o + w), c2 = Start<TS, TV>(ref init, hasInit, o + 2 * w), c3 = Start<TS, TV>(ref init, hasInit, o + 3 * w);
        TV c4 = Start<TS, TV>(ref init, hasInit, o + 4 * w), c5 = Start<TS, TV>(ref init, hasInit, o + 5 * w), c6 = Start<TS, TV>(ref init, hasInit, o + 6 * w), c7 = Start<TS, TV>(ref init, hasInit, o + 7 * w);
        ref float ai = ref Unsafe.Add(ref a, i * aRow);
        ref float bk = ref Unsafe.Add(ref b, j);
        nint p = 0;
        for (int kk = 0; kk < k; kk++, p += aCol, bk = ref Unsafe.Add(ref bk, n))
        {
            TV x = TS.Create(Unsafe.Add(ref ai, p));
            c0 = TS.MultiplyAdd(x, TS.Load(in bk), c0);
            c1 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, w)), c1);
            c2 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 2 * w)), c2);
            c3 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 3 * w)), c3);
            c4 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 4 * w)), c4);
            c5 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 5 * w)), c5);
            c6 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 6 * w)), c6);
            c7 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 7 * w)), c7);
        }
        Store<TS, TV>(c0, ref c, o); Store<TS, TV>(c1, ref c, o + w);
        Store<TS, TV>(c2, ref c, o + 2 * w); Store<TS, TV>(c3, ref c, o + 3 * w);
        Store<TS, TV>(c4, ref c, o + 4 * w); Store<TS, TV>(c5, ref c, o + 5 * w);
        Store<TS, TV>(c6, ref c, o + 6 * w); Store<TS, TV>(c7, ref c, o + 7 * w);
        Epilogue<TS, TV, TE>(ref c, ref aux, o, n, 1, 8);
    }

    // Four vectors of one row (the logits GEMV at V = 65): even and odd k go to two sets of accumulators, so eight
    // independent FMA chains cover the FMA latency as in the 1×8 tile.
    [SkipLocalsInit]
    private static void Tile1x4<TS, TV, TE>(ref float c, ref float init, bool hasInit, ref float a, nint aRow, nint aCol,
        ref float b, ref float aux, int i, int j, int k, int n) where TS : ISimd<TV> where TV : struct where TE : IEpilogue
    {
        nint w = TS.Count;
        nint o = (nint)i * n + j;
        TV c0 = Start<TS, TV>(ref init, hasInit, o), c1 = Start<TS, TV>(ref init, hasInit, o + w), c2 = Start<TS, TV>(ref init, hasInit, o + 2 * w), c3 = Start<TS, TV>(ref init, hasInit, o + 3 * w);
        TV d0 = TS.Zero, d1 = TS.Zero, d2 = TS.Zero, d3 = TS.Zero;
        ref float ai = ref Unsafe.Add(ref a, i * aRow);
        ref float bk = ref Unsafe.Add(ref b, j);
        nint p = 0, n2 = 2 * (nint)n;
        int kk = 0;
        for (; kk + 1 < k; kk += 2, p += 2 * aCol, bk = ref Unsafe.Add(ref bk, n2))
        {
            TV x = TS.Create(Unsafe.Add(ref ai, p));
            c0 = TS.MultiplyAdd(x, TS.Load(in bk), c0);
            c1 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, w)), c1);
            c2 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 2 * w)), c2);
            c3 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 3 * w)), c3);
            ref float bn = ref Unsafe.Add(ref bk, n);
            TV y = TS.Create(Unsafe.Add(ref ai, p + aCol));
            d0 = TS.MultiplyAdd(y, TS.Load(in bn), d0);
            d1 = TS.MultiplyAdd(y, TS.Load(in Unsafe.Add(ref bn, w)), d1);
            d2 = TS.MultiplyAdd(y, TS.Load(in Unsafe.Add(ref bn, 2 * w)), d2);
            d3 = TS.MultiplyAdd(y, TS.Load(in Unsafe.Add(ref bn, 3 * w)), d3);
        }
        if (kk < k)
        {
            TV x = TS.Create(Unsafe.Add(ref ai, p));
            c0 = TS.MultiplyAdd(x, TS.Load(in bk), c0);
            c1 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, w)), c1);
            c2 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 2 * w)), c2);
            c3 = TS.MultiplyAdd(x, TS.Load(in Unsafe.Add(ref bk, 3 * w)), c3);
        }
        Store<TS, TV>(TS.Add(c0, d0), ref c, o); Store<TS, TV>(TS.Add(c1, d1), ref c, o + w);
        Store<TS, TV>(TS.Add(c2, d2), ref c, o + 2 * w); Store<TS, TV>(TS.Add(c3, d3), ref c, o + 3 * w);
        Epilogue<TS, TV, TE>(ref c, ref aux, o, n, 1, 4);
    }

    // One vector of one row: two accumulators over alternate k halve the FMA-latency chain.
    [SkipLocalsInit]
    private static void Tile1x1<TS, TV, TE>(ref float c, ref float init, bool hasInit, ref float a, nint aRow, nint aCol,
        ref float b, ref float aux, int i, int j, int k, int n) where TS : ISimd<TV> where TV : struct where TE : IEpilogue
    {
        nint o = (nint)i * n + j;
        TV c0 = Start<TS, TV>(ref init, hasInit, o), c1 = TS.Zero;
        ref float ai = ref Unsafe.Add(ref a, i * aRow);
        ref float bk = ref Unsafe.Add(ref b, j);
        nint p = 0, n2 = 2 * (nint)n;
        int kk = 0;
        for (; kk + 1 < k; kk += 2, p += 2 * aCol, bk = ref Unsafe.Add(ref bk, n2))
        {
            c0 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref ai, p)), TS.Load(in bk), c0);
            c1 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref ai, p + aCol)), TS.Load(in Unsafe.Add(ref bk, n)), c1);
        }
        if (kk < k) c0 = TS.MultiplyAdd(TS.Create(Unsafe.Add(ref ai, p)), TS.Load(in bk), c0);
        Store<TS, TV>(TS.Add(c0, c1), ref c, o);
        Epilogue<TS, TV, TE>(ref c, ref aux, o, n, 1, 1);
    }
}
