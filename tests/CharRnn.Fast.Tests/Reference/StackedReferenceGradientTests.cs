using CharRnn.Fast.Model;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace CharRnn.Fast.Tests.Reference;

/// <summary>
/// The deeper oracle checked by central finite differences: every parameter and the initial state (h, and c for
/// LSTM), for every cell and L ∈ {1, 2, 3}, over random small shapes, with and without dropout (a fixed mask) and
/// sequence resets, for the character model and the dense one (whose input gradient is checked too).
/// </summary>
public class StackedReferenceGradientTests
{
    public sealed record Shape(int Inputs, int Hidden, int Outputs, int Steps, int Batch, int Seed, bool Dropout, bool Resets);

    private static Gen<Shape> Shapes =>
        from i in Gen.Choose(1, 5) from h in Gen.Choose(1, 5) from o in Gen.Choose(1, 5) from t in Gen.Choose(1, 5) from b in Gen.Choose(1, 5)
        from seed in Gen.Choose(0, int.MaxValue) from dropout in Gen.Elements(false, true) from resets in Gen.Elements(false, true)
        select new Shape(i, h, o, t, b, seed, dropout, resets);

    private static void Property(Gen<Shape> gen, Action<Shape> check, int tests)
        => Prop.ForAll(gen.ToArbitrary(), check).Check(Config.QuickThrowOnFailure.WithMaxTest(tests).WithQuietOnSuccess(true));

    public static TheoryData<NaiveCell, Nonlinearity, int> Models()
    {
        var data = new TheoryData<NaiveCell, Nonlinearity, int>();
        foreach (var (cell, act) in new[] { (NaiveCell.Rnn, Nonlinearity.Tanh), (NaiveCell.Rnn, Nonlinearity.Relu), (NaiveCell.Lstm, Nonlinearity.Tanh), (NaiveCell.Gru, Nonlinearity.Tanh) })
            for (int layers = 1; layers <= 3; layers++) data.Add(cell, act, layers);
        return data;
    }

    /// <summary>A model with every tensor, both biases included, uniform in ±0.6.</summary>
    private static NaiveStackedRnn RandomModel(NaiveCell cell, Nonlinearity act, int layers, int inputs, int hidden, int outputs, Random rng)
    {
        var model = new NaiveStackedRnn(cell, layers, inputs, hidden, outputs, act);
        model.P.FillUniform(rng, 0.6);
        return model;
    }

    /// <summary>Every parameter, then h0 (and c0), each with its analytic gradient.</summary>
    private static IEnumerable<(string, double[], double[])> Tensors(NaiveStackedRnn model, NaiveBackward backward, NaiveState start)
        => model.P.Names.Zip(model.P.All, backward.Gradients.All)
            .Concat(start.All.Zip(backward.StartGradient.All, (s, g) => (s == start.H ? "h0" : "c0", s, g)));

    [Theory]
    [MemberData(nameof(Models))]
    public void Character_model_gradients_match_finite_differences(NaiveCell cell, Nonlinearity act, int layers) => Property(Shapes, s =>
    {
        var rng = new Random(s.Seed);
        int v = s.Inputs;
        var model = RandomModel(cell, act, layers, v, s.Hidden, v, rng);
        var tokens = Enumerable.Range(0, s.Steps * s.Batch).Select(_ => rng.Next(v)).ToArray();
        var targets = Enumerable.Range(0, s.Steps * s.Batch).Select(_ => rng.Next(v)).ToArray();
        var start = NaiveState.Random(cell, layers, s.Batch, s.Hidden, rng);
        var mask = s.Dropout ? NaiveDropout.Mask(rng, layers, s.Steps, s.Batch, s.Hidden, 0.4) : null;
        int reset = s.Resets ? 0 : -1;
        var chunk = model.ForwardBackward(tokens, targets, s.Steps, s.Batch, start, mask, reset);
        FiniteDifferences.Check(Tensors(model, chunk.Backward, start),
            () => model.ForwardBackward(tokens, targets, s.Steps, s.Batch, start, mask, reset).LossSum / s.Batch, act == Nonlinearity.Relu, s.ToString());
    }, tests: 12);

    [Theory]
    [MemberData(nameof(Models))]
    public void Dense_model_gradients_match_finite_differences(NaiveCell cell, Nonlinearity act, int layers) => Property(Shapes, s =>
    {
        var rng = new Random(s.Seed);
        var model = RandomModel(cell, act, layers, s.Inputs, s.Hidden, s.Outputs, rng);
        var inputs = Enumerable.Range(0, s.Steps * s.Batch * s.Inputs).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var dOutputs = Enumerable.Range(0, s.Steps * s.Batch * s.Outputs).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var start = NaiveState.Random(cell, layers, s.Batch, s.Hidden, rng);
        var mask = s.Dropout ? NaiveDropout.Mask(rng, layers, s.Steps, s.Batch, s.Hidden, 0.3) : null;
        // seed 002's objective Σ dOut ⊙ outputs, whose gradient with respect to the outputs is dOut
        double Objective() => model.DenseForward(inputs, s.Steps, s.Batch, start, mask).Outputs.Zip(dOutputs).Sum(p => p.First * p.Second);
        var backward = model.DenseBackward(inputs, dOutputs, s.Steps, s.Batch, start, mask);
        FiniteDifferences.Check(Tensors(model, backward, start).Append(("x", inputs, backward.InputGradient)), Objective, act == Nonlinearity.Relu, s.ToString());
    }, tests: 12);
}
