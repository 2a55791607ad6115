using CharRnn.Fast.Model;
using Xunit;

namespace CharRnn.Fast.Tests.Reference;

/// <summary>The oracle itself is checked: its analytic gradients against central finite differences (double precision).</summary>
public class ReferenceGradientTests
{
    private static NaiveRnn Random(int i, int h, int o, Nonlinearity act, int seed)
    {
        var rnn = new NaiveRnn(i, h, o, act);
        var rng = new Random(seed);
        foreach (var t in rnn.P.All) for (int k = 0; k < t.Length; k++) t[k] = (rng.NextDouble() - 0.5) * 1.2;
        return rnn;
    }

    private static void CheckAgainstFiniteDifferences(NaiveRnn rnn, NaiveTensors analytic, Func<double> objective, string what)
        => FiniteDifferences.Check(NaiveTensors.Names.Zip(rnn.P.All, analytic.All), objective, rnn.Act == Nonlinearity.Relu, what);

    [Theory]
    [InlineData(Nonlinearity.Tanh, 1, -1)]
    [InlineData(Nonlinearity.Tanh, 3, -1)]
    [InlineData(Nonlinearity.Tanh, 2, 0)]
    [InlineData(Nonlinearity.Relu, 2, -1)]
    public void Character_gradients_match_finite_differences(Nonlinearity act, int batch, int resetToken)
    {
        const int v = 4, h = 5, steps = 6;
        var rnn = Random(v, h, v, act, 11 + batch);
        var rng = new Random(3);
        var tokens = Enumerable.Range(0, steps * batch).Select(_ => rng.Next(v)).ToArray();
        var targets = Enumerable.Range(0, steps * batch).Select(_ => rng.Next(v)).ToArray();
        var start = Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, h).Select(_ => rng.NextDouble() - 0.5).ToArray()).ToArray();
        var chunk = rnn.ForwardBackward(tokens, targets, steps, batch, start, resetToken);
        CheckAgainstFiniteDifferences(rnn, chunk.Gradients, () => rnn.ForwardBackward(tokens, targets, steps, batch, start, resetToken).LossSum / batch, $"B={batch}");
    }

    [Fact]
    public void Dense_gradients_match_finite_differences()
    {
        const int i = 3, h = 5, o = 2, steps = 4;
        var rnn = Random(i, h, o, Nonlinearity.Tanh, 5);
        var rng = new Random(9);
        var inputs = Enumerable.Range(0, steps).Select(_ => Enumerable.Range(0, i).Select(_ => rng.NextDouble() - 0.5).ToArray()).ToArray();
        var dOut = Enumerable.Range(0, steps).Select(_ => Enumerable.Range(0, o).Select(_ => rng.NextDouble() - 0.5).ToArray()).ToArray();
        // objective Σ dOut ⊙ outputs, whose gradient with respect to the outputs is dOut (seed 002's "fake gradient")
        double Objective() => rnn.DenseForward(inputs).Outputs.Zip(dOut).Sum(p => p.First.Zip(p.Second).Sum(q => q.First * q.Second));
        CheckAgainstFiniteDifferences(rnn, rnn.DenseBackward(inputs, dOut), Objective, "dense");
    }

    [Fact]
    public void Reference_optimizer_steps_match_hand_computed_values()
    {
        var p = new NaiveTensors(1, 1, 1); var g = new NaiveTensors(1, 1, 1);
        p.Whh[0] = 1.0; g.Whh[0] = 0.5;
        NaiveOptimizers.Sgd(p, g, 0.1);
        Assert.Equal(0.95, p.Whh[0], 12);
        var mem = new NaiveTensors(1, 1, 1);
        NaiveOptimizers.Adagrad(p, g, mem, 0.1);
        Assert.Equal(0.95 - 0.1 * 0.5 / Math.Sqrt(0.25 + 1e-8), p.Whh[0], 12);
        var m = new NaiveTensors(1, 1, 1); var v = new NaiveTensors(1, 1, 1);
        p.Whh[0] = 1.0;
        NaiveOptimizers.Adam(p, g, m, v, 1, 0.01, 0.9, 0.999, 1e-8);   // t = 1: m̂ = g, v̂ = g², step = lr·g/|g|
        Assert.Equal(1.0 - 0.01 * 0.5 / (0.5 + 1e-8), p.Whh[0], 12);
        g.Whh[0] = -5; g.By[0] = 12;
        NaiveOptimizers.ClipElementwise(g, 5);
        Assert.Equal(-5, g.Whh[0]); Assert.Equal(5, g.By[0]);
        NaiveOptimizers.ClipGlobalNorm(g, 1);
        Assert.Equal(1, Math.Sqrt(g.All.Sum(t => t.Sum(x => x * x))), 12);
    }

    [Fact]
    public void RmsProp_follows_char_rnn_and_clipping_spans_every_layer()
    {
        var p = new NaiveStackTensors(NaiveCell.Lstm, 2, 2, 1, 2);
        var g = p.ZerosLike();
        var meanSquare = p.ZerosLike();
        p.Layers[1].WeightHh[0] = 1.0; g.Layers[1].WeightHh[0] = 0.5;
        NaiveOptimizers.RmsProp(p, g, meanSquare, 0.01);   // α = 0.95: m = 0.05·g², then w −= lr·g/(√m + 1e-8)
        Assert.Equal(1.0 - 0.01 * 0.5 / (Math.Sqrt(0.05 * 0.25) + 1e-8), p.Layers[1].WeightHh[0], 14);
        double w = p.Layers[1].WeightHh[0];
        NaiveOptimizers.RmsProp(p, g, meanSquare, 0.01, alpha: 0.9);
        double m = 0.9 * 0.05 * 0.25 + 0.1 * 0.25;
        Assert.Equal(m, meanSquare.Layers[1].WeightHh[0], 14);
        Assert.Equal(w - 0.01 * 0.5 / (Math.Sqrt(m) + 1e-8), p.Layers[1].WeightHh[0], 14);
        Assert.Equal(0, p.Layers[0].WeightHh[0]);   // a zero gradient moves nothing

        g.Layers[0].WeightIh[3] = 3; g.FcBias[1] = -4;
        NaiveOptimizers.ClipGlobalNorm(g, 1);
        Assert.Equal(1, Math.Sqrt(g.All.Sum(t => t.Sum(x => x * x))), 12);
        Assert.Equal(3 / Math.Sqrt(9 + 16 + 0.25), g.Layers[0].WeightIh[3], 12);
    }
}
