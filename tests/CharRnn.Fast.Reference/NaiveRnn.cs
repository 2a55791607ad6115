using CharRnn.Fast.Model;

namespace CharRnn.Fast.Tests.Reference;

/// <summary>Parameter-shaped double arrays: weights, their gradients, or optimizer moments (math layout of the seeds).</summary>
public sealed class NaiveTensors : INaiveTensorSet
{
    public double[] Wxh, Whh, Bh, Why, By;   // [H,I], [H,H], [H], [O,H], [O]

    public NaiveTensors(int inputs, int hidden, int outputs)
    {
        Wxh = new double[hidden * inputs]; Whh = new double[hidden * hidden]; Bh = new double[hidden];
        Why = new double[outputs * hidden]; By = new double[outputs];
    }

    public IEnumerable<double[]> All => [Wxh, Whh, Bh, Why, By];
    public static readonly string[] Names = ["Wxh", "Whh", "bh", "Why", "by"];
}

/// <summary>
/// The oracle: a vanilla RNN in plain loops and double precision, written to mirror the numpy seeds
/// (min-char-rnn / seeds 000, 001, 003 for the character model, seed 002 for dense inputs). No SIMD, no fusion.
/// </summary>
public sealed class NaiveRnn(int inputs, int hidden, int outputs, Nonlinearity act = Nonlinearity.Tanh)
{
    public int I { get; } = inputs;
    public int H { get; } = hidden;
    public int O { get; } = outputs;
    public Nonlinearity Act { get; } = act;
    public NaiveTensors P { get; } = new(inputs, hidden, outputs);

    /// <summary>Copies the engine's parameters (which keep Wxh transposed).</summary>
    public static NaiveRnn From(RnnParameters p, Nonlinearity act)
    {
        var s = p.Shape;
        var r = new NaiveRnn(s.InputSize, s.HiddenSize, s.OutputSize, act);
        for (int h = 0; h < s.HiddenSize; h++)
            for (int i = 0; i < s.InputSize; i++) r.P.Wxh[h * s.InputSize + i] = p.WxhT[i * s.HiddenSize + h];
        Copy(p.Whh, r.P.Whh); Copy(p.Bh, r.P.Bh); Copy(p.Why, r.P.Why); Copy(p.By, r.P.By);
        return r;
    }

    /// <summary>The same tensors in the engine's layout, to compare gradients or updated weights.</summary>
    public static double[] EngineLayout(NaiveTensors t, int inputs, int hidden)
    {
        var flat = new List<double>();
        for (int i = 0; i < inputs; i++) for (int h = 0; h < hidden; h++) flat.Add(t.Wxh[h * inputs + i]);
        flat.AddRange(t.Whh); flat.AddRange(t.Bh); flat.AddRange(t.Why); flat.AddRange(t.By);
        return flat.ToArray();
    }

    private static void Copy(ReadOnlySpan<float> from, double[] to) { for (int i = 0; i < to.Length; i++) to[i] = from[i]; }

    private double Activate(double x) => Act == Nonlinearity.Tanh ? Math.Tanh(x) : Math.Max(0, x);
    private double Derivative(double h) => Act == Nonlinearity.Tanh ? 1 - h * h : (h > 0 ? 1 : 0);

    /// <summary>One step of the cell: h = act(Wxh·x + Whh·h_prev + bh) with x given as a dense vector [I].</summary>
    public double[] Cell(double[] x, double[] hPrev)
    {
        var h = new double[H];
        for (int r = 0; r < H; r++)
        {
            double sum = P.Bh[r];
            for (int c = 0; c < I; c++) sum += P.Wxh[r * I + c] * x[c];        // np.dot(Wxh, x)
            for (int c = 0; c < H; c++) sum += P.Whh[r * H + c] * hPrev[c];    // np.dot(Whh, hs[t-1])
            h[r] = Activate(sum);
        }
        return h;
    }

    /// <summary>y = Why·h + by.</summary>
    public double[] Output(double[] h)
    {
        var y = new double[O];
        for (int r = 0; r < O; r++)
        {
            double sum = P.By[r];
            for (int c = 0; c < H; c++) sum += P.Why[r * H + c] * h[c];
            y[r] = sum;
        }
        return y;
    }

    public static double[] Softmax(double[] y, double temperature = 1)
    {
        double max = y.Max(v => v / temperature);
        var e = y.Select(v => Math.Exp(v / temperature - max)).ToArray();        // np.exp(x - np.max(x))
        double sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    public double[] OneHot(int token) { var x = new double[I]; x[token] = 1; return x; }

    /// <summary>Result of <see cref="ForwardBackward"/>.</summary>
    public sealed record Chunk(double LossSum, double[][] FinalStates, NaiveTensors Gradients);

    /// <summary>
    /// min-char-rnn's lossFun for B independent streams: inputs/targets [T,B] t-major, start states [B][H]. Where an
    /// input equals <paramref name="resetToken"/> the state entering that step is zero and no gradient crosses it.
    /// Gradients are of (1/B)·Σ_b Σ_t −log p (summed over time as in min-char-rnn, averaged over streams).
    /// </summary>
    public Chunk ForwardBackward(int[] tokens, int[] targets, int steps, int batch, double[][] start, int resetToken = -1)
    {
        var grads = new NaiveTensors(I, H, O);
        double loss = 0;
        var final = new double[batch][];
        for (int b = 0; b < batch; b++)
        {
            // forward pass (xs, hs, ps as in min-char-rnn; hsPrev is the state each step saw)
            var hs = new double[steps][];
            var hsPrev = new double[steps][];
            var ps = new double[steps][];
            var prev = start[b];
            for (int t = 0; t < steps; t++)
            {
                int x = tokens[t * batch + b];
                hsPrev[t] = x == resetToken ? new double[H] : prev;
                hs[t] = Cell(OneHot(x), hsPrev[t]);
                ps[t] = Softmax(Output(hs[t]));
                loss += -Math.Log(ps[t][targets[t * batch + b]]);                 // softmax (cross-entropy loss)
                prev = hs[t];
            }
            final[b] = prev;
            // backward pass
            var dhNext = new double[H];
            for (int t = steps - 1; t >= 0; t--)
            {
                var dy = (double[])ps[t].Clone();
                dy[targets[t * batch + b]] -= 1;                                    // backprop into y
                for (int o = 0; o < O; o++) dy[o] /= batch;
                for (int o = 0; o < O; o++)
                {
                    for (int c = 0; c < H; c++) grads.Why[o * H + c] += dy[o] * hs[t][c];   // dWhy += np.dot(dy, hs[t].T)
                    grads.By[o] += dy[o];
                }
                var dhRaw = new double[H];
                for (int r = 0; r < H; r++)
                {
                    double dh = dhNext[r];
                    for (int o = 0; o < O; o++) dh += P.Why[o * H + r] * dy[o];    // dh = np.dot(Why.T, dy) + dhnext
                    dhRaw[r] = Derivative(hs[t][r]) * dh;                          // backprop through tanh
                }
                int x = tokens[t * batch + b];
                for (int r = 0; r < H; r++)
                {
                    grads.Bh[r] += dhRaw[r];
                    grads.Wxh[r * I + x] += dhRaw[r];                               // dWxh += np.dot(dhraw, xs[t].T)
                    for (int c = 0; c < H; c++) grads.Whh[r * H + c] += dhRaw[r] * hsPrev[t][c];
                }
                dhNext = new double[H];
                if (x != resetToken)
                    for (int c = 0; c < H; c++)
                        for (int r = 0; r < H; r++) dhNext[c] += P.Whh[r * H + c] * dhRaw[r];   // dhnext = np.dot(Whh.T, dhraw)
            }
        }
        return new Chunk(loss, final, grads);
    }

    /// <summary>Seed 002's forward: dense inputs [T][I], linear outputs [T][O]; returns (outputs, states).</summary>
    public (double[][] Outputs, double[][] States) DenseForward(double[][] inputs, double[]? h0 = null)
    {
        var prev = h0 ?? new double[H];
        var outputs = new double[inputs.Length][];
        var states = new double[inputs.Length + 1][];
        states[0] = prev;
        for (int t = 0; t < inputs.Length; t++)
        {
            states[t + 1] = Cell(inputs[t], states[t]);
            outputs[t] = Output(states[t + 1]);
        }
        return (outputs, states);
    }

    /// <summary>Seed 002's backward with caller-supplied output gradients dy [T][O].</summary>
    public NaiveTensors DenseBackward(double[][] inputs, double[][] dOutputs, double[]? h0 = null)
    {
        var (_, hs) = DenseForward(inputs, h0);
        var g = new NaiveTensors(I, H, O);
        var dhNext = new double[H];
        for (int t = inputs.Length - 1; t >= 0; t--)
        {
            var dy = dOutputs[t];
            for (int o = 0; o < O; o++) { for (int c = 0; c < H; c++) g.Why[o * H + c] += dy[o] * hs[t + 1][c]; g.By[o] += dy[o]; }
            var dhRaw = new double[H];
            for (int r = 0; r < H; r++)
            {
                double dh = dhNext[r];
                for (int o = 0; o < O; o++) dh += P.Why[o * H + r] * dy[o];
                dhRaw[r] = dh * Derivative(hs[t + 1][r]);
            }
            for (int r = 0; r < H; r++)
            {
                g.Bh[r] += dhRaw[r];
                for (int c = 0; c < I; c++) g.Wxh[r * I + c] += dhRaw[r] * inputs[t][c];
                for (int c = 0; c < H; c++) g.Whh[r * H + c] += dhRaw[r] * hs[t][c];
            }
            dhNext = new double[H];
            for (int c = 0; c < H; c++) for (int r = 0; r < H; r++) dhNext[c] += P.Whh[r * H + c] * dhRaw[r];
        }
        return g;
    }
}
