using System.Runtime.CompilerServices;

namespace CharRnn.Fast.Kernels;

/// <summary>out = a + b.   Operands: (out, a, b).</summary>
internal readonly struct SumOperator : IElementwiseOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<TS, TV>(ref float output, ref float a, ref float b, ref float unused3) where TS : ISimd<TV> where TV : struct
        => TS.Store(TS.Add(TS.Load(in a), TS.Load(in b)), ref output);
}

/// <summary>
/// Row operations of the one-hot input stage and the bias terms: the one-hot input never becomes a matrix; its
/// product with Wxh is a row gather from Wxhᵀ, and its gradient a row scatter-add.
/// </summary>
internal static class RowKernels
{
    /// <summary>output[r,:] = table[ids[r],:] + bias  — the one-hot input product Wxh·x + bh.</summary>
    /// <param name="output">[R,H] row-major</param>
    /// <param name="table">[V,H] row-major (Wxhᵀ)</param>
    /// <param name="ids">[R] token ids, each in [0,V)</param>
    /// <param name="bias">[H]</param>
    public static void GatherRowsAddBias(Span<float> output, ReadOnlySpan<float> table, ReadOnlySpan<int> ids, ReadOnlySpan<float> bias)
    {
        int h = bias.Length;
        for (int r = 0; r < ids.Length; r++)
        {
            var row = table.Slice(ids[r] * h, h);
            Elementwise.Apply(new SumOperator(), output.Slice(r * h, h), MemoryMarshalHelpers.AsWritable(row), MemoryMarshalHelpers.AsWritable(bias));
        }
    }

    /// <summary>table[ids[r],:] += rows[r,:]  — the gradient of the row gather (dWxhᵀ rows += draw_t).</summary>
    /// <param name="table">[V,H] row-major</param>
    /// <param name="ids">[R]</param>
    /// <param name="rows">[R,H] row-major</param>
    public static void ScatterAddRows(Span<float> table, ReadOnlySpan<int> ids, ReadOnlySpan<float> rows, int h)
    {
        for (int r = 0; r < ids.Length; r++)
            Elementwise.Apply(new AddOperator(), table.Slice(ids[r] * h, h), MemoryMarshalHelpers.AsWritable(rows.Slice(r * h, h)));
    }

    /// <summary>sums[:] += Σ_r x[r,:]  — bias gradients (dbh = Σ draw, dby = Σ dlogits).</summary>
    /// <param name="sums">[N]</param>
    /// <param name="x">[R,N] row-major</param>
    public static void AddColumnSums(Span<float> sums, ReadOnlySpan<float> x)
    {
        int n = sums.Length;
        for (int r = 0; r < x.Length / n; r++)
            Elementwise.Apply(new AddOperator(), sums, MemoryMarshalHelpers.AsWritable(x.Slice(r * n, n)));
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
    public static void Transpose(Span<float> output, ReadOnlySpan<float> input, int rows, int columns)
    {
        const int Block = 16; // a 16×16 tile of each side stays in L1
        for (int r0 = 0; r0 < rows; r0 += Block)
            for (int c0 = 0; c0 < columns; c0 += Block)
            {
                int rEnd = Math.Min(r0 + Block, rows), cEnd = Math.Min(c0 + Block, columns);
                for (int r = r0; r < rEnd; r++)
                    for (int c = c0; c < cEnd; c++)
                        output[c * rows + r] = input[r * columns + c];
            }
    }
}

/// <summary>The element-wise driver takes writable spans for uniformity; read-only operands are never written.</summary>
internal static class MemoryMarshalHelpers
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Span<float> AsWritable(ReadOnlySpan<float> span)
        => System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(span), span.Length);
}
