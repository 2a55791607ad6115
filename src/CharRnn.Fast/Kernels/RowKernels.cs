using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// Row operations of the one-hot input stage and the bias terms: the one-hot input never becomes a matrix; its
/// product with Wxh is a row gather from Wxhᵀ, and its gradient a row scatter-add. Also the block moves the packs and
/// the GEMM's transposed A are built from: transposes and strided copies.
/// </summary>
internal static class RowKernels
{
    /// <summary>output[r,:] = table[ids[r],:] + bias  — the one-hot input product Wxh·x + bh.</summary>
    /// <param name="output">[R,H] row-major</param>
    /// <param name="table">[V,H] row-major (Wxhᵀ)</param>
    /// <param name="ids">[R] token ids, each in [0,V)</param>
    /// <param name="bias">[H]</param>
    public static void GatherRowsAddBias(KernelPolicy policy, Span<float> output, ReadOnlySpan<float> table, ReadOnlySpan<int> ids, ReadOnlySpan<float> bias)
    {
        int h = bias.Length;
        for (int r = 0; r < ids.Length; r++)
        {
            var row = table.Slice(ids[r] * h, h);
            Elementwise.Apply(policy, new SumOperator(), output.Slice(r * h, h), MemoryMarshalHelpers.AsWritable(row), MemoryMarshalHelpers.AsWritable(bias));
        }
    }

    /// <summary>
    /// table[ids[r],:] += rows[r,:] and sums[:] += Σ_r rows[r,:] in one pass over the rows — the one-hot layer's input
    /// weight and bias gradients (the rows, T·B × G·H, are read once instead of twice).
    /// </summary>
    /// <param name="table">[V,H] row-major</param>
    /// <param name="ids">[R]</param>
    /// <param name="rows">[R,H] row-major</param>
    /// <param name="sums">[H]</param>
    public static void ScatterAddRowsAndSum(KernelPolicy policy, Span<float> table, ReadOnlySpan<int> ids, ReadOnlySpan<float> rows, int h, Span<float> sums)
    {
        for (int r = 0; r < ids.Length; r++)
            Elementwise.Apply(policy, new AddToBothOperator(), table.Slice(ids[r] * h, h), sums, MemoryMarshalHelpers.AsWritable(rows.Slice(r * h, h)));
    }

    /// <summary>sums[:] += Σ_r x[r,:]  — bias gradients (dbh = Σ draw, dby = Σ dlogits).</summary>
    /// <param name="sums">[N]</param>
    /// <param name="x">[R,N] row-major</param>
    public static void AddColumnSums(KernelPolicy policy, Span<float> sums, ReadOnlySpan<float> x)
        => AddColumnSums(policy, sums, x, sums.Length);

    /// <summary>sums[:] += Σ_r x[r·stride .. r·stride + N)  — the column sums of N columns of wider rows (GRU's db_hn, the n block of the recurrent gate gradients).</summary>
    /// <param name="sums">[N]</param>
    /// <param name="x">[R, stride] row-major from the first summed column; the last row may end after its N floats</param>
    public static void AddColumnSums(KernelPolicy policy, Span<float> sums, ReadOnlySpan<float> x, int stride)
    {
        int n = sums.Length;
        if (stride < n) throw new ArgumentOutOfRangeException(nameof(stride), stride, $"rows of {stride} floats cannot hold {n} columns");
        for (long start = 0; start + n <= x.Length; start += stride)
            Elementwise.Apply(policy, new AddOperator(), sums, MemoryMarshalHelpers.AsWritable(x.Slice((int)start, n)));
    }

    /// <summary>output[r,:] = row for every r  — the bias a GEMM then accumulates onto.</summary>
    /// <param name="output">[R,N] row-major</param>
    /// <param name="row">[N]</param>
    public static void BroadcastRows(Span<float> output, ReadOnlySpan<float> row)
    {
        for (int r = 0; r < output.Length / row.Length; r++) row.CopyTo(output.Slice(r * row.Length, row.Length));
    }

    /// <summary>output[c,r] = input[r,c]  — packs Whh → Whhᵀ and Why → Whyᵀ so every GEMM runs in axpy form.</summary>
    /// <param name="output">[C,R] row-major</param>
    /// <param name="input">[R,C] row-major</param>
    public static void Transpose(KernelPolicy policy, Span<float> output, ReadOnlySpan<float> input, int rows, int columns)
        => Transpose(policy, output, rows, input, rows, columns);

    /// <summary>output[c·outputStride + r] = input[r,c]: a transpose into rows of <paramref name="outputStride"/> ≥ R floats (a packed panel).</summary>
    /// <param name="output">[C,outputStride] row-major</param>
    /// <param name="input">[R,C] row-major</param>
    public static void Transpose(KernelPolicy policy, Span<float> output, int outputStride, ReadOnlySpan<float> input, int rows, int columns)
        => Transpose(policy, output, outputStride, input, columns, rows, columns);

    /// <summary>output[c·outputStride + r] = input[r·inputStride + c]: a transpose of a block of a wider matrix.</summary>
    /// <param name="output">[C,outputStride] row-major</param>
    /// <param name="input">[R,inputStride] row-major, inputStride ≥ C</param>
    public static void Transpose(KernelPolicy policy, Span<float> output, int outputStride, ReadOnlySpan<float> input, int inputStride, int rows, int columns)
    {
        if (inputStride < columns || outputStride < rows || (rows > 0 && columns > 0
            && (input.Length < (long)(rows - 1) * inputStride + columns || output.Length < (long)(columns - 1) * outputStride + rows)))
            throw new ArgumentException("transpose operands are too short");
        ref float o = ref MemoryMarshal.GetReference(output);
        ref float i = ref MemoryMarshal.GetReference(input);
        // 16×16 blocks keep a block's 16 source and 16 destination lines in L1 (and off one cache set at 4 KiB strides);
        // inside them 8 × 8 tiles with 256-bit shuffles on the wide paths, 4 × 4 with 128-bit ones otherwise
        const int Block = 16;
        bool vectors = Sse.IsSupported && policy.Path != VectorPath.Scalar;
        int tile = vectors && Avx.IsSupported && policy.Path is VectorPath.V256 or VectorPath.V512 ? 8 : 4;
        int rowsT = vectors ? rows - rows % tile : 0, columnsT = vectors ? columns - columns % tile : 0;
        for (int r0 = 0; r0 < rows; r0 += Block)
            for (int c0 = 0; c0 < columns; c0 += Block)
            {
                int rEnd = Math.Min(r0 + Block, rows), cEnd = Math.Min(c0 + Block, columns);
                for (int r = r0; r < rEnd; r += tile)
                    for (int c = c0; c < cEnd; c += tile)
                    {
                        if (r + tile <= rowsT && c + tile <= columnsT)
                        {
                            if (tile == 8) Transpose8x8(ref o, ref i, r, c, outputStride, inputStride);
                            else Transpose4x4(ref o, ref i, r, c, outputStride, inputStride);
                        }
                        else
                            for (int rr = r; rr < Math.Min(r + tile, rEnd); rr++)
                                for (int cc = c; cc < Math.Min(c + tile, cEnd); cc++)
                                    Unsafe.Add(ref o, (nint)cc * outputStride + rr) = Unsafe.Add(ref i, (nint)rr * inputStride + cc);
                    }
            }
    }

    /// <summary>
    /// output[r·outputStride + c] = input[r·inputStride + c] for r &lt; R, c &lt; C: a block's rows copied between strided
    /// layouts (the rows of a packed panel) in whole vectors, then single floats, with no call per row (a panel row at
    /// 256 bits is 16 floats, and a library copy per row cost about as much as the copy itself).
    /// </summary>
    /// <param name="output">[R, outputStride] row-major, outputStride ≥ C</param>
    /// <param name="input">[R, inputStride] row-major, inputStride ≥ C</param>
    public static void CopyBlock(KernelPolicy policy, Span<float> output, int outputStride, ReadOnlySpan<float> input, int inputStride, int rows, int columns)
    {
        if (rows <= 0 || columns <= 0) return;
        if (outputStride < columns || inputStride < columns || output.Length < (long)(rows - 1) * outputStride + columns
            || input.Length < (long)(rows - 1) * inputStride + columns)
            throw new ArgumentException("block copy operands are too short");
        ref float o = ref MemoryMarshal.GetReference(output);
        ref float i = ref MemoryMarshal.GetReference(input);
        switch (policy.Path)
        {
            case VectorPath.V512: CopyBlock<Simd512, Vector512<float>>(ref o, outputStride, ref i, inputStride, rows, columns); break;
            case VectorPath.V256: CopyBlock<Simd256, Vector256<float>>(ref o, outputStride, ref i, inputStride, rows, columns); break;
            case VectorPath.V128: CopyBlock<Simd128, Vector128<float>>(ref o, outputStride, ref i, inputStride, rows, columns); break;
            default: CopyBlock<SimdScalar, float>(ref o, outputStride, ref i, inputStride, rows, columns); break;
        }
    }

    private static void CopyBlock<TS, TV>(ref float output, nint outputStride, ref float input, nint inputStride, int rows, int columns)
        where TS : ISimd<TV> where TV : struct
    {
        int w = TS.Count;
        for (int r = 0; r < rows; r++, output = ref Unsafe.Add(ref output, outputStride), input = ref Unsafe.Add(ref input, inputStride))
        {
            int c = 0;
            for (; c + w <= columns; c += w) TS.Store(TS.Load(in Unsafe.Add(ref input, c)), ref Unsafe.Add(ref output, c));
            for (; c < columns; c++) Unsafe.Add(ref output, c) = Unsafe.Add(ref input, c);
        }
    }

    // Eight rows of eight floats become eight columns: unpack pairs of rows (within 128-bit lanes), shuffle pairs of
    // pairs, then join the lanes of rows 0–3 with those of rows 4–7.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref float output, ref float input, int r, int c, int outputStride, int inputStride)
    {
        ref float src = ref Unsafe.Add(ref input, (nint)r * inputStride + c);
        nint si = inputStride, so = outputStride;
        var r0 = Vector256.LoadUnsafe(ref src);
        var r1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, si));
        var r2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, 2 * si));
        var r3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, 3 * si));
        var r4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, 4 * si));
        var r5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, 5 * si));
        var r6 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, 6 * si));
        var r7 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, 7 * si));
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1); // r0[0] r1[0] r0[1] r1[1] | columns 4, 5; columns 2, 3 | 6, 7
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE); // rows 0–3 of column 0 | 4; of 1 | 5
        Vector256<float> s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE); // columns 2 | 6; 3 | 7
        Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE); // rows 4–7 likewise
        Vector256<float> s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
        ref float dst = ref Unsafe.Add(ref output, (nint)c * outputStride + r);
        Avx.Permute2x128(s0, s4, 0x20).StoreUnsafe(ref dst);
        Avx.Permute2x128(s1, s5, 0x20).StoreUnsafe(ref Unsafe.Add(ref dst, so));
        Avx.Permute2x128(s2, s6, 0x20).StoreUnsafe(ref Unsafe.Add(ref dst, 2 * so));
        Avx.Permute2x128(s3, s7, 0x20).StoreUnsafe(ref Unsafe.Add(ref dst, 3 * so));
        Avx.Permute2x128(s0, s4, 0x31).StoreUnsafe(ref Unsafe.Add(ref dst, 4 * so));
        Avx.Permute2x128(s1, s5, 0x31).StoreUnsafe(ref Unsafe.Add(ref dst, 5 * so));
        Avx.Permute2x128(s2, s6, 0x31).StoreUnsafe(ref Unsafe.Add(ref dst, 6 * so));
        Avx.Permute2x128(s3, s7, 0x31).StoreUnsafe(ref Unsafe.Add(ref dst, 7 * so));
    }

    // Four rows a, b, c, d of four floats become four columns: unpack pairs, then join halves.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4x4(ref float output, ref float input, int r, int c, int outputStride, int inputStride)
    {
        ref float src = ref Unsafe.Add(ref input, (nint)r * inputStride + c);
        var a = Vector128.LoadUnsafe(ref src);
        var b = Vector128.LoadUnsafe(ref Unsafe.Add(ref src, inputStride));
        var cc = Vector128.LoadUnsafe(ref Unsafe.Add(ref src, 2 * (nint)inputStride));
        var d = Vector128.LoadUnsafe(ref Unsafe.Add(ref src, 3 * (nint)inputStride));
        var ab01 = Sse.UnpackLow(a, b);    // a0 b0 a1 b1
        var cd01 = Sse.UnpackLow(cc, d);   // c0 d0 c1 d1
        var ab23 = Sse.UnpackHigh(a, b);   // a2 b2 a3 b3
        var cd23 = Sse.UnpackHigh(cc, d);  // c2 d2 c3 d3
        ref float dst = ref Unsafe.Add(ref output, (nint)c * outputStride + r);
        Sse.MoveLowToHigh(ab01, cd01).StoreUnsafe(ref dst);                                           // a0 b0 c0 d0
        Sse.MoveHighToLow(cd01, ab01).StoreUnsafe(ref Unsafe.Add(ref dst, outputStride));             // a1 b1 c1 d1
        Sse.MoveLowToHigh(ab23, cd23).StoreUnsafe(ref Unsafe.Add(ref dst, 2 * (nint)outputStride));   // a2 b2 c2 d2
        Sse.MoveHighToLow(cd23, ab23).StoreUnsafe(ref Unsafe.Add(ref dst, 3 * (nint)outputStride));   // a3 b3 c3 d3
    }
}

/// <summary>The element-wise driver takes writable spans for uniformity; read-only operands are never written.</summary>
internal static class MemoryMarshalHelpers
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Span<float> AsWritable(ReadOnlySpan<float> span)
        => System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(span), span.Length);
}
