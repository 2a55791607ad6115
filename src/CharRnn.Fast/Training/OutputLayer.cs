using CharRnn.Fast.Kernels;

namespace CharRnn.Fast.Training;

/// <summary>y = Why·h + by for all T·B positions at once (one GEMM), and its backward pass (three GEMM-shaped updates).</summary>
internal static class OutputLayer
{
    /// <summary>y[R,O] = h[R,H]·Whyᵀ + by.</summary>
    /// <param name="y">[R,O]</param>
    /// <param name="h">[R,H]</param>
    /// <param name="whyT">[H,O], Whyᵀ</param>
    /// <param name="by">[O]</param>
    public static void Forward(KernelPolicy policy, Span<float> y, ReadOnlySpan<float> h, PackedMatrix whyT, ReadOnlySpan<float> by, int rows, int hidden)
    {
        int o = by.Length;
        RowKernels.BroadcastRows(y.Slice(0, rows * o), by);
        Gemm.MultiplyAdd(policy, y, h, whyT, 0, rows, hidden);
    }

    /// <summary>dWhy += dyᵀ·h;  dby += Σ dy;  dh = dy·Why.</summary>
    /// <param name="dh">[R,H] overwritten</param>
    /// <param name="dWhy">[O,H]</param>
    /// <param name="dBy">[O]</param>
    /// <param name="dy">[R,O]</param>
    /// <param name="h">[R,H]: rows [hFirstRow, hFirstRow + R) of a packed matrix</param>
    /// <param name="why">[O,H]</param>
    public static void Backward(KernelPolicy policy, Span<float> dh, Span<float> dWhy, Span<float> dBy, ReadOnlySpan<float> dy, PackedMatrix h, int hFirstRow,
        PackedMatrix why, int rows)
    {
        int o = dBy.Length;
        Gemm.MultiplyTransposedAAdd(policy, dWhy, dy, h, hFirstRow, o, rows);
        RowKernels.AddColumnSums(policy, dBy, dy.Slice(0, rows * o));
        Gemm.Multiply(policy, dh, dy, why, rows, o);
    }
}
