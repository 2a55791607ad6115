using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Training;

/// <summary>
/// Dropout for one chunk: probability <see cref="P"/> on the output of every layer but the last (training only, as
/// PyTorch), masks drawn from <see cref="Seed"/> and the optimizer step <see cref="Step"/> for streams numbered from
/// <see cref="FirstStream"/> (<see cref="DropoutMask"/>). <c>default</c> is no dropout.
/// </summary>
public readonly record struct DropoutDraw(double P, ulong Seed, long Step, int FirstStream = 0);

/// <summary>
/// One truncated-BPTT chunk of a character model, T steps × B streams, over buffers allocated once here:
/// <code>
/// tokens ─gather rows of layer 0's W_ihᵀ (+b)─► the input term      (one-hot input: never a matmul)
/// per layer l: layers ≥ 1 take the input term of every position in one GEMM, then the time loop (one GEMM per step
///              for all gates, the cell fused or right after it)        ─► h^l; dropout between layers
/// logits[T·B,V] = h^top·Wᵀ + b                                          one GEMM for all steps
/// softmax + cross-entropy in place                                      loss, dlogits = (p − onehot)/B
/// output layer backward (GEMMs) ─► dh^top; per layer from the top: the time loop backward, weight gradients as GEMMs
///              over K = T·B, the input's gradient for the layer below; layer 0's rows scattered into dW_ihᵀ
/// </code>
/// The objective is Σ_t (1/B) Σ_b −log p: summed over time like min-char-rnn, averaged over streams. The carried state
/// is h [L,B,H], then c [L,B,H] for an LSTM (<see cref="RnnShape.StateSize"/>). Not thread-safe.
/// </summary>
public sealed class TruncatedBptt
{
    private readonly RnnShape _shape;
    private readonly KernelPolicy _policy;
    private readonly int _steps, _batch;
    private readonly RecurrentLayer[] _layers;
    private readonly OutputLayer _output;
    private readonly AlignedBuffer _logits;
    private readonly AlignedBuffer[] _dropped, _masks;     // [T·B,H] per layer but the top: its output after dropout, the mask
    private readonly bool[] _resets;

    /// <summary>Allocates every buffer for chunks of up to <paramref name="steps"/> × <paramref name="batch"/>; kernels run on <paramref name="policy"/>.</summary>
    public TruncatedBptt(RnnShape shape, int steps, int batch, KernelPolicy policy, Nonlinearity act = Nonlinearity.Tanh) : this(shape, steps, batch, policy, act, null) { }

    /// <summary>As above; with a <paramref name="team"/> (batch 1), each layer's time loop is split by units across its members.</summary>
    internal TruncatedBptt(RnnShape shape, int steps, int batch, KernelPolicy policy, Nonlinearity act, WorkerTeam? team)
    {
        ArgumentNullException.ThrowIfNull(policy);
        shape.Validate();
        _shape = shape;
        _policy = policy;
        _steps = steps;
        _batch = batch;
        int h = shape.HiddenSize, positions = steps * batch;
        _layers = new RecurrentLayer[shape.Layers];
        for (int l = 0; l < shape.Layers; l++) _layers[l] = new RecurrentLayer(policy, shape, act, l, steps, batch, oneHotInput: l == 0, team);
        _output = new OutputLayer(policy, shape, positions, batch > 1);
        _logits = new AlignedBuffer(positions * shape.OutputSize);
        _dropped = new AlignedBuffer[shape.Layers - 1];
        _masks = new AlignedBuffer[shape.Layers - 1];
        for (int l = 0; l < shape.Layers - 1; l++)
        {
            _dropped[l] = new AlignedBuffer(positions * h);
            _masks[l] = new AlignedBuffer(positions * h);
        }
        _resets = new bool[positions];
    }

    /// <summary>
    /// Forward and backward over one chunk. <paramref name="gradient"/> is overwritten with the gradient of the
    /// objective; <paramref name="state"/> (<see cref="RnnShape.StateSize"/> of B) is the carried state, replaced by the
    /// final one. Tokens equal to <paramref name="resetToken"/> (≥ 0 in sequence mode) start a new example: the state
    /// entering them is zero. Returns Σ −log p over the T·B predictions. The objective's weight per prediction is
    /// <paramref name="gradientScale"/> (default 1/B; a worker holding part of a batch passes 1/B of the whole batch).
    /// </summary>
    /// <param name="inputs">[T,B] t-major token ids</param>
    /// <param name="targets">[T,B]</param>
    public double ForwardBackward(RnnParameters parameters, RnnParameters gradient, ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets,
        Span<float> state, int resetToken = -1, float gradientScale = 0, DropoutDraw dropout = default)
    {
        int steps = CheckChunk(inputs, targets, state);
        if (gradientScale == 0) gradientScale = 1f / _batch;
        int h = _shape.HiddenSize, v = _shape.OutputSize, positions = steps * _batch;
        var resets = MarkResets(inputs, resetToken, positions);
        bool drop = dropout.P > 0 && _shape.Layers > 1;
        var top = Forward(parameters, inputs, state, resets, steps, drop ? dropout : default);

        // loss and dlogits = (p − onehot)/B, in place
        var logits = _logits.AsSpan(0, positions * v);
        double loss = Softmax.CrossEntropyWithGradient(_policy, logits, targets, v, gradientScale);

        // the output layer and every layer write their own tensors of the gradient: no pass clears the block first
        _output.Backward(parameters, gradient, _layers[^1].OutputGradient(steps), logits, top, positions);
        for (int l = _shape.Layers - 1; l >= 0; l--)
        {
            var dInput = l == 0 ? default : _layers[l - 1].OutputGradient(steps);
            _layers[l].Backward(parameters, gradient, Input(l, inputs, positions, drop), dInput, resets, steps);
            if (drop && l > 0) Elementwise.Apply(_policy, new MultiplyOperator(), dInput, _masks[l - 1].AsSpan(0, positions * h));
        }
        SaveState(state, steps);
        return loss;
    }

    /// <summary>Forward only: Σ −log p over the chunk (evaluation, no dropout). <paramref name="state"/> is carried as in training.</summary>
    public double Loss(RnnParameters parameters, ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, Span<float> state, int resetToken = -1)
    {
        int steps = CheckChunk(inputs, targets, state);
        int positions = steps * _batch;
        var resets = MarkResets(inputs, resetToken, positions);
        Forward(parameters, inputs, state, resets, steps, default);
        double loss = Softmax.CrossEntropy(_policy, _logits.AsSpan(0, positions * _shape.OutputSize), targets, _shape.OutputSize);
        SaveState(state, steps);
        return loss;
    }

    // Every layer forward, then the logits; returns the top layer's outputs.
    private ReadOnlySpan<float> Forward(RnnParameters parameters, ReadOnlySpan<int> inputs, ReadOnlySpan<float> state, ReadOnlySpan<bool> resets, int steps, DropoutDraw dropout)
    {
        int h = _shape.HiddenSize, bh = _batch * h, positions = steps * _batch, layers = _shape.Layers;
        bool drop = dropout.P > 0;
        for (int l = 0; l < layers; l++)
        {
            var h0 = state.Slice(l * bh, bh);
            var c0 = _shape.Cell.HasCellState() ? state.Slice((layers + l) * bh, bh) : default;
            _layers[l].Forward(parameters, Input(l, inputs, positions, drop), h0, c0, resets, steps);
            if (drop && l < layers - 1) ApplyDropout(l, steps, dropout);
        }
        var top = _layers[^1].Outputs(steps);
        _output.Forward(parameters, _logits.AsSpan(0, positions * _shape.OutputSize), top, positions);
        return top;
    }

    // What layer l reads: token ids for layer 0, the layer below's outputs (after dropout while training) above it.
    private LayerInput Input(int l, ReadOnlySpan<int> inputs, int positions, bool dropped)
        => l == 0 ? LayerInput.OneHot(inputs)
            : LayerInput.Of(dropped ? _dropped[l - 1].AsSpan(0, positions * _shape.HiddenSize) : _layers[l - 1].Outputs(positions / _batch));

    // The output of layer l as layer l + 1 reads it: h ⊙ mask, masks drawn per (step, layer, stream, time).
    private void ApplyDropout(int l, int steps, DropoutDraw dropout)
    {
        int h = _shape.HiddenSize;
        var mask = _masks[l].AsSpan(0, steps * _batch * h);
        for (int t = 0; t < steps; t++)
            for (int b = 0; b < _batch; b++)
                DropoutMask.Fill(mask.Slice((t * _batch + b) * h, h), (float)dropout.P, dropout.Seed, dropout.Step, l, dropout.FirstStream + b, t);
        Elementwise.Apply(_policy, new ProductOperator(), _dropped[l].AsSpan(0, mask.Length), MemoryMarshalHelpers.AsWritable(_layers[l].Outputs(steps)), mask);
    }

    private void SaveState(Span<float> state, int steps)
    {
        int bh = _batch * _shape.HiddenSize, layers = _shape.Layers;
        for (int l = 0; l < layers; l++)
            _layers[l].FinalState(steps, state.Slice(l * bh, bh), _shape.Cell.HasCellState() ? state.Slice((layers + l) * bh, bh) : default);
    }

    private int CheckChunk(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, ReadOnlySpan<float> state)
    {
        if (inputs.Length != targets.Length || inputs.Length % _batch != 0 || inputs.Length / _batch > _steps || inputs.Length == 0)
            throw new ArgumentException($"a chunk is [T,B] with 1 ≤ T ≤ {_steps}, B = {_batch}; got {inputs.Length} inputs and {targets.Length} targets");
        if (state.Length != _shape.StateSize(_batch)) throw new ArgumentException($"state must hold {_shape.StateSize(_batch)} floats ([L,B,H], then c for an LSTM)", nameof(state));
        int v = _shape.InputSize;
        foreach (int id in inputs) if ((uint)id >= (uint)v) throw new ArgumentOutOfRangeException(nameof(inputs), id, $"token ids must be in [0,{v})");
        foreach (int id in targets) if ((uint)id >= (uint)_shape.OutputSize) throw new ArgumentOutOfRangeException(nameof(targets), id, $"token ids must be in [0,{_shape.OutputSize})");
        return inputs.Length / _batch;
    }

    private ReadOnlySpan<bool> MarkResets(ReadOnlySpan<int> inputs, int resetToken, int positions)
    {
        if (resetToken < 0) return default;
        for (int i = 0; i < positions; i++) _resets[i] = inputs[i] == resetToken;
        return _resets.AsSpan(0, positions);
    }
}
