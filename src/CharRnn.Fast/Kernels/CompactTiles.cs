using System.Runtime.CompilerServices;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// Where a <see cref="CompactGemv"/> product reads: x's prepared rows (and int8 row scales), B's cells (and int8 column
/// scales), the number of groups of k, and whether C starts from init.
/// </summary>
internal readonly ref struct CompactOperands
{
    public CompactOperands(CompactActivations x, CompactMatrix b, bool hasInit)
    {
        X = ref x.Data;
        XRow = x.RowBytes;
        RowScales = ref x.Scales;
        W = ref b.Cells;
        Ldw = (nint)b.Stride * 4;
        ColumnScales = ref b.Scales;
        Groups = b.Groups;
        HasInit = hasInit;
    }

    /// <summary>Row 0, group 0 of x; rows <see cref="XRow"/> bytes apart.</summary>
    public readonly ref byte X;
    public readonly nint XRow;
    public readonly ref float RowScales;

    /// <summary>Group 0, column 0 of B; groups <see cref="Ldw"/> bytes apart, columns 4.</summary>
    public readonly ref byte W;
    public readonly nint Ldw;
    public readonly ref float ColumnScales;
    public readonly int Groups;
    public readonly bool HasInit;
}

/// <summary>The register tiles of <see cref="CompactGemv"/>.</summary>
internal static class CompactTiles
{
    /// <summary>
    /// <typeparamref name="TR"/> rows × <typeparamref name="TC"/> vectors of C = TE(init + x·B) at rows [i, i + TR) and
    /// columns [j, j + TC·Count): up to 4 × 4, or 1 × 8 (the GEMV). c and init point at C(i,j), rows
    /// <paramref name="ldc"/> apart. Per group of k each vector of weights is loaded once and multiplied into every row
    /// of the tile, so the weights stream from memory once per call for up to 4 rows; each (row, vector) has its own
    /// accumulator. Every lane (column) runs the same sequence of operations whatever the tile: a row's result does not
    /// depend on the tile, the split of the columns or the other rows.
    /// </summary>
    [SkipLocalsInit]
    public static void Tile<TD, TS, TV, TE, TR, TC>(ref float c, ref float init, nint ldc, scoped in CompactOperands o, int i, int j)
        where TD : ICompactDot<TV> where TS : ISimd<TV> where TV : struct where TE : IEpilogue where TR : ICount where TC : ICount
    {
        int rows = TR.Value, vectors = TC.Value, groups = o.Groups;
        if (rows > 1 && vectors > 4) throw new NotSupportedException("tiles wider than 4 vectors have one row");
        nint vb = TS.Count * 4, xg = TD.InputGroupBytes, ldw = o.Ldw; // bytes: a vector of cells, a row's group of x, a group row of B
        ref byte x0 = ref Unsafe.Add(ref o.X, i * o.XRow);
        ref byte x1 = ref Unsafe.Add(ref x0, rows > 1 ? o.XRow : 0);
        ref byte x2 = ref Unsafe.Add(ref x1, rows > 2 ? o.XRow : 0);
        ref byte x3 = ref Unsafe.Add(ref x2, rows > 3 ? o.XRow : 0);
        ref byte wg = ref Unsafe.Add(ref o.W, (nint)j * 4);
        TV a00 = TS.Zero, a01 = TS.Zero, a02 = TS.Zero, a03 = TS.Zero, a04 = TS.Zero, a05 = TS.Zero, a06 = TS.Zero, a07 = TS.Zero;
        TV a10 = TS.Zero, a11 = TS.Zero, a12 = TS.Zero, a13 = TS.Zero;
        TV a20 = TS.Zero, a21 = TS.Zero, a22 = TS.Zero, a23 = TS.Zero;
        TV a30 = TS.Zero, a31 = TS.Zero, a32 = TS.Zero, a33 = TS.Zero;
        nint p = 0;
        for (int g = 0; g < groups; g++, p += xg, wg = ref Unsafe.Add(ref wg, ldw))
        {
            // row 0 loads each vector of weights as it first needs it (with one row, none has to stay in a register)
            var x = TD.LoadInput(in Unsafe.Add(ref x0, p));
            var w0 = TD.LoadWeights(in wg);
            a00 = TD.Accumulate(a00, x, w0);
            VectorPair<TV> w1 = default, w2 = default, w3 = default;
            if (vectors > 1) { w1 = TD.LoadWeights(in Unsafe.Add(ref wg, vb)); a01 = TD.Accumulate(a01, x, w1); }
            if (vectors > 2) { w2 = TD.LoadWeights(in Unsafe.Add(ref wg, 2 * vb)); a02 = TD.Accumulate(a02, x, w2); }
            if (vectors > 3) { w3 = TD.LoadWeights(in Unsafe.Add(ref wg, 3 * vb)); a03 = TD.Accumulate(a03, x, w3); }
            if (vectors > 4)
            {
                a04 = TD.Accumulate(a04, x, TD.LoadWeights(in Unsafe.Add(ref wg, 4 * vb)));
                a05 = TD.Accumulate(a05, x, TD.LoadWeights(in Unsafe.Add(ref wg, 5 * vb)));
                a06 = TD.Accumulate(a06, x, TD.LoadWeights(in Unsafe.Add(ref wg, 6 * vb)));
                a07 = TD.Accumulate(a07, x, TD.LoadWeights(in Unsafe.Add(ref wg, 7 * vb)));
            }
            if (rows > 1)
            {
                x = TD.LoadInput(in Unsafe.Add(ref x1, p));
                a10 = TD.Accumulate(a10, x, w0);
                if (vectors > 1) a11 = TD.Accumulate(a11, x, w1);
                if (vectors > 2) a12 = TD.Accumulate(a12, x, w2);
                if (vectors > 3) a13 = TD.Accumulate(a13, x, w3);
            }
            if (rows > 2)
            {
                x = TD.LoadInput(in Unsafe.Add(ref x2, p));
                a20 = TD.Accumulate(a20, x, w0);
                if (vectors > 1) a21 = TD.Accumulate(a21, x, w1);
                if (vectors > 2) a22 = TD.Accumulate(a22, x, w2);
                if (vectors > 3) a23 = TD.Accumulate(a23, x, w3);
            }
            if (rows > 3)
            {
                x = TD.LoadInput(in Unsafe.Add(ref x3, p));
                a30 = TD.Accumulate(a30, x, w0);
                if (vectors > 1) a31 = TD.Accumulate(a31, x, w1);
                if (vectors > 2) a32 = TD.Accumulate(a32, x, w2);
                if (vectors > 3) a33 = TD.Accumulate(a33, x, w3);
            }
        }
        ref float rs = ref Unsafe.Add(ref o.RowScales, i);
        ref float cs = ref Unsafe.Add(ref o.ColumnScales, j);
        bool h = o.HasInit;
        Finish<TD, TS, TV>(a00, ref c, ref init, h, ref rs, ref cs, 0, 0, ldc);
        if (vectors > 1) Finish<TD, TS, TV>(a01, ref c, ref init, h, ref rs, ref cs, 0, 1, ldc);
        if (vectors > 2) Finish<TD, TS, TV>(a02, ref c, ref init, h, ref rs, ref cs, 0, 2, ldc);
        if (vectors > 3) Finish<TD, TS, TV>(a03, ref c, ref init, h, ref rs, ref cs, 0, 3, ldc);
        if (vectors > 4)
        {
            Finish<TD, TS, TV>(a04, ref c, ref init, h, ref rs, ref cs, 0, 4, ldc);
            Finish<TD, TS, TV>(a05, ref c, ref init, h, ref rs, ref cs, 0, 5, ldc);
            Finish<TD, TS, TV>(a06, ref c, ref init, h, ref rs, ref cs, 0, 6, ldc);
            Finish<TD, TS, TV>(a07, ref c, ref init, h, ref rs, ref cs, 0, 7, ldc);
        }
        if (rows > 1)
        {
            Finish<TD, TS, TV>(a10, ref c, ref init, h, ref rs, ref cs, 1, 0, ldc);
            if (vectors > 1) Finish<TD, TS, TV>(a11, ref c, ref init, h, ref rs, ref cs, 1, 1, ldc);
            if (vectors > 2) Finish<TD, TS, TV>(a12, ref c, ref init, h, ref rs, ref cs, 1, 2, ldc);
            if (vectors > 3) Finish<TD, TS, TV>(a13, ref c, ref init, h, ref rs, ref cs, 1, 3, ldc);
        }
        if (rows > 2)
        {
            Finish<TD, TS, TV>(a20, ref c, ref init, h, ref rs, ref cs, 2, 0, ldc);
            if (vectors > 1) Finish<TD, TS, TV>(a21, ref c, ref init, h, ref rs, ref cs, 2, 1, ldc);
            if (vectors > 2) Finish<TD, TS, TV>(a22, ref c, ref init, h, ref rs, ref cs, 2, 2, ldc);
            if (vectors > 3) Finish<TD, TS, TV>(a23, ref c, ref init, h, ref rs, ref cs, 2, 3, ldc);
        }
        if (rows > 3)
        {
            Finish<TD, TS, TV>(a30, ref c, ref init, h, ref rs, ref cs, 3, 0, ldc);
            if (vectors > 1) Finish<TD, TS, TV>(a31, ref c, ref init, h, ref rs, ref cs, 3, 1, ldc);
            if (vectors > 2) Finish<TD, TS, TV>(a32, ref c, ref init, h, ref rs, ref cs, 3, 2, ldc);
            if (vectors > 3) Finish<TD, TS, TV>(a33, ref c, ref init, h, ref rs, ref cs, 3, 3, ldc);
        }
        GemmTiles.Epilogue<TS, TV, TE>(ref c, ref c, ldc, rows, vectors);
    }

    /// <summary>
    /// C(r,v) = init + s_x(r)·s_w·Σ (int8: the integer sum to float, times the product of the scales rounded once, plus
    /// init in one multiply-add: fused, or multiplied then added on x86's 128-bit and scalar paths) or init + Σ (bf16).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish<TD, TS, TV>(TV acc, ref float c, ref float init, bool hasInit, ref float rowScales, ref float columnScales, int r, int v, nint ldc)
        where TD : ICompactDot<TV> where TS : ISimd<TV> where TV : struct
    {
        nint at = r * ldc + v * TS.Count;
        TV start = hasInit ? TS.Load(in Unsafe.Add(ref init, at)) : TS.Zero;
        TV y = TD.Scaled
            ? TS.MultiplyAdd(TD.ToFloat(acc), TS.Multiply(TS.Create(Unsafe.Add(ref rowScales, r)), TS.Load(in Unsafe.Add(ref columnScales, v * TS.Count))), start)
            : TS.Add(TD.ToFloat(acc), start);
        TS.Store(y, ref Unsafe.Add(ref c, at));
    }
}
