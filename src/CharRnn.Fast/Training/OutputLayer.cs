using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Training;

/// <summary>
/// y = W·h + b for all T·B positions at once (one GEMM), and its backward pass (three GEMM-shaped updates), with the
/// weights and the top layer's states packed once per call in the layouts those GEMMs read. W itself is packed for
/// dh = dy·W only when a batch gives it many rows to serve; a batch-1 chunk reads the parameters where they are.
/// </summary>
internal sealed class OutputLayer(KernelPolicy policy, RnnShape shape, int rows, bool batch)
{
    private readonly PackedMatrix _weightsT = new(policy, shape.HiddenSize, shape.OutputSize);               // [H,O]: B of the logits
    private readonly PackedMatrix _weights = new(policy, batch ? shape.OutputSize : 0, shape.HiddenSize);     // [O,H]: B of dh = dy·W
    private readonly PackedMatrix _inputs = new(policy, rows, shape.HiddenSize);                             // [R,H]: B of dW = dyᵀ·h

    /// <summary>y[R,O] = h[R,H]·Wᵀ + b.</summary>
    /// <param name="y">[R,O]</param>
    /// <param name="h">[R,H]</param>
    public void Forward(RnnParameters p, Span<float> y, ReadOnlySpan<float> h, int rows)
    {
        int o = p.Shape.OutputSize;
        _weightsT.PackTransposeOf(p.OutputWeights);
        RowKernels.BroadcastRows(y.Slice(0, rows * o), p.OutputBias);
        Gemm.MultiplyAdd(policy, y, h, _weightsT.View(), rows);
    }

    /// <summary>dW = dyᵀ·h;  db = Σ dy;  dh = dy·W  (g's other tensors untouched).</summary>
    /// <param name="dh">[R,H] overwritten</param>
    /// <param name="dy">[R,O]</param>
    /// <param name="h">[R,H]</param>
    public void Backward(RnnParameters p, RnnParameters g, Span<float> dh, ReadOnlySpan<float> dy, ReadOnlySpan<float> h, int rows)
    {
        int o = p.Shape.OutputSize;
        _inputs.Pack(h, rows);
        Gemm.MultiplyTransposedA(policy, g.OutputWeights, dy, _inputs.View(0, rows), o);
        g.OutputBias.Clear();
        RowKernels.AddColumnSums(policy, g.OutputBias, dy.Slice(0, rows * o));
        if (_weights.Rows > 0) _weights.Pack(p.OutputWeights);
        var w = _weights.Rows > 0 ? _weights.View() : PanelView.RowMajor(p.OutputWeights, o, p.Shape.HiddenSize);
        Gemm.Multiply(policy, dh, dy, w, rows);
    }
}
