using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Training;

/// <summary>
/// The recurrence h_t = act(Wxh·x_t + bh + Whh·h_{t−1}) through T steps of B streams, forward and backward: the
/// only sequential work of a training step. Each step is one fused cell — a GEMM whose accumulators start from the
/// input term and whose epilogue applies the nonlinearity (forward) or its derivative (backward).
/// Shared by the character model (one-hot input) and the dense-input model.
/// </summary>
internal static class RecurrentLayer
{
    /// <summary>
    /// Forward through time. On entry hs[0] is the carried state and hs[t+1] holds the input term Wxh·x_t + bh; on
    /// exit hs[t+1] = act(hs[t+1] + hPrev_t·Whhᵀ). Where <paramref name="resets"/> marks (t,b), the state entering
    /// step t of stream b is zero: hPrev_t is then a masked copy kept in <paramref name="maskedPrev"/>.
    /// </summary>
    /// <param name="hs">[T+1,B,H]</param>
    /// <param name="maskedPrev">[T,B,H], used only when resets are present</param>
    /// <param name="whhT">[H,H], Whhᵀ</param>
    /// <param name="resets">[T,B] or empty: true where the state entering (t,b) is reset to zero</param>
    public static void Forward(KernelPolicy policy, Span<float> hs, Span<float> maskedPrev, PackedMatrix whhT, ReadOnlySpan<bool> resets,
        int steps, int batch, int hidden, Nonlinearity act)
    {
        int bh = batch * hidden;
        for (int t = 0; t < steps; t++)
        {
            ReadOnlySpan<float> prev = PreviousState(hs, maskedPrev, resets, t, batch, hidden);
            var cur = hs.Slice((t + 1) * bh, bh);
            var a = StridedMatrix.RowMajor(prev, batch, hidden);
            if (act == Nonlinearity.Tanh) Gemm.Run<TanhEpilogue>(policy, cur, cur, a, whhT, 0, default);
            else Gemm.Run<ReluEpilogue>(policy, cur, cur, a, whhT, 0, default);
        }
    }

    /// <summary>
    /// <see cref="Forward"/> for one thread's columns [first, end) of every h_t (no resets): each thread keeps its slice of
    /// Whhᵀ hot in its own cache and all meet at <paramref name="barrier"/> after each step, since step t+1 reads all of h_t.
    /// </summary>
    public static void ForwardColumns(KernelPolicy policy, Span<float> hs, PackedMatrix whhT, int steps, int batch, int hidden, Nonlinearity act,
        int first, int end, SpinBarrier barrier)
    {
        int bh = batch * hidden;
        for (int t = 0; t < steps; t++)
        {
            ReadOnlySpan<float> prev = hs.Slice(t * bh, bh);
            var cur = hs.Slice((t + 1) * bh, bh);
            var a = StridedMatrix.RowMajor(prev, batch, hidden);
            if (act == Nonlinearity.Tanh) Gemm.RunColumns<TanhEpilogue>(policy, cur, cur, a, whhT, 0, default, first, end);
            else Gemm.RunColumns<ReluEpilogue>(policy, cur, cur, a, whhT, 0, default, first, end);
            barrier.SignalAndWait();
        }
    }

    /// <summary><see cref="Backward"/> for one thread's columns [first, end) of every draw_t (no resets), meeting at the barrier each step.</summary>
    public static void BackwardColumns(KernelPolicy policy, Span<float> draw, ReadOnlySpan<float> hs, PackedMatrix whh, int steps, int batch, int hidden, Nonlinearity act,
        int first, int end, SpinBarrier barrier)
    {
        int bh = batch * hidden;
        for (int t = steps - 1; t >= 0; t--)
        {
            var cur = draw.Slice(t * bh, bh);
            var h = hs.Slice((t + 1) * bh, bh);
            ReadOnlySpan<float> next = t + 1 < steps ? draw.Slice((t + 1) * bh, bh) : default;
            int k = t + 1 < steps ? hidden : 0;
            var a = StridedMatrix.RowMajor(next, batch, k);
            if (act == Nonlinearity.Tanh) Gemm.RunColumns<TanhGradientEpilogue>(policy, cur, cur, a, whh, 0, h, first, end);
            else Gemm.RunColumns<ReluGradientEpilogue>(policy, cur, cur, a, whh, 0, h, first, end);
            barrier.SignalAndWait();
        }
    }

    /// <summary>h_{t−1} as step t sees it: hs[t], or its copy with reset streams zeroed.</summary>
    public static ReadOnlySpan<float> PreviousState(Span<float> hs, Span<float> maskedPrev, ReadOnlySpan<bool> resets, int t, int batch, int hidden)
    {
        int bh = batch * hidden;
        var prev = hs.Slice(t * bh, bh);
        if (resets.IsEmpty || !resets.Slice(t * batch, batch).Contains(true)) return prev;
        var masked = maskedPrev.Slice(t * bh, bh);
        prev.CopyTo(masked);
        for (int b = 0; b < batch; b++)
            if (resets[t * batch + b]) masked.Slice(b * hidden, hidden).Clear();
        return masked;
    }

    /// <summary>
    /// Backward through time. On entry draw[t] holds dL/dh_t from the output layer; on exit
    /// draw[t] = act′(h_t) ⊙ (dL/dh_t + draw[t+1]·Whh), the gradient at the pre-activation. No gradient crosses a reset.
    /// </summary>
    /// <param name="draw">[T,B,H]</param>
    /// <param name="hs">[T+1,B,H] states from <see cref="Forward"/></param>
    /// <param name="whh">[H,H]</param>
    /// <param name="scratch">[B,H]</param>
    public static void Backward(KernelPolicy policy, Span<float> draw, ReadOnlySpan<float> hs, PackedMatrix whh, Span<float> scratch, ReadOnlySpan<bool> resets,
        int steps, int batch, int hidden, Nonlinearity act)
    {
        int bh = batch * hidden;
        for (int t = steps - 1; t >= 0; t--)
        {
            var cur = draw.Slice(t * bh, bh);
            var h = hs.Slice((t + 1) * bh, bh);
            ReadOnlySpan<float> next = default;
            int k = 0;
            if (t + 1 < steps)
            {
                k = hidden;
                next = draw.Slice((t + 1) * bh, bh);
                if (!resets.IsEmpty && resets.Slice((t + 1) * batch, batch).Contains(true))
                {
                    next.CopyTo(scratch);
                    for (int b = 0; b < batch; b++)
                        if (resets[(t + 1) * batch + b]) scratch.Slice(b * hidden, hidden).Clear();
                    next = scratch;
                }
            }
            // backprop through the nonlinearity, fused with the recurrent term draw_{t+1}·Whh
            var a = StridedMatrix.RowMajor(next, batch, k);
            if (act == Nonlinearity.Tanh) Gemm.Run<TanhGradientEpilogue>(policy, cur, cur, a, whh, 0, h);
            else Gemm.Run<ReluGradientEpilogue>(policy, cur, cur, a, whh, 0, h);
        }
    }

    /// <summary>dWhh += Σ_t draw_tᵀ·h_{t−1} as one GEMM over K = T·B positions; dbh += Σ draw.</summary>
    /// <param name="dWhh">[H,H]</param>
    /// <param name="dBh">[H]</param>
    /// <param name="draw">[T·B,H]</param>
    /// <param name="prevStates">[T·B,H] the h_{t−1} each step saw (hs[0..T) or its masked copy), packed</param>
    public static void AccumulateGradients(KernelPolicy policy, Span<float> dWhh, Span<float> dBh, ReadOnlySpan<float> draw, PackedMatrix prevStates, int positions, int hidden)
    {
        Gemm.MultiplyTransposedAAdd(policy, dWhh, draw, prevStates, 0, hidden, positions);
        RowKernels.AddColumnSums(policy, dBh, draw.Slice(0, positions * hidden));
    }
}
