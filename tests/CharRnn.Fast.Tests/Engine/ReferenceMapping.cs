using CharRnn.Fast.Model;
using CharRnn.Fast.Tests.Kernels;
using CharRnn.Fast.Tests.Reference;

namespace CharRnn.Fast.Tests.Engine;

/// <summary>
/// The reference's PyTorch-layout tensors against the engine's parameter block: W_ih stored transposed, one bias per
/// gate row (b_ih + b_hh), GRU's b_hn apart.
/// </summary>
internal static class ReferenceMapping
{
    public static CellKind ToEngine(this NaiveCell cell) => cell switch
    {
        NaiveCell.Lstm => CellKind.Lstm,
        NaiveCell.Gru => CellKind.Gru,
        _ => CellKind.Rnn,
    };

    /// <summary>The engine's parameters for the reference model <paramref name="reference"/> (biases folded where exact).</summary>
    public static RnnParameters ToEngine(NaiveStackedRnn reference)
    {
        var shape = new RnnShape(reference.I, reference.H, reference.O, reference.Cell.ToEngine(), reference.Layers);
        var p = new RnnParameters(shape);
        int h = reference.H;
        for (int l = 0; l < reference.Layers; l++)
        {
            var t = reference.P.Layers[l];
            Transpose(t.WeightIh, t.Rows, t.Inputs, p.InputWeights(l));
            Copy(t.WeightHh, p.RecurrentWeights(l));
            var bias = p.Bias(l);
            for (int r = 0; r < t.Rows; r++)
                bias[r] = (float)(t.BiasIh[r] + (reference.Cell.BiasFolds(r, h) ? t.BiasHh[r] : 0));
            if (reference.Cell == NaiveCell.Gru) Copy(t.BiasHh.AsSpan(2 * h, h), p.NewGateHiddenBias(l));
        }
        Copy(reference.P.FcWeight, p.OutputWeights);
        Copy(reference.P.FcBias, p.OutputBias);
        return p;
    }

    /// <summary>
    /// Compares the engine's gradient with the reference's, tensor by tensor: |actual − expected| ≤ rel·(largest |expected|
    /// of the tensor) + abs. The folded bias's gradient is bias_ih's (bias_hh's is the same where it folds).
    /// </summary>
    public static void AssertGradients(RnnParameters engine, NaiveStackTensors reference, double rel, double abs, string what)
    {
        int h = engine.Shape.HiddenSize;
        for (int l = 0; l < reference.Layers.Length; l++)
        {
            var t = reference.Layers[l];
            var weightIh = new double[t.WeightIh.Length];
            for (int r = 0; r < t.Rows; r++)
                for (int c = 0; c < t.Inputs; c++) weightIh[c * t.Rows + r] = t.WeightIh[r * t.Inputs + c];
            Assert(engine.InputWeights(l), weightIh, rel, abs, $"{what} dW_ih l{l}");
            Assert(engine.RecurrentWeights(l), t.WeightHh, rel, abs, $"{what} dW_hh l{l}");
            Assert(engine.Bias(l), t.BiasIh, rel, abs, $"{what} db l{l}");
            if (reference.Cell == NaiveCell.Gru) Assert(engine.NewGateHiddenBias(l), t.BiasHh.AsSpan(2 * h, h).ToArray(), rel, abs, $"{what} db_hn l{l}");
        }
        Assert(engine.OutputWeights, reference.FcWeight, rel, abs, $"{what} dfc.weight");
        Assert(engine.OutputBias, reference.FcBias, rel, abs, $"{what} dfc.bias");
    }

    public static void Assert(ReadOnlySpan<float> actual, double[] expected, double rel, double abs, string what)
    {
        double magnitude = 0;
        foreach (double e in expected) magnitude = Math.Max(magnitude, Math.Abs(e));
        var scale = new double[expected.Length];
        Array.Fill(scale, magnitude);
        Close.Assert(actual, expected, scale, rel, abs, what);
    }

    private static void Transpose(double[] source, int rows, int cols, Span<float> destination)
    {
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) destination[c * rows + r] = (float)source[r * cols + c];
    }

    private static void Copy(ReadOnlySpan<double> source, Span<float> destination)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = (float)source[i];
    }
}
