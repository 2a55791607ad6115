using CharRnn.Fast.Model;

namespace CharRnn.Fast.Tests.Reference;

/// <summary>
/// One time step of one cell for one stream, with PyTorch's equations and gate order (torch.nn.RNN / LSTM / GRU
/// documentation), and what its backward pass needs. Plain loops in double precision.
/// </summary>
public sealed class NaiveCellStep
{
    private NaiveCellStep(double[] x, double[] hPrev, double[]? cPrev, double[] gates, double[]? hiddenN, double[] h, double[]? c)
    {
        X = x; HPrev = hPrev; CPrev = cPrev; Gates = gates; HiddenN = hiddenN; H = h; C = c;
    }

    public double[] X { get; }           // [in] the layer's input
    public double[] HPrev { get; }       // [H] the state this step saw
    public double[]? CPrev { get; }      // [H] LSTM only
    public double[] Gates { get; }       // [G·H] after their nonlinearities: rnn h; lstm i,f,g,o; gru r,z,n
    public double[]? HiddenN { get; }    // [H] GRU only: W_hn·h_prev + b_hn, the term r multiplies
    public double[] H { get; }           // [H]
    public double[]? C { get; }          // [H] LSTM only

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>W·v + b for the G·H rows of a layer tensor W [G·H, n].</summary>
    private static double[] Affine(double[] w, double[] b, double[] v)
    {
        var y = new double[b.Length];
        for (int r = 0; r < y.Length; r++)
        {
            double sum = b[r];
            for (int c = 0; c < v.Length; c++) sum += w[r * v.Length + c] * v[c];
            y[r] = sum;
        }
        return y;
    }

    /// <summary>One step from input x [in] and state h_prev [H] (c_prev [H] for LSTM).</summary>
    public static NaiveCellStep Forward(NaiveCell cell, Nonlinearity act, NaiveLayerTensors w, double[] x, double[] hPrev, double[]? cPrev)
    {
        int n = w.Hidden;
        var gi = Affine(w.WeightIh, w.BiasIh, x);       // W_ih·x + b_ih
        var gh = Affine(w.WeightHh, w.BiasHh, hPrev);   // W_hh·h + b_hh
        var gates = new double[w.Rows];
        var h = new double[n];
        switch (cell)
        {
            case NaiveCell.Rnn:
                for (int j = 0; j < n; j++)
                {
                    double a = gi[j] + gh[j];
                    h[j] = gates[j] = act == Nonlinearity.Tanh ? Math.Tanh(a) : Math.Max(0, a);
                }
                return new(x, hPrev, null, gates, null, h, null);
            case NaiveCell.Lstm:
                var c = new double[n];
                for (int j = 0; j < n; j++)
                {
                    double i = gates[j] = Sigmoid(gi[j] + gh[j]);
                    double f = gates[n + j] = Sigmoid(gi[n + j] + gh[n + j]);
                    double g = gates[2 * n + j] = Math.Tanh(gi[2 * n + j] + gh[2 * n + j]);
                    double o = gates[3 * n + j] = Sigmoid(gi[3 * n + j] + gh[3 * n + j]);
                    c[j] = f * cPrev![j] + i * g;
                    h[j] = o * Math.Tanh(c[j]);
                }
                return new(x, hPrev, cPrev, gates, null, h, c);
            case NaiveCell.Gru:
                var hiddenN = new double[n];
                for (int j = 0; j < n; j++)
                {
                    double r = gates[j] = Sigmoid(gi[j] + gh[j]);
                    double z = gates[n + j] = Sigmoid(gi[n + j] + gh[n + j]);
                    hiddenN[j] = gh[2 * n + j];
                    double nn = gates[2 * n + j] = Math.Tanh(gi[2 * n + j] + r * hiddenN[j]);
                    h[j] = (1 - z) * nn + z * hPrev[j];
                }
                return new(x, hPrev, null, gates, hiddenN, h, null);
            default: throw new ArgumentOutOfRangeException(nameof(cell), cell, null);
        }
    }

    /// <summary>
    /// Back-propagates dL/dh [H] (and dL/dc [H] for LSTM) through this step: adds the layer's parameter gradients to
    /// <paramref name="grad"/> and returns dL/dx [in], dL/dh_prev [H] and, for LSTM, dL/dc_prev [H].
    /// </summary>
    public (double[] Dx, double[] DhPrev, double[]? DcPrev) Backward(NaiveCell cell, Nonlinearity act, NaiveLayerTensors w, NaiveLayerTensors grad, double[] dh, double[]? dc)
    {
        int n = w.Hidden;
        var dgi = new double[w.Rows];   // dL/d(W_ih·x + b_ih)
        var dgh = new double[w.Rows];   // dL/d(W_hh·h + b_hh)
        var dhPrev = new double[n];
        double[]? dcPrev = null;
        switch (cell)
        {
            case NaiveCell.Rnn:
                for (int j = 0; j < n; j++)
                    dgi[j] = dgh[j] = dh[j] * (act == Nonlinearity.Tanh ? 1 - H[j] * H[j] : (H[j] > 0 ? 1 : 0));
                break;
            case NaiveCell.Lstm:
                dcPrev = new double[n];
                for (int j = 0; j < n; j++)
                {
                    double i = Gates[j], f = Gates[n + j], g = Gates[2 * n + j], o = Gates[3 * n + j], tc = Math.Tanh(C![j]);
                    double dcTotal = dc![j] + dh[j] * o * (1 - tc * tc);   // through h = o⊙tanh(c), plus from c_{t+1}
                    dgi[j] = dcTotal * g * i * (1 - i);                     // σ' = σ(1−σ)
                    dgi[n + j] = dcTotal * CPrev![j] * f * (1 - f);
                    dgi[2 * n + j] = dcTotal * i * (1 - g * g);
                    dgi[3 * n + j] = dh[j] * tc * o * (1 - o);
                    dcPrev[j] = dcTotal * f;
                }
                Array.Copy(dgi, dgh, dgi.Length);
                break;
            case NaiveCell.Gru:
                for (int j = 0; j < n; j++)
                {
                    double r = Gates[j], z = Gates[n + j], nn = Gates[2 * n + j];
                    double dn = dh[j] * (1 - z) * (1 - nn * nn);           // through tanh of n's pre-activation
                    double dz = dh[j] * (HPrev[j] - nn) * z * (1 - z);
                    double dr = dn * HiddenN![j] * r * (1 - r);
                    dgi[j] = dgh[j] = dr;
                    dgi[n + j] = dgh[n + j] = dz;
                    dgi[2 * n + j] = dn;
                    dgh[2 * n + j] = dn * r;                                // r ⊙ (W_hn·h + b_hn)
                    dhPrev[j] = dh[j] * z;                                  // the z⊙h_prev term
                }
                break;
            default: throw new ArgumentOutOfRangeException(nameof(cell), cell, null);
        }
        int inputs = X.Length;
        var dx = new double[inputs];
        for (int r = 0; r < w.Rows; r++)
        {
            grad.BiasIh[r] += dgi[r];
            grad.BiasHh[r] += dgh[r];
            for (int c = 0; c < inputs; c++)
            {
                grad.WeightIh[r * inputs + c] += dgi[r] * X[c];           // dW_ih += dgi ⊗ x
                dx[c] += w.WeightIh[r * inputs + c] * dgi[r];              // dx = W_ihᵀ·dgi
            }
            for (int c = 0; c < n; c++)
            {
                grad.WeightHh[r * n + c] += dgh[r] * HPrev[c];             // dW_hh += dgh ⊗ h_prev
                dhPrev[c] += w.WeightHh[r * n + c] * dgh[r];               // dh_prev += W_hhᵀ·dgh
            }
        }
        return (dx, dhPrev, dcPrev);
    }
}
