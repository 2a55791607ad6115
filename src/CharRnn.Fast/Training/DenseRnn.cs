using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Training;

/// <summary>
/// The same RNN over dense input vectors with linear outputs (seed 002): y_t = Why·h_t + by, no softmax. The caller
/// supplies dL/dy to <see cref="Backward"/> and gets the parameter gradients; updating is up to the caller (or
/// <see cref="Optimizer"/>). Shares the recurrence and output kernels with the character model; only the input stage
/// (a GEMM X·Wxhᵀ instead of a row gather) and the head differ. Batch 1; buffers allocated once; not thread-safe.
/// </summary>
public sealed class DenseRnn
{
    private readonly int _maxSteps;
    private readonly float[] _inputs, _hs, _outputs, _draw, _maskedPrev, _scratch;
    private readonly PackedWeights _packed;
    private readonly PackedMatrix _packedStates; // hs as the B of dWhy and dWhh
    private int _steps = -1;

    /// <summary>Zero parameters for <paramref name="shape"/>, sequences of up to <paramref name="maxSteps"/> steps.</summary>
    public DenseRnn(RnnShape shape, int maxSteps, Nonlinearity nonlinearity = Nonlinearity.Tanh, KernelPolicy? policy = null)
    {
        if (maxSteps < 1) throw new ArgumentOutOfRangeException(nameof(maxSteps), maxSteps, "must be ≥ 1");
        Parameters = new RnnParameters(shape);
        Gradient = new RnnParameters(shape);
        Nonlinearity = nonlinearity;
        _maxSteps = maxSteps;
        int h = shape.HiddenSize;
        _inputs = new float[maxSteps * shape.InputSize];
        _hs = new float[(maxSteps + 1) * h];
        _outputs = new float[maxSteps * shape.OutputSize];
        _draw = new float[maxSteps * h];
        _maskedPrev = [];
        _scratch = new float[h];
        Policy = policy ?? KernelPolicy.Default;
        _packed = new PackedWeights(Policy, shape, batch: 1);
        _packedStates = new PackedMatrix(Policy, maxSteps + 1, shape.HiddenSize);
    }

    public RnnParameters Parameters { get; }

    /// <summary>The kernels this model runs on.</summary>
    public KernelPolicy Policy { get; }

    /// <summary>Gradients from the last <see cref="Backward"/>, same layout as <see cref="Parameters"/>.</summary>
    public RnnParameters Gradient { get; }

    public Nonlinearity Nonlinearity { get; }
    public RnnShape Shape => Parameters.Shape;

    /// <summary>h: [T+1,H] of the last forward pass (row 0 = h0).</summary>
    public ReadOnlySpan<float> HiddenStates => _steps < 0 ? default : _hs.AsSpan(0, (_steps + 1) * Shape.HiddenSize);

    /// <summary>
    /// Runs T = inputs.Length / I steps from <paramref name="h0"/> (zero if empty); returns y [T,O] (valid until the next call).
    /// </summary>
    /// <param name="inputs">[T,I] row-major</param>
    /// <param name="h0">[H] or empty</param>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> inputs, ReadOnlySpan<float> h0 = default)
    {
        int i = Shape.InputSize, h = Shape.HiddenSize, o = Shape.OutputSize;
        if (inputs.Length == 0 || inputs.Length % i != 0 || inputs.Length / i > _maxSteps)
            throw new ArgumentException($"inputs must be [T,{i}] with 1 ≤ T ≤ {_maxSteps}; got {inputs.Length} floats", nameof(inputs));
        if (!h0.IsEmpty && h0.Length != h) throw new ArgumentException($"h0 must have {h} floats", nameof(h0));
        int steps = inputs.Length / i;
        inputs.CopyTo(_inputs);
        _packed.Pack(Parameters);
        var hs = _hs.AsSpan(0, (steps + 1) * h);
        if (h0.IsEmpty) hs.Slice(0, h).Clear(); else h0.CopyTo(hs);
        // input stage: hs[1..T] = bh + X·Wxhᵀ
        var pre = hs.Slice(h);
        RowKernels.BroadcastRows(pre, Parameters.Bh);
        Gemm.MultiplyAdd(Policy, pre, inputs, Parameters.WxhT, steps, i, h);
        RecurrentLayer.Forward(Policy, hs, _maskedPrev, _packed.WhhT, default, steps, 1, h, Nonlinearity);
        OutputLayer.Forward(Policy, _outputs, pre, _packed.WhyT, Parameters.By, steps, h);
        _steps = steps;
        return _outputs.AsSpan(0, steps * o);
    }

    /// <summary>
    /// Back-propagates caller-supplied dL/dy [T,O] through the last forward pass; returns <see cref="Gradient"/>
    /// (overwritten) = dL/d(Wxh, Whh, bh, Why, by).
    /// </summary>
    /// <param name="dOutputs">[T,O] row-major</param>
    public RnnParameters Backward(ReadOnlySpan<float> dOutputs)
    {
        if (_steps < 0) throw new InvalidOperationException("call Forward before Backward");
        int i = Shape.InputSize, h = Shape.HiddenSize, o = Shape.OutputSize, steps = _steps;
        if (dOutputs.Length != steps * o) throw new ArgumentException($"dOutputs must be [{steps},{o}] like the last outputs", nameof(dOutputs));
        Gradient.Clear();
        var hs = _hs.AsSpan(0, (steps + 1) * h);
        var draw = _draw.AsSpan(0, steps * h);
        _packedStates.Pack(hs, steps + 1);
        OutputLayer.Backward(Policy, draw, Gradient.Why, Gradient.By, dOutputs, _packedStates, 1, _packed.Why, steps);
        RecurrentLayer.Backward(Policy, draw, hs, _packed.Whh, _scratch, default, steps, 1, h, Nonlinearity);
        RecurrentLayer.AccumulateGradients(Policy, Gradient.Whh, Gradient.Bh, draw, _packedStates, steps, h);
        // dWxhᵀ[I,H] += Xᵀ·draw
        Gemm.MultiplyTransposedAAdd(Policy, Gradient.WxhT, _inputs.AsSpan(0, steps * i), draw, i, steps, h);
        return Gradient;
    }
}
