using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Training;

/// <summary>The input of a layer over a chunk: token ids (layer 0 of a character model: a row gather) or dense rows.</summary>
internal readonly ref struct LayerInput
{
    private LayerInput(ReadOnlySpan<int> tokens, ReadOnlySpan<float> dense)
    {
        Tokens = tokens;
        Dense = dense;
    }

    /// <summary>[T·B] token ids, or empty.</summary>
    public ReadOnlySpan<int> Tokens { get; }

    /// <summary>[T·B, in], or empty.</summary>
    public ReadOnlySpan<float> Dense { get; }

    public bool IsOneHot => Dense.IsEmpty;

    public static LayerInput OneHot(ReadOnlySpan<int> tokens) => new(tokens, default);

    public static LayerInput Of(ReadOnlySpan<float> dense) => new(default, dense);
}

/// <summary>
/// One layer of the stack over a chunk of T steps × B streams (rows t-major: row t·B + b), with its workspace allocated
/// once. Forward: the input term of every position at once (a row gather of W_ihᵀ for token ids, one GEMM for dense
/// input), then per time step one GEMM for all gates, h_{t−1}·W_hhᵀ, followed by the cell: for the vanilla cell fused
/// into the GEMM's epilogue, for LSTM and GRU one element-wise pass over the step's gates (<see cref="CellKernels"/>).
/// Backward: per step the gradient at h_t, dh_t + dgates_{t+1}·W_hh (fused with act′ for the vanilla cell), then the
/// cell's backward pass; afterwards the weight gradients as GEMMs over K = T·B and the gradient of the input for the
/// layer below. Where a reset is marked the state entering the step is zero and no gradient crosses it.
/// </summary>
internal sealed class RecurrentLayer
{
    private readonly KernelPolicy _policy;
    private readonly int _layer, _maxSteps, _batch, _h, _gh, _inputs;
    private readonly CellKind _cell;
    private readonly Nonlinearity _act;

    // forward: states (block 0 = entering the chunk; the vanilla cell's input term waits in block t+1 until step t),
    // the gated cells' gates (input term, then the activations), GRU's W_hn·h + b_hn and recurrent-product scratch
    private readonly AlignedBuffer _hs, _cs, _gates, _nh, _rec;
    private readonly AlignedBuffer _maskedPrev, _maskedPrevCell; // [T·B,H]: the state entering each step with resets applied
    // backward: gradients at the gates (input side, in _gates' memory; the recurrent side differs for GRU's n gate),
    // LSTM's dc, masked rows
    private readonly AlignedBuffer _dOutput, _dGates, _dRecurrent, _dc, _masked, _discard;
    // operands in the layouts the GEMMs read
    private readonly PackedMatrix _whhT, _whh, _wihT, _wih, _packedPrev, _packedDGates;

    // a team splitting the time loop by units (batch 1): what the current call hands its members
    private readonly WorkerTeam? _team;
    private readonly TeamBarrier? _barrier;
    private readonly SplitChooser? _forwardSplit, _backwardSplit;
    private readonly int[] _unitStart = [];
    private readonly Action<int>? _forwardWork, _backwardWork;
    private RnnParameters? _current;
    private int _currentSteps;

    /// <summary>
    /// Layer <paramref name="layer"/> of <paramref name="shape"/> for chunks of up to <paramref name="steps"/> × <paramref name="batch"/>,
    /// reading token ids (<paramref name="oneHotInput"/>) or dense rows. With a <paramref name="team"/> (batch 1) the time loop is
    /// split by units across its members, in whole multiples of the policy's column split unit, so the results are
    /// bit-identical to one thread; a chunk runs on the caller alone while a <see cref="SplitChooser"/> measures that to
    /// be faster (the team's threads lack free cores). Unless <paramref name="repeatableBackward"/>, the backward pass
    /// writes the gated cells' gate gradients over the forward pass's activations, so it runs once per forward pass.
    /// </summary>
    public RecurrentLayer(KernelPolicy policy, RnnShape shape, Nonlinearity act, int layer, int steps, int batch, bool oneHotInput, WorkerTeam? team = null,
        bool repeatableBackward = false)
    {
        _policy = policy;
        _layer = layer;
        _maxSteps = steps;
        _batch = batch;
        _cell = shape.Cell;
        _act = act;
        _h = shape.HiddenSize;
        _gh = shape.GateWidth;
        _inputs = shape.LayerInputSize(layer);
        int positions = steps * batch;
        bool gated = _cell != CellKind.Rnn;
        _hs = new AlignedBuffer((steps + 1) * batch * _h);
        _cs = new AlignedBuffer(_cell == CellKind.Lstm ? (steps + 1) * batch * _h : 0);
        _gates = new AlignedBuffer(gated ? positions * _gh : 0);
        _nh = new AlignedBuffer(_cell == CellKind.Gru ? positions * _h : 0);
        _rec = new AlignedBuffer(_cell == CellKind.Gru ? batch * _gh : 0);
        _maskedPrev = new AlignedBuffer(positions * _h);
        _maskedPrevCell = new AlignedBuffer(_cell == CellKind.Lstm ? positions * _h : 0);
        _dOutput = new AlignedBuffer(positions * _h);
        // the cell's backward pass writes each step's gate gradients over that step's activations, which nothing reads
        // again: one [T·B, G·H] buffer fewer, and the gradients' stores land on lines the pass has just read
        _dGates = repeatableBackward ? new AlignedBuffer(gated ? positions * _gh : 0) : _gates;
        _dRecurrent = new AlignedBuffer(_cell == CellKind.Gru ? positions * _gh : 0);
        _dc = new AlignedBuffer(_cell == CellKind.Lstm ? batch * _h : 0);
        _masked = new AlignedBuffer(batch * _gh);
        _discard = new AlignedBuffer(_h);
        bool panels = batch > 1; // a single row is a GEMV over row-major weights
        _whhT = new PackedMatrix(policy, _h, _gh, panels);
        _whh = new PackedMatrix(policy, panels ? _gh : 0, _h);
        _wihT = new PackedMatrix(policy, oneHotInput ? 0 : _inputs, _gh);
        _wih = new PackedMatrix(policy, _gh, _inputs);
        _packedPrev = new PackedMatrix(policy, positions, _h);
        _packedDGates = new PackedMatrix(policy, positions, _gh);

        if (team is not null)
        {
            int unit = policy.ColumnSplitUnit, units = (_h + unit - 1) / unit;
            if (units < team.Size) throw new ArgumentException($"a team of {team.Size} needs at least {team.Size * unit} hidden units");
            _team = team;
            _barrier = new TeamBarrier(team.Size);
            (_forwardSplit, _backwardSplit) = (new SplitChooser(), new SplitChooser());
            _unitStart = new int[team.Size + 1];
            for (int m = 0; m <= team.Size; m++) _unitStart[m] = Math.Min(_h, units * m / team.Size * unit);
            _forwardWork = member => ForwardLoop(_current!, _currentSteps, default, _unitStart[member], _unitStart[member + 1], _barrier);
            _backwardWork = member => BackwardTimeLoop(_currentSteps, default, _unitStart[member], _unitStart[member + 1], _barrier);
        }
    }

    /// <summary>h_1..h_T of the last forward pass: [T·B, H].</summary>
    public ReadOnlySpan<float> Outputs(int steps) => _hs.AsSpan(_batch * _h, steps * _batch * _h);

    /// <summary>h_0..h_T of the last forward pass (block 0: the state entering the chunk): [(T+1)·B, H].</summary>
    public ReadOnlySpan<float> States(int steps) => _hs.AsSpan(0, (steps + 1) * _batch * _h);

    /// <summary>
    /// [T·B, H]: where the layer above (or the output layer) puts the gradient at each h_t before <see cref="Backward"/>,
    /// which then uses it as workspace.
    /// </summary>
    public Span<float> OutputGradient(int steps) => _dOutput.AsSpan(0, steps * _batch * _h);

    /// <summary>
    /// Forward over <paramref name="steps"/> steps from the state (<paramref name="h0"/>, <paramref name="c0"/> for an LSTM;
    /// [B,H] each); <paramref name="resets"/> ([T,B] or empty) marks where the state entering a step is zero.
    /// </summary>
    public void Forward(RnnParameters p, LayerInput input, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, ReadOnlySpan<bool> resets, int steps)
    {
        int bh = _batch * _h, positions = steps * _batch;
        Pack(p, forward: true);
        h0.CopyTo(_hs.AsSpan(0, bh));
        if (_cell == CellKind.Lstm) c0.CopyTo(_cs.AsSpan(0, bh));

        // the input term W_ih·x + bias of every position: into the states for the vanilla cell, the gates otherwise
        var x = _cell == CellKind.Rnn ? _hs.AsSpan(bh, positions * _h) : _gates.AsSpan(0, positions * _gh);
        if (input.IsOneHot) RowKernels.GatherRowsAddBias(_policy, x, p.InputWeights(_layer), input.Tokens, p.Bias(_layer));
        else
        {
            RowKernels.BroadcastRows(x, p.Bias(_layer));
            Gemm.MultiplyAdd(_policy, x, input.Dense, _wihT.View(), positions);
        }

        if (_team is not null && resets.IsEmpty && _forwardSplit!.Begin(steps))
        {
            _currentSteps = steps;
            _team.Run(_forwardWork!);
        }
        else ForwardLoop(p, steps, resets, 0, _h, null);
        _forwardSplit?.End();
    }

    /// <summary>The state after the last forward pass's final step, into <paramref name="h"/> (and <paramref name="c"/> for an LSTM), [B,H] each.</summary>
    public void FinalState(int steps, Span<float> h, Span<float> c)
    {
        int bh = _batch * _h;
        _hs.AsSpan(steps * bh, bh).CopyTo(h);
        if (_cell == CellKind.Lstm) _cs.AsSpan(steps * bh, bh).CopyTo(c);
    }

    // Steps 0..T−1 for units [first, end) (all of them without a team; a member's share with one, meeting at the barrier).
    private void ForwardLoop(RnnParameters p, int steps, ReadOnlySpan<bool> resets, int first, int end, TeamBarrier? barrier)
    {
        int bh = _batch * _h;
        var bhn = p.NewGateHiddenBias(_layer);
        for (int t = 0; t < steps; t++)
        {
            var prev = PreviousState(_hs, _maskedPrev, resets, t);
            var a = StridedMatrix.RowMajor(prev, _batch, _h);
            var h = _hs.AsSpan((t + 1) * bh, bh);
            switch (_cell)
            {
                case CellKind.Rnn:
                    if (_act == Nonlinearity.Tanh) Gemm.RunColumns<TanhEpilogue>(_policy, h, h, a, _whhT.View(), default, first, end);
                    else Gemm.RunColumns<ReluEpilogue>(_policy, h, h, a, _whhT.View(), default, first, end);
                    break;
                case CellKind.Lstm:
                {
                    var gates = _gates.AsSpan(t * _batch * _gh, _batch * _gh);
                    GateProduct(gates, gates, a, first, end);
                    var cPrev = PreviousState(_cs, _maskedPrevCell, resets, t);
                    var c = _cs.AsSpan((t + 1) * bh, bh);
                    for (int b = 0; b < _batch; b++)
                        CellKernels.LstmForward(_policy, gates.Slice(b * _gh + first), _h, cPrev.Slice(b * _h + first), c.Slice(b * _h + first), h.Slice(b * _h + first), end - first);
                    break;
                }
                default:
                {
                    var gates = _gates.AsSpan(t * _batch * _gh, _batch * _gh);
                    var rec = _rec.AsSpan(0, _batch * _gh);
                    GateProduct(rec, default, a, first, end);
                    var nh = _nh.AsSpan(t * bh, bh);
                    for (int b = 0; b < _batch; b++)
                        CellKernels.GruForward(_policy, gates.Slice(b * _gh + first), rec.Slice(b * _gh + first), _h, bhn.Slice(first), prev.Slice(b * _h + first),
                            gates.Slice(b * _gh + first), nh.Slice(b * _h + first), h.Slice(b * _h + first), end - first);
                    break;
                }
            }
            barrier?.SignalAndWait();
        }
    }

    // gates[B, G·H] = init + h_{t−1}·W_hhᵀ for units [first, end) of every gate. Row-major weights (a single row) are
    // computed gate block by gate block, so a split by units runs exactly the tiles of the whole (or at once where that
    // is the same); panels at once.
    private void GateProduct(Span<float> gates, ReadOnlySpan<float> init, in StridedMatrix hPrev, int first, int end)
    {
        if (!_whhT.IsRowMajor || _policy.GatesRunAsOne(_h, first, end))
        {
            Gemm.Run<NoEpilogue>(_policy, gates, init, hPrev, _whhT.View(), default);
            return;
        }
        for (int g = 0; g < _gh; g += _h)
            Gemm.RunColumns<NoEpilogue>(_policy, gates, init, hPrev, _whhT.View(), default, g + first, g + end);
    }

    /// <summary>
    /// Backward through the last forward pass, from the gradient at its outputs in <see cref="OutputGradient"/>. Writes the
    /// layer's parameter gradients into <paramref name="g"/> (its other tensors untouched); when <paramref name="dInput"/>
    /// is not empty it receives the gradient at the dense input ([T·B, in]).
    /// </summary>
    public void Backward(RnnParameters p, RnnParameters g, LayerInput input, Span<float> dInput, ReadOnlySpan<bool> resets, int steps)
    {
        int positions = steps * _batch;
        var dOutput = OutputGradient(steps);
        Pack(p, forward: false);
        if (_team is not null && resets.IsEmpty && _backwardSplit!.Begin(steps))
        {
            _currentSteps = steps;
            _team.Run(_backwardWork!);
        }
        else BackwardTimeLoop(steps, resets, 0, _h, null);
        _backwardSplit?.End();

        // the gates' gradients: input side (bias, W_ih, the input) and recurrent side (W_hh)
        var dIn = _cell == CellKind.Rnn ? dOutput.Slice(0, positions * _h) : _dGates.AsSpan(0, positions * _gh);
        var dRec = _cell == CellKind.Gru ? _dRecurrent.AsSpan(0, positions * _gh) : dIn;

        // dW_hh = Σ_t dRec_tᵀ·h_{t−1}  (one GEMM over K = T·B, written: the gradient block is not cleared first)
        var prevStates = resets.IsEmpty ? _hs.AsSpan(0, positions * _h) : _maskedPrev.AsSpan(0, positions * _h);
        if (!resets.IsEmpty) CopyUnmaskedPrevious(_hs, _maskedPrev, resets, steps);
        _packedPrev.Pack(prevStates, positions);
        Gemm.MultiplyTransposedA(_policy, g.RecurrentWeights(_layer), dRec, _packedPrev.View(0, positions), _gh);
        if (_cell == CellKind.Gru)
        {
            var dBhn = g.NewGateHiddenBias(_layer);
            dBhn.Clear();
            RowKernels.AddColumnSums(_policy, dBhn, dRec.Slice(2 * _h), _gh); // db_hn = Σ dRec[:, n rows]
        }

        // db = Σ dIn and dW_ihᵀ [in, G·H] = xᵀ·dIn: for token ids one pass over dIn (each row added to its token's row
        // and to the sums, both cleared first), for dense input the sums and a GEMM; then dx = dIn·W_ih
        g.Bias(_layer).Clear();
        if (input.IsOneHot)
        {
            g.InputWeights(_layer).Clear();
            RowKernels.ScatterAddRowsAndSum(_policy, g.InputWeights(_layer), input.Tokens, dIn, _gh, g.Bias(_layer));
        }
        else
        {
            RowKernels.AddColumnSums(_policy, g.Bias(_layer), dIn);
            _packedDGates.Pack(dIn, positions);
            Gemm.MultiplyTransposedA(_policy, g.InputWeights(_layer), input.Dense, _packedDGates.View(0, positions), _inputs);
        }
        if (!dInput.IsEmpty)
        {
            _wih.PackTransposeOf(p.InputWeights(_layer));
            Gemm.Multiply(_policy, dInput, dIn, _wih.View(), positions);
        }
    }

    // Steps T−1..0 for units [first, end): dh_t = dOut_t + dRec_{t+1}·W_hh, then the cell's backward pass.
    private void BackwardTimeLoop(int steps, ReadOnlySpan<bool> resets, int first, int end, TeamBarrier? barrier)
    {
        int bh = _batch * _h;
        var dOutput = OutputGradient(steps);
        if (_cell == CellKind.Lstm)
            for (int b = 0; b < _batch; b++) _dc.AsSpan(b * _h + first, end - first).Clear();
        for (int t = steps - 1; t >= 0; t--)
        {
            var dh = dOutput.Slice(t * bh, bh);
            var h = _hs.AsSpan((t + 1) * bh, bh);
            // the recurrent gradient from step t+1, with reset streams' rows zeroed: no gradient crosses a reset
            ReadOnlySpan<float> next = default;
            int k = 0;
            if (t + 1 < steps)
            {
                k = _cell == CellKind.Rnn ? _h : _gh;
                var source = _cell switch
                {
                    CellKind.Rnn => dOutput.Slice((t + 1) * bh, bh),
                    CellKind.Lstm => _dGates.AsSpan((t + 1) * _batch * _gh, _batch * _gh),
                    _ => _dRecurrent.AsSpan((t + 1) * _batch * _gh, _batch * _gh),
                };
                next = MaskRows(source, resets, t + 1, k);
            }
            var a = StridedMatrix.RowMajor(next, _batch, k);
            switch (_cell)
            {
                case CellKind.Rnn:
                    // backprop through the nonlinearity, fused with the recurrent term draw_{t+1}·Whh
                    if (_act == Nonlinearity.Tanh) Gemm.RunColumns<TanhGradientEpilogue>(_policy, dh, dh, a, Whh(), h, first, end);
                    else Gemm.RunColumns<ReluGradientEpilogue>(_policy, dh, dh, a, Whh(), h, first, end);
                    break;
                case CellKind.Lstm:
                {
                    Gemm.RunColumns<NoEpilogue>(_policy, dh, dh, a, Whh(), default, first, end);
                    var gates = _gates.AsSpan(t * _batch * _gh, _batch * _gh);
                    var dGates = _dGates.AsSpan(t * _batch * _gh, _batch * _gh);
                    var c = _cs.AsSpan((t + 1) * bh, bh);
                    var cPrev = StateEntering(_cs, _maskedPrevCell, resets, t);
                    var dc = _dc.AsSpan(0, bh);
                    for (int b = 0; b < _batch; b++)
                    {
                        int o = b * _h + first;
                        CellKernels.LstmBackward(_policy, gates.Slice(b * _gh + first), _h, c.Slice(o), cPrev.Slice(o), dh.Slice(o), dc.Slice(o), dGates.Slice(b * _gh + first), end - first);
                        if (!resets.IsEmpty && resets[t * _batch + b]) dc.Slice(o, end - first).Clear();
                    }
                    break;
                }
                default:
                {
                    Gemm.RunColumns<NoEpilogue>(_policy, dh, dh, a, Whh(), default, first, end);
                    var gates = _gates.AsSpan(t * _batch * _gh, _batch * _gh);
                    var nh = _nh.AsSpan(t * bh, bh);
                    var hPrev = StateEntering(_hs, _maskedPrev, resets, t);
                    var dGates = _dGates.AsSpan(t * _batch * _gh, _batch * _gh);
                    var dRec = _dRecurrent.AsSpan(t * _batch * _gh, _batch * _gh);
                    for (int b = 0; b < _batch; b++)
                    {
                        int o = b * _h + first;
                        // the direct path dh⊙z goes to dh_{t−1}, unless the state entering step t was reset (or t = 0)
                        var dhPrev = t > 0 && (resets.IsEmpty || !resets[t * _batch + b]) ? dOutput.Slice((t - 1) * bh + o) : _discard.AsSpan(first, end - first);
                        CellKernels.GruBackward(_policy, gates.Slice(b * _gh + first), _h, nh.Slice(o), hPrev.Slice(o), dh.Slice(o),
                            dGates.Slice(b * _gh + first), dRec.Slice(b * _gh + first), dhPrev, end - first);
                    }
                    break;
                }
            }
            barrier?.SignalAndWait();
        }
    }

    // W_hh as the backward recurrence reads it: packed panels for a batch, the parameters' own rows for a single row.
    private PanelView Whh() => _whh.Rows > 0 ? _whh.View() : PanelView.RowMajor(_current!.RecurrentWeights(_layer), _gh, _h);

    // Pack the weights a pass reads: W_hhᵀ and, for a dense input, W_ihᵀ (forward); W_hh for a batch (backward).
    private void Pack(RnnParameters p, bool forward)
    {
        _current = p;
        if (!forward)
        {
            if (_whh.Rows > 0) _whh.Pack(p.RecurrentWeights(_layer));
            return;
        }
        _whhT.PackTransposeOf(p.RecurrentWeights(_layer));
        if (_wihT.Rows > 0) _wihT.Pack(p.InputWeights(_layer));
    }

    /// <summary>The state entering step t: block t of <paramref name="states"/>, or a copy with the reset streams zeroed.</summary>
    private ReadOnlySpan<float> PreviousState(Span<float> states, Span<float> masked, ReadOnlySpan<bool> resets, int t)
    {
        int bh = _batch * _h;
        var prev = states.Slice(t * bh, bh);
        if (resets.IsEmpty || !resets.Slice(t * _batch, _batch).Contains(true)) return prev;
        var copy = masked.Slice(t * bh, bh);
        prev.CopyTo(copy);
        for (int b = 0; b < _batch; b++)
            if (resets[t * _batch + b]) copy.Slice(b * _h, _h).Clear();
        return copy;
    }

    /// <summary>The state step t saw in the forward pass (its masked copy was kept where a reset applied).</summary>
    private ReadOnlySpan<float> StateEntering(Span<float> states, Span<float> masked, ReadOnlySpan<bool> resets, int t)
    {
        int bh = _batch * _h;
        return resets.IsEmpty || !resets.Slice(t * _batch, _batch).Contains(true) ? states.Slice(t * bh, bh) : masked.Slice(t * bh, bh);
    }

    // The forward pass copied only the steps that had a reset into maskedPrev; dW_hh needs every step's h_{t−1}.
    private void CopyUnmaskedPrevious(Span<float> states, Span<float> masked, ReadOnlySpan<bool> resets, int steps)
    {
        int bh = _batch * _h;
        for (int t = 0; t < steps; t++)
            if (!resets.Slice(t * _batch, _batch).Contains(true))
                states.Slice(t * bh, bh).CopyTo(masked.Slice(t * bh, bh));
    }

    /// <summary>Rows of step t's [B, width] block, with the streams reset at t zeroed (a scratch copy only when needed).</summary>
    private ReadOnlySpan<float> MaskRows(Span<float> block, ReadOnlySpan<bool> resets, int t, int width)
    {
        if (resets.IsEmpty || !resets.Slice(t * _batch, _batch).Contains(true)) return block;
        var copy = _masked.AsSpan(0, _batch * width);
        block.CopyTo(copy);
        for (int b = 0; b < _batch; b++)
            if (resets[t * _batch + b]) copy.Slice(b * width, width).Clear();
        return copy;
    }
}
