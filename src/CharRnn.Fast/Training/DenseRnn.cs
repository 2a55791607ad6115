using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Training;

/// <summary>
/// The same network over dense input vectors with linear outputs (seed 002): y_t = W·h_t + b, no softmax. The caller
/// supplies dL/dy to <see cref="Backward"/> and gets the parameter gradients; updating is up to the caller (or
/// <see cref="Optimizer"/>). Runs the character model's layers and output layer; only layer 0's input stage differs (a
/// GEMM X·W_ihᵀ instead of a row gather). Batch 1; buffers allocated once; not thread-safe.
/// </summary>
public sealed class DenseRnn
{
    private readonly int _maxSteps;
    private readonly float[] _inputs, _outputs, _state;
    private readonly RecurrentLayer[] _layers;
    private readonly OutputLayer _output;
    private int _steps = -1;

    /// <summary>Zero parameters for <paramref name="shape"/>, sequences of up to <paramref name="maxSteps"/> steps.</summary>
    public DenseRnn(RnnShape shape, int maxSteps, Nonlinearity nonlinearity = Nonlinearity.Tanh, KernelPolicy? policy = null)
    {
        if (maxSteps < 1) throw new ArgumentOutOfRangeException(nameof(maxSteps), maxSteps, "must be ≥ 1");
        Policy = policy ?? KernelPolicy.Default;
        Parameters = new RnnParameters(shape);
        Gradient = new RnnParameters(shape);
        Nonlinearity = nonlinearity;
        _maxSteps = maxSteps;
        _inputs = new float[maxSteps * shape.InputSize];
        _outputs = new float[maxSteps * shape.OutputSize];
        _state = new float[shape.StateSize(1)];
        _layers = new RecurrentLayer[shape.Layers];
        for (int l = 0; l < shape.Layers; l++) _layers[l] = new RecurrentLayer(Policy, shape, nonlinearity, l, maxSteps, 1, oneHotInput: false, repeatableBackward: true);
        _output = new OutputLayer(Policy, shape, maxSteps, batch: false);
    }

    public RnnParameters Parameters { get; }

    /// <summary>The kernels this model runs on.</summary>
    public KernelPolicy Policy { get; }

    /// <summary>Gradients from the last <see cref="Backward"/>, same layout as <see cref="Parameters"/>.</summary>
    public RnnParameters Gradient { get; }

    public Nonlinearity Nonlinearity { get; }
    public RnnShape Shape => Parameters.Shape;

    /// <summary>h of the top layer: [T+1,H] of the last forward pass (row 0 = its initial state).</summary>
    public ReadOnlySpan<float> HiddenStates => _steps < 0 ? default : _layers[^1].States(_steps);

    /// <summary>
    /// Runs T = inputs.Length / I steps from <paramref name="h0"/> (the state, h [L,H] then c [L,H] for an LSTM; zero if
    /// empty); returns y [T,O] (valid until the next call).
    /// </summary>
    /// <param name="inputs">[T,I] row-major</param>
    /// <param name="h0">[L,H] (+ [L,H]) or empty</param>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> inputs, ReadOnlySpan<float> h0 = default)
    {
        int i = Shape.InputSize, h = Shape.HiddenSize, o = Shape.OutputSize, layers = Shape.Layers;
        if (inputs.Length == 0 || inputs.Length % i != 0 || inputs.Length / i > _maxSteps)
            throw new ArgumentException($"inputs must be [T,{i}] with 1 ≤ T ≤ {_maxSteps}; got {inputs.Length} floats", nameof(inputs));
        if (!h0.IsEmpty && h0.Length != _state.Length) throw new ArgumentException($"h0 must have {_state.Length} floats", nameof(h0));
        int steps = inputs.Length / i;
        inputs.CopyTo(_inputs);
        if (h0.IsEmpty) Array.Clear(_state); else h0.CopyTo(_state);
        for (int l = 0; l < layers; l++)
        {
            var input = LayerInput.Of(l == 0 ? _inputs.AsSpan(0, steps * i) : _layers[l - 1].Outputs(steps));
            var c0 = Shape.Cell.HasCellState() ? _state.AsSpan((layers + l) * h, h) : default;
            _layers[l].Forward(Parameters, input, _state.AsSpan(l * h, h), c0, default, steps);
        }
        _output.Forward(Parameters, _outputs, _layers[^1].Outputs(steps), steps);
        _steps = steps;
        return _outputs.AsSpan(0, steps * o);
    }

    /// <summary>
    /// Back-propagates caller-supplied dL/dy [T,O] through the last forward pass; returns <see cref="Gradient"/>
    /// (overwritten) = dL/d(every parameter).
    /// </summary>
    /// <param name="dOutputs">[T,O] row-major</param>
    public RnnParameters Backward(ReadOnlySpan<float> dOutputs)
    {
        if (_steps < 0) throw new InvalidOperationException("call Forward before Backward");
        int i = Shape.InputSize, o = Shape.OutputSize, steps = _steps;
        if (dOutputs.Length != steps * o) throw new ArgumentException($"dOutputs must be [{steps},{o}] like the last outputs", nameof(dOutputs));
        _output.Backward(Parameters, Gradient, _layers[^1].OutputGradient(steps), dOutputs, _layers[^1].Outputs(steps), steps);
        for (int l = Shape.Layers - 1; l >= 0; l--)
        {
            var input = LayerInput.Of(l == 0 ? _inputs.AsSpan(0, steps * i) : _layers[l - 1].Outputs(steps));
            _layers[l].Backward(Parameters, Gradient, input, l == 0 ? default : _layers[l - 1].OutputGradient(steps), default, steps);
        }
        return Gradient;
    }
}
