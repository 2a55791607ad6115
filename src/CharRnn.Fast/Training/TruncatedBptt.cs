using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Training;

/// <summary>
/// One truncated-BPTT chunk of a character model, T steps × B streams, over buffers allocated once here:
/// <code>
/// tokens ─gather rows of Wxhᵀ (+bh)─► hs[1..T]            (no input matmul)
/// for t: hs[t+1] = act(hs[t+1] + hs[t]·Whhᵀ)              fused cell, the only sequential forward work
/// logits[T·B,V] = hs[1..T]·Whyᵀ + by                      one GEMM for all steps
/// softmax + cross-entropy in place                        loss, dlogits = (p − onehot)/B
/// dWhy, dby, dh = dlogits·Why                             GEMMs, not per step
/// for t backwards: draw_t = act′ ⊙ (dh_t + draw_{t+1}·Whh)  the only sequential backward work
/// dWhh = Σ draw_tᵀ·h_{t−1} (one GEMM), dbh = Σ draw_t, dWxhᵀ rows += draw_t
/// </code>
/// The objective is Σ_t (1/B) Σ_b −log p: summed over time like min-char-rnn, averaged over streams. Not thread-safe.
/// </summary>
public sealed class TruncatedBptt
{
    private readonly RnnShape _shape;
    private readonly KernelPolicy _policy;
    private readonly int _steps, _batch;
    private readonly AlignedBuffer _hs, _maskedPrev, _logits, _draw, _scratch;
    private readonly bool[] _resets;
    private readonly PackedWeights _packed;
    // hs and the masked h_{t−1} copy packed as the B of the weight-gradient GEMMs (dWhy = dyᵀ·h, dWhh = drawᵀ·h_{t−1})
    private readonly PackedMatrix _packedStates, _packedMaskedPrev;

    // Splitting the recurrences by columns across a team (batch 1): each member's slice, the work delegates (created
    // once), and what the current call hands them.
    private readonly WorkerTeam? _team;
    private readonly SpinBarrier? _barrier;
    private readonly int[] _columnStart = [];
    private readonly Action<int>? _forwardWork, _backwardWork;
    private RnnParameters? _current;
    private int _currentSteps;
    private Nonlinearity _currentAct;

    /// <summary>Allocates every buffer for chunks of up to <paramref name="steps"/> × <paramref name="batch"/>; kernels run on <paramref name="policy"/>.</summary>
    public TruncatedBptt(RnnShape shape, int steps, int batch, KernelPolicy policy) : this(shape, steps, batch, policy, null) { }

    /// <summary>
    /// As above; with a <paramref name="team"/>, the sequential recurrences are split by columns of Whh across its
    /// members (whole multiples of <see cref="KernelPolicy.ColumnSplitUnit"/>, so the results are bit-identical to one thread).
    /// Used at batch 1, where there are no streams to split; chunks with sequence resets run on one thread.
    /// </summary>
    internal TruncatedBptt(RnnShape shape, int steps, int batch, KernelPolicy policy, WorkerTeam? team)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _policy = policy;
        int unit = policy.ColumnSplitUnit;
        if (team is not null)
        {
            int units = (shape.HiddenSize + unit - 1) / unit;
            if (units < team.Size) throw new ArgumentException($"a team of {team.Size} needs at least {team.Size * unit} hidden units");
            _team = team;
            _barrier = new SpinBarrier(team.Size);
            _columnStart = new int[team.Size + 1];
            for (int m = 0; m <= team.Size; m++) _columnStart[m] = Math.Min(shape.HiddenSize, units * m / team.Size * unit);
            _forwardWork = ForwardSlice;
            _backwardWork = BackwardSlice;
        }
        _shape = shape;
        _steps = steps;
        _batch = batch;
        int h = shape.HiddenSize, v = shape.OutputSize, positions = steps * batch;
        _hs = new AlignedBuffer((steps + 1) * batch * h);
        _maskedPrev = new AlignedBuffer(positions * h);
        _logits = new AlignedBuffer(positions * v);
        _draw = new AlignedBuffer(positions * h);
        _scratch = new AlignedBuffer(batch * h);
        _resets = new bool[positions];
        _packed = new PackedWeights(policy, shape, batch);
        _packedStates = new PackedMatrix(policy, (steps + 1) * batch, h);
        _packedMaskedPrev = new PackedMatrix(policy, positions, h);
    }

    /// <summary>
    /// Forward and backward over one chunk. <paramref name="gradient"/> is overwritten with the gradient of the
    /// objective; <paramref name="state"/> ([B,H]) is the carried hidden state, replaced by h_T. Tokens equal to
    /// <paramref name="resetToken"/> (≥ 0 in sequence mode) start a new example: the state entering them is zero.
    /// Returns Σ −log p over the T·B predictions. The objective's weight per prediction is
    /// <paramref name="gradientScale"/> (default 1/B; a worker holding part of a batch passes 1/B of the whole batch).
    /// </summary>
    /// <param name="inputs">[T,B] t-major token ids</param>
    /// <param name="targets">[T,B]</param>
    /// <param name="state">[B,H]</param>
    public double ForwardBackward(RnnParameters parameters, RnnParameters gradient, ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets,
        Span<float> state, Nonlinearity act, int resetToken = -1, float gradientScale = 0)
    {
        int steps = CheckChunk(inputs, targets, state);
        if (gradientScale == 0) gradientScale = 1f / _batch;
        int h = _shape.HiddenSize, v = _shape.OutputSize, positions = steps * _batch;
        var resets = MarkResets(inputs, resetToken, positions);
        var hs = Forward(parameters, inputs, state, resets, steps, act);

        // loss and dlogits = (p − onehot)/B, in place
        var logits = _logits.AsSpan(0, positions * v);
        double loss = Softmax.CrossEntropyWithGradient(_policy, logits, targets, v, gradientScale);

        gradient.Clear();
        _packedStates.Pack(hs, (steps + 1) * _batch);
        var draw = _draw.AsSpan(0, positions * h);
        OutputLayer.Backward(_policy, draw, gradient.Why, gradient.By, logits, _packedStates, _batch, _packed.Why, positions);
        if (_team is not null && resets.IsEmpty)
        {
            _current = parameters; _currentSteps = steps; _currentAct = act;
            _team.Run(_backwardWork!);
        }
        else RecurrentLayer.Backward(_policy, draw, hs, _packed.Whh, _scratch, resets, steps, _batch, h, act);
        var prevStates = _packedStates;
        if (!resets.IsEmpty)
        {
            CopyUnmaskedPrevious(hs, resets, steps);
            _packedMaskedPrev.Pack(_maskedPrev, positions);
            prevStates = _packedMaskedPrev;
        }
        RecurrentLayer.AccumulateGradients(_policy, gradient.Whh, gradient.Bh, draw, prevStates, positions, h);
        RowKernels.ScatterAddRows(_policy, gradient.WxhT, inputs, draw, h);

        hs.Slice(steps * _batch * h, _batch * h).CopyTo(state);
        return loss;
    }

    /// <summary>Forward only: Σ −log p over the chunk (evaluation). <paramref name="state"/> is carried as in training.</summary>
    public double Loss(RnnParameters parameters, ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, Span<float> state, Nonlinearity act, int resetToken = -1)
    {
        int steps = CheckChunk(inputs, targets, state);
        int h = _shape.HiddenSize, positions = steps * _batch;
        var resets = MarkResets(inputs, resetToken, positions);
        var hs = Forward(parameters, inputs, state, resets, steps, act);
        double loss = Softmax.CrossEntropy(_policy, _logits.AsSpan(0, positions * _shape.OutputSize), targets, _shape.OutputSize);
        hs.Slice(steps * _batch * h, _batch * h).CopyTo(state);
        return loss;
    }

    private Span<float> Forward(RnnParameters parameters, ReadOnlySpan<int> inputs, ReadOnlySpan<float> state, ReadOnlySpan<bool> resets, int steps, Nonlinearity act)
    {
        int h = _shape.HiddenSize, positions = steps * _batch;
        _packed.Pack(parameters);
        var hs = _hs.AsSpan(0, (steps + 1) * _batch * h);
        state.CopyTo(hs);
        RowKernels.GatherRowsAddBias(_policy, hs.Slice(_batch * h), parameters.WxhT, inputs, parameters.Bh);
        if (_team is not null && resets.IsEmpty)
        {
            _current = parameters; _currentSteps = steps; _currentAct = act;
            _team.Run(_forwardWork!);
        }
        else RecurrentLayer.Forward(_policy, hs, _maskedPrev, _packed.WhhT, resets, steps, _batch, h, act);
        OutputLayer.Forward(_policy, _logits, hs.Slice(_batch * h, positions * h), _packed.WhyT, parameters.By, positions, h);
        return hs;
    }

    private void ForwardSlice(int member)
        => RecurrentLayer.ForwardColumns(_policy, _hs.AsSpan(0, (_currentSteps + 1) * _batch * _shape.HiddenSize), _packed.WhhT, _currentSteps, _batch,
            _shape.HiddenSize, _currentAct, _columnStart[member], _columnStart[member + 1], _barrier!);

    private void BackwardSlice(int member)
        => RecurrentLayer.BackwardColumns(_policy, _draw.AsSpan(0, _currentSteps * _batch * _shape.HiddenSize), _hs.AsSpan(0, (_currentSteps + 1) * _batch * _shape.HiddenSize),
            _packed.Whh, _currentSteps, _batch, _shape.HiddenSize, _currentAct, _columnStart[member], _columnStart[member + 1], _barrier!);

    private int CheckChunk(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, ReadOnlySpan<float> state)
    {
        if (inputs.Length != targets.Length || inputs.Length % _batch != 0 || inputs.Length / _batch > _steps || inputs.Length == 0)
            throw new ArgumentException($"a chunk is [T,B] with 1 ≤ T ≤ {_steps}, B = {_batch}; got {inputs.Length} inputs and {targets.Length} targets");
        if (state.Length != _batch * _shape.HiddenSize) throw new ArgumentException($"state must be [B,H] = {_batch * _shape.HiddenSize} floats", nameof(state));
        int v = _shape.InputSize;
        foreach (int id in inputs) if ((uint)id >= (uint)v) throw new ArgumentOutOfRangeException(nameof(inputs), id, $"token ids must be in [0,{v})");
        foreach (int id in targets) if ((uint)id >= (uint)v) throw new ArgumentOutOfRangeException(nameof(targets), id, $"token ids must be in [0,{v})");
        return inputs.Length / _batch;
    }

    private ReadOnlySpan<bool> MarkResets(ReadOnlySpan<int> inputs, int resetToken, int positions)
    {
        if (resetToken < 0) return default;
        for (int i = 0; i < positions; i++) _resets[i] = inputs[i] == resetToken;
        return _resets.AsSpan(0, positions);
    }

    // The forward pass copies only the steps that had a reset into maskedPrev; dWhh needs every step's h_{t−1}.
    private void CopyUnmaskedPrevious(ReadOnlySpan<float> hs, ReadOnlySpan<bool> resets, int steps)
    {
        int bh = _batch * _shape.HiddenSize;
        for (int t = 0; t < steps; t++)
            if (!resets.Slice(t * _batch, _batch).Contains(true))
                hs.Slice(t * bh, bh).CopyTo(_maskedPrev.AsSpan(t * bh, bh));
    }
}
