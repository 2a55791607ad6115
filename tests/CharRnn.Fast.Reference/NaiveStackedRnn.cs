using CharRnn.Fast.Model;

namespace CharRnn.Fast.Tests.Reference;

/// <summary>The outputs of a forward pass.</summary>
/// <param name="Outputs">[T,B,O]: logits of the character model, linear outputs of the dense one</param>
/// <param name="LayerOutputs">[L][T,B,H]: each layer's h_t, before dropout</param>
/// <param name="Final">the state after the last step, [L,B,H]</param>
public sealed record NaiveForward(double[] Outputs, double[][] LayerOutputs, NaiveState Final);

/// <summary>The gradients of a backward pass.</summary>
/// <param name="Gradients">every parameter's gradient, <see cref="NaiveStackTensors"/> layout</param>
/// <param name="StartGradient">dL/d(initial state) [L,B,H] (h, and c for LSTM)</param>
/// <param name="InputGradient">dL/dx for layer 0's inputs [T,B,I]</param>
public sealed record NaiveBackward(NaiveStackTensors Gradients, NaiveState StartGradient, double[] InputGradient);

/// <summary>A character-model training chunk: Σ −log p over all T·B predictions, the forward pass, and the gradients of LossSum / B.</summary>
public sealed record NaiveChunk(double LossSum, NaiveForward Forward, NaiveBackward Backward);

/// <summary>
/// The oracle for deeper models: L layers of one cell type (<see cref="NaiveCell"/>: rnn with tanh or relu, lstm, gru)
/// with PyTorch's equations, gate order and tensor layouts (<see cref="NaiveStackTensors"/>), both biases real
/// parameters, dropout between layers from a given mask (<see cref="NaiveDropout"/>), and a linear head
/// y = fc.weight·h^L + fc.bias. The character model feeds one-hot tokens and trains on softmax cross-entropy with
/// min-char-rnn's conventions (<see cref="NaiveRnn"/>); the dense model (seed 002) feeds vectors and takes the output
/// gradient from the caller. Plain loops, double precision, one stream at a time; no SIMD, no fusion.
/// </summary>
public sealed class NaiveStackedRnn
{
    public NaiveStackedRnn(NaiveCell cell, int layers, int inputs, int hidden, int outputs, Nonlinearity act = Nonlinearity.Tanh)
    {
        if (act == Nonlinearity.Relu && cell != NaiveCell.Rnn) throw new ArgumentException("relu applies to the rnn cell only", nameof(act));
        Cell = cell; Layers = layers; I = inputs; H = hidden; O = outputs; Act = act;
        P = new NaiveStackTensors(cell, layers, inputs, hidden, outputs);
    }

    /// <summary>The character model over a vocabulary of <paramref name="vocabulary"/>: I = O = V.</summary>
    public static NaiveStackedRnn ForCharacters(NaiveCell cell, int layers, int vocabulary, int hidden, Nonlinearity act = Nonlinearity.Tanh)
        => new(cell, layers, vocabulary, hidden, vocabulary, act);

    public NaiveCell Cell { get; }
    public int Layers { get; }
    public int I { get; }
    public int H { get; }
    public int O { get; }
    public Nonlinearity Act { get; }
    public NaiveStackTensors P { get; private init; }

    public NaiveStackedRnn Clone() => new(Cell, Layers, I, H, O, Act) { P = P.Clone() };

    /// <summary>
    /// The same function with one bias per gate row, as the engine and its checkpoints keep it: bias_hh added into
    /// bias_ih and zeroed, except GRU's b_hn (the n rows of bias_hh), which stays (<see cref="NaiveCells.BiasFolds"/>).
    /// </summary>
    public NaiveStackedRnn WithFoldedBiases()
    {
        var folded = Clone();
        foreach (var layer in folded.P.Layers)
            for (int r = 0; r < layer.Rows; r++)
                if (Cell.BiasFolds(r, H)) { layer.BiasIh[r] += layer.BiasHh[r]; layer.BiasHh[r] = 0; }
        return folded;
    }

    /// <summary>The character model's forward pass: tokens [T,B] t-major; see <see cref="ForwardBackward"/>.</summary>
    public NaiveForward Forward(int[] tokens, int steps, int batch, NaiveState start, double[]? dropoutMask = null, int resetToken = -1)
        => Run(OneHot(tokens), steps, batch, start, dropoutMask, Resets(tokens, resetToken)).Forward;

    /// <summary>
    /// min-char-rnn's lossFun for B streams through L layers: inputs and targets [T,B] t-major, start state [L,B,H].
    /// Where an input equals <paramref name="resetToken"/> the state entering that step is zero in every layer and no
    /// gradient crosses it. The loss is Σ_b Σ_t −log p; the gradients are of LossSum / B (summed over time, averaged
    /// over streams). <paramref name="dropoutMask"/> [L−1,T,B,H] (null: no dropout) is applied between layers.
    /// </summary>
    public NaiveChunk ForwardBackward(int[] tokens, int[] targets, int steps, int batch, NaiveState start, double[]? dropoutMask = null, int resetToken = -1)
    {
        if (targets.Length != steps * batch) throw new ArgumentException($"targets must be [{steps},{batch}]", nameof(targets));
        var trace = Run(OneHot(tokens), steps, batch, start, dropoutMask, Resets(tokens, resetToken));
        var logits = trace.Forward.Outputs;
        var dLogits = new double[logits.Length];   // [T,B,V]
        double loss = 0;
        for (int k = 0; k < steps * batch; k++)
        {
            var p = NaiveRnn.Softmax(logits[(k * O)..((k + 1) * O)]);
            loss += -Math.Log(p[targets[k]]);                                  // softmax cross-entropy
            p[targets[k]] -= 1;                                                // dy = p − onehot
            for (int o = 0; o < O; o++) dLogits[k * O + o] = p[o] / batch;     // averaged over streams
        }
        return new NaiveChunk(loss, trace.Forward, Backprop(trace, dLogits));
    }

    /// <summary>Seed 002's forward, generalised: dense inputs [T,B,I], linear outputs [T,B,O]; zero start state if null.</summary>
    public NaiveForward DenseForward(double[] inputs, int steps, int batch, NaiveState? start = null, double[]? dropoutMask = null)
        => Run(inputs, steps, batch, start ?? NaiveState.Zero(Cell, Layers, batch, H), dropoutMask, null).Forward;

    /// <summary>Seed 002's backward, generalised: gradients for caller-supplied dL/dy [T,B,O] through the same forward pass.</summary>
    public NaiveBackward DenseBackward(double[] inputs, double[] dOutputs, int steps, int batch, NaiveState? start = null, double[]? dropoutMask = null)
    {
        if (dOutputs.Length != steps * batch * O) throw new ArgumentException($"dOutputs must be [{steps},{batch},{O}]", nameof(dOutputs));
        return Backprop(Run(inputs, steps, batch, start ?? NaiveState.Zero(Cell, Layers, batch, H), dropoutMask, null), dOutputs);
    }

    // ----------------------------------------------------------------------------------------------------------------
    // forward and backward over T steps × B streams

    /// <summary>The forward pass and every step's cache, [L][T·B] (index t·B + b).</summary>
    private sealed record Trace(NaiveForward Forward, NaiveCellStep[][] Steps, int StepCount, int Batch, double[]? Mask, bool[]? Resets);

    private double[] OneHot(int[] tokens)
    {
        var x = new double[tokens.Length * I];   // [T,B,V]
        for (int k = 0; k < tokens.Length; k++) x[k * I + tokens[k]] = 1;
        return x;
    }

    private static bool[]? Resets(int[] tokens, int resetToken) => resetToken < 0 ? null : tokens.Select(x => x == resetToken).ToArray();

    private static double[] Row(double[] data, int index, int width) => data[(index * width)..((index + 1) * width)];

    private Trace Run(double[] inputs, int steps, int batch, NaiveState start, double[]? mask, bool[]? resets)
    {
        if (steps < 1 || batch < 1 || inputs.Length != steps * batch * I) throw new ArgumentException($"inputs must be [{steps},{batch},{I}]", nameof(inputs));
        if (start.H.Length != Layers * batch * H || (Cell == NaiveCell.Lstm) != (start.C is not null) || (start.C is not null && start.C.Length != start.H.Length))
            throw new ArgumentException($"the start state must be h [{Layers},{batch},{H}]{(Cell == NaiveCell.Lstm ? " and c of the same shape" : "")}", nameof(start));
        if (mask is not null && mask.Length != (Layers - 1) * steps * batch * H) throw new ArgumentException($"the dropout mask must be [{Layers - 1},{steps},{batch},{H}]", nameof(mask));
        int positions = steps * batch;
        var cache = new NaiveCellStep[Layers][];
        var layerOutputs = new double[Layers][];
        var final = NaiveState.Zero(Cell, Layers, batch, H);
        var below = Enumerable.Range(0, positions).Select(k => Row(inputs, k, I)).ToArray();   // [T·B][in] this layer's inputs
        for (int l = 0; l < Layers; l++)
        {
            cache[l] = new NaiveCellStep[positions];
            for (int b = 0; b < batch; b++)
            {
                var h = Row(start.H, l * batch + b, H);
                var c = start.C is null ? null : Row(start.C, l * batch + b, H);
                for (int t = 0; t < steps; t++)
                {
                    int k = t * batch + b;
                    if (resets?[k] == true) { h = new double[H]; c = c is null ? null : new double[H]; }   // the sequence restarts
                    var step = NaiveCellStep.Forward(Cell, Act, P.Layers[l], below[k], h, c);
                    cache[l][k] = step;
                    h = step.H; c = step.C;
                }
                h.CopyTo(final.H, (l * batch + b) * H);
                c?.CopyTo(final.C!, (l * batch + b) * H);
            }
            layerOutputs[l] = cache[l].SelectMany(s => s.H).ToArray();
            // the next layer's input: h^l, dropped where the mask says (every layer but the last)
            below = cache[l].Select((s, k) => mask is null || l == Layers - 1 ? s.H : s.H.Select((v, j) => v * mask[(l * positions + k) * H + j]).ToArray()).ToArray();
        }
        var outputs = new double[positions * O];   // [T,B,O] = fc.weight·h^L + fc.bias
        for (int k = 0; k < positions; k++)
            for (int o = 0; o < O; o++)
            {
                double sum = P.FcBias[o];
                for (int j = 0; j < H; j++) sum += P.FcWeight[o * H + j] * below[k][j];
                outputs[k * O + o] = sum;
            }
        return new Trace(new NaiveForward(outputs, layerOutputs, final), cache, steps, batch, mask, resets);
    }

    /// <summary>Back-propagates dL/dy [T,B,O] through the head, then each layer from the top, each backwards in time.</summary>
    private NaiveBackward Backprop(Trace trace, double[] dOutputs)
    {
        int steps = trace.StepCount, batch = trace.Batch, positions = steps * batch;
        var grad = P.ZerosLike();
        var dStart = NaiveState.Zero(Cell, Layers, batch, H);
        // head: dfc.weight += dy ⊗ h^L, dfc.bias += dy, dh^L = fc.weightᵀ·dy
        var dAbove = new double[positions][];   // [T·B][H] dL/d(this layer's output) from above
        for (int k = 0; k < positions; k++)
        {
            var hTop = trace.Steps[Layers - 1][k].H;
            dAbove[k] = new double[H];
            for (int o = 0; o < O; o++)
            {
                double dy = dOutputs[k * O + o];
                grad.FcBias[o] += dy;
                for (int j = 0; j < H; j++) { grad.FcWeight[o * H + j] += dy * hTop[j]; dAbove[k][j] += P.FcWeight[o * H + j] * dy; }
            }
        }
        var dInputs = new double[positions][];
        for (int l = Layers - 1; l >= 0; l--)
        {
            for (int b = 0; b < batch; b++)
            {
                var dhNext = new double[H];
                var dcNext = Cell == NaiveCell.Lstm ? new double[H] : null;
                for (int t = steps - 1; t >= 0; t--)
                {
                    int k = t * batch + b;
                    var dh = dAbove[k].Zip(dhNext, (a, n) => a + n).ToArray();
                    var (dx, dhPrev, dcPrev) = trace.Steps[l][k].Backward(Cell, Act, P.Layers[l], grad.Layers[l], dh, dcNext);
                    dInputs[k] = dx;
                    bool restarted = trace.Resets?[k] == true;   // the state entering this step was zero: nothing crosses
                    dhNext = restarted ? new double[H] : dhPrev;
                    dcNext = restarted && dcPrev is not null ? new double[H] : dcPrev;
                }
                dhNext.CopyTo(dStart.H, (l * batch + b) * H);
                dcNext?.CopyTo(dStart.C!, (l * batch + b) * H);
            }
            if (l > 0)   // through the dropout between layer l−1 and l
                dAbove = dInputs.Select((d, k) => trace.Mask is null ? d : d.Select((v, j) => v * trace.Mask[((l - 1) * positions + k) * H + j]).ToArray()).ToArray();
        }
        return new NaiveBackward(grad, dStart, dInputs.SelectMany(d => d).ToArray());
    }
}
