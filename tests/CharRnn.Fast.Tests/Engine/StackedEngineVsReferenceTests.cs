using CharRnn.Fast.Inference;
using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;
using CharRnn.Fast.Tests.Reference;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using FsCheck;
using FsCheck.Fluent;
using Xunit;
using static CharRnn.Fast.Tests.Kernels.PolicySweep;

namespace CharRnn.Fast.Tests.Engine;

/// <summary>
/// Stacked rnn, LSTM and GRU layers against the naive double-precision reference (PyTorch's equations, checked by
/// finite differences and by PyTorch itself), for random shapes, resets and dropout, on every kernel policy.
/// </summary>
public class StackedEngineVsReferenceTests
{
    public sealed record Case(NaiveCell Cell, int Layers, int V, int H, int B, int T, int Seed, Nonlinearity Act, bool Resets, double Dropout);

    private static Gen<Case> Cases =>
        from cell in Gen.Elements(NaiveCell.Rnn, NaiveCell.Lstm, NaiveCell.Gru) from layers in Gen.Choose(1, 3)
        from v in Gen.Choose(2, 40) from h in Gen.Frequency((4, Gen.Choose(1, 40)), (1, Gen.Choose(41, 70)))
        from b in Gen.Choose(1, 4) from t in Gen.Choose(1, 12) from seed in Gen.Choose(0, int.MaxValue)
        from relu in Gen.Elements(false, false, true) from resets in Gen.Elements(false, true) from dropout in Gen.Elements(0.0, 0.0, 0.3)
        select new Case(cell, layers, v, h, b, t, seed, relu && cell == NaiveCell.Rnn ? Nonlinearity.Relu : Nonlinearity.Tanh, resets, dropout);

    /// <summary>
    /// A reference model with uniform ±0.4 weights and biases (b_hh nonzero, so folding is exercised), except W_hh, drawn
    /// as ±1.5/√H: a contractive recurrence (in a chaotic one float and double diverge by design).
    /// </summary>
    internal static NaiveStackedRnn RandomReference(NaiveCell cell, int layers, int v, int h, Nonlinearity act, Random rng)
    {
        var reference = NaiveStackedRnn.ForCharacters(cell, layers, v, h, act);
        reference.P.FillUniform(rng, 0.4);
        double recurrent = Math.Min(0.4, 1.5 / Math.Sqrt(h));
        foreach (var layer in reference.P.Layers)
            for (int i = 0; i < layer.WeightHh.Length; i++) layer.WeightHh[i] = (rng.NextDouble() * 2 - 1) * recurrent;
        return reference;
    }

    /// <summary>The engine's masks for one chunk, in the reference's layout [L−1,T,B,H].</summary>
    internal static double[] EngineMasks(int layers, int steps, int batch, int h, DropoutDraw dropout)
    {
        var masks = new double[Math.Max(0, layers - 1) * steps * batch * h];
        var unit = new float[h];
        for (int l = 0; l < layers - 1; l++)
            for (int t = 0; t < steps; t++)
                for (int b = 0; b < batch; b++)
                {
                    DropoutMask.Fill(unit, (float)dropout.P, dropout.Seed, dropout.Step, l, dropout.FirstStream + b, t);
                    for (int u = 0; u < h; u++) masks[((l * steps + t) * batch + b) * h + u] = unit[u];
                }
        return masks;
    }

    [Fact]
    public void Forward_loss_states_and_every_gradient_match_the_reference() => Property(Cases, (policy, c) =>
    {
        var rng = new Random(c.Seed);
        var reference = RandomReference(c.Cell, c.Layers, c.V, c.H, c.Act, rng);
        var parameters = ReferenceMapping.ToEngine(reference);
        var shape = parameters.Shape;
        var tokens = Enumerable.Range(0, c.T * c.B).Select(_ => rng.Next(c.V)).ToArray();
        var targets = Enumerable.Range(0, c.T * c.B).Select(_ => rng.Next(c.V)).ToArray();
        var start = NaiveState.Random(c.Cell, c.Layers, c.B, c.H, rng);
        var state = start.All.SelectMany(x => x).Select(x => (float)x).ToArray();
        int reset = c.Resets ? 0 : -1;
        var dropout = c.Dropout > 0 ? new DropoutDraw(c.Dropout, (ulong)c.Seed, 17, 0) : default;
        double[]? masks = c.Dropout > 0 && c.Layers > 1 ? EngineMasks(c.Layers, c.T, c.B, c.H, dropout) : null;

        var expected = reference.ForwardBackward(tokens, targets, c.T, c.B, start, masks, reset);
        var gradient = new RnnParameters(shape);
        gradient.All.Fill(float.NaN); // overwritten, never added to: whatever the block held must not show
        double loss = new TruncatedBptt(shape, c.T, c.B, policy, c.Act).ForwardBackward(parameters, gradient, tokens, targets, state, reset, 0, dropout);

        Xunit.Assert.True(Math.Abs(loss - expected.LossSum) <= 1e-4 * (1 + expected.LossSum), $"loss {loss} vs {expected.LossSum} ({c})");
        ReferenceMapping.Assert(state, expected.Forward.Final.All.SelectMany(x => x).ToArray(), 1e-4, 1e-5, $"final state {c}");
        ReferenceMapping.AssertGradients(gradient, expected.Backward.Gradients, 3e-4, 1e-6, c.ToString());
    }, tests: 60);

    [Fact]
    public void Evaluation_loss_matches_the_reference_without_dropout() => Property(Cases, (policy, c) =>
    {
        var rng = new Random(c.Seed);
        var reference = RandomReference(c.Cell, c.Layers, c.V, c.H, c.Act, rng);
        var parameters = ReferenceMapping.ToEngine(reference);
        var tokens = Enumerable.Range(0, c.T * c.B).Select(_ => rng.Next(c.V)).ToArray();
        var targets = Enumerable.Range(0, c.T * c.B).Select(_ => rng.Next(c.V)).ToArray();
        var state = new float[parameters.Shape.StateSize(c.B)];
        var expected = reference.ForwardBackward(tokens, targets, c.T, c.B, NaiveState.Zero(c.Cell, c.Layers, c.B, c.H));
        double loss = new TruncatedBptt(parameters.Shape, c.T, c.B, policy, c.Act).Loss(parameters, tokens, targets, state);
        Xunit.Assert.True(Math.Abs(loss - expected.LossSum) <= 1e-4 * (1 + expected.LossSum), $"loss {loss} vs {expected.LossSum} ({c})");
    }, tests: 30);

    [Fact]
    public void Dense_input_outputs_and_gradients_match_the_reference() => Property(
        from cell in Gen.Elements(NaiveCell.Rnn, NaiveCell.Lstm, NaiveCell.Gru) from layers in Gen.Choose(1, 3)
        from i in Gen.Choose(1, 12) from h in Gen.Choose(1, 40) from o in Gen.Choose(1, 12) from t in Gen.Choose(1, 15) from seed in Gen.Choose(0, int.MaxValue)
        select (cell, layers, i, h, o, t, seed), (policy, c) =>
    {
        var rng = new Random(c.seed);
        var reference = new NaiveStackedRnn(c.cell, c.layers, c.i, c.h, c.o);
        reference.P.FillUniform(rng, 0.4);
        var engine = ReferenceMapping.ToEngine(reference);
        var rnn = new DenseRnn(engine.Shape, 15, Nonlinearity.Tanh, policy);
        engine.All.CopyTo(rnn.Parameters.All);
        var inputs = Enumerable.Range(0, c.t * c.i).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var dOut = Enumerable.Range(0, c.t * c.o).Select(_ => rng.NextDouble() - 0.5).ToArray();

        var outputs = rnn.Forward(inputs.Select(x => (float)x).ToArray()).ToArray();
        ReferenceMapping.Assert(outputs, reference.DenseForward(inputs, c.t, 1).Outputs, 2e-4, 1e-5, $"outputs {c}");
        rnn.Gradient.All.Fill(float.NaN); // overwritten by Backward
        var gradient = rnn.Backward(dOut.Select(x => (float)x).ToArray());
        ReferenceMapping.AssertGradients(gradient, reference.DenseBackward(inputs, dOut, c.t, 1).Gradients, 1e-3, 1e-5, c.ToString());
        // a second backward pass through the same forward pass gives the same gradients
        var first = gradient.All.ToArray();
        Assert.Equal(first, rnn.Backward(dOut.Select(x => (float)x).ToArray()).All.ToArray());
    }, tests: 30);

    [Fact]
    public void Generated_logits_follow_the_reference_step_by_step() => Property(
        from cell in Gen.Elements(NaiveCell.Rnn, NaiveCell.Lstm, NaiveCell.Gru) from layers in Gen.Choose(1, 3)
        from v in Gen.Choose(2, 30) from h in Gen.Choose(1, 70) from seed in Gen.Choose(0, int.MaxValue) select (cell, layers, v, h, seed), (policy, c) =>
    {
        var rng = new Random(c.seed);
        var reference = RandomReference(c.cell, c.layers, c.v, c.h, Nonlinearity.Tanh, rng);
        var vocabulary = Vocabulary.FromSymbols(Enumerable.Range(0, c.v).Select(i => new System.Text.Rune(0x4E00 + i)));
        var model = new CharRnnModel(vocabulary, ReferenceMapping.ToEngine(reference));
        using var generator = new Generator(new InferenceModel(model, policy));
        var tokens = Enumerable.Range(0, 12).Select(_ => rng.Next(c.v)).ToArray();
        var expected = reference.Forward(tokens, tokens.Length, 1, NaiveState.Zero(c.cell, c.layers, 1, c.h)).Outputs;
        for (int t = 0; t < tokens.Length; t++)
        {
            generator.Feed(tokens[t]);
            ReferenceMapping.Assert(generator.Logits, expected.AsSpan(t * c.v, c.v).ToArray(), 1e-4, 1e-5, $"logits at {t} {c}");
        }
    }, tests: 40);

    public static TheoryData<OptimizerKind> Optimizers => new() { OptimizerKind.Sgd, OptimizerKind.Adagrad, OptimizerKind.Adam, OptimizerKind.RmsProp };

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void One_training_step_of_every_cell_updates_as_the_reference(OptimizerKind kind) => Property(
        from cell in Gen.Elements(NaiveCell.Rnn, NaiveCell.Lstm, NaiveCell.Gru) from layers in Gen.Choose(1, 2)
        from v in Gen.Choose(2, 20) from h in Gen.Choose(1, 30) from b in Gen.Choose(1, 3) from t in Gen.Choose(1, 8) from seed in Gen.Choose(0, int.MaxValue)
        select (cell, layers, v, h, b, t, seed), (policy, c) =>
    {
        var rng = new Random(c.seed);
        var reference = RandomReference(c.cell, c.layers, c.v, c.h, Nonlinearity.Tanh, rng).WithFoldedBiases();
        var vocabulary = Vocabulary.FromSymbols(Enumerable.Range(0, c.v).Select(i => new System.Text.Rune('a' + i)));
        var model = new CharRnnModel(vocabulary, ReferenceMapping.ToEngine(reference));
        var tokens = Enumerable.Range(0, c.b * c.t + 1 + rng.Next(20)).Select(_ => rng.Next(c.v)).ToArray();
        var options = new TrainingOptions { Optimizer = kind, SequenceLength = c.t, BatchSize = c.b, ClipValue = 0, LearningRate = 0.05, Alpha = 0.9 };
        using var trainer = new Trainer(model, tokens, options, policy: policy);
        trainer.TrainStep();

        // the documented data order: stream b reads shard b = tokens[b·S ..], S = ⌊(N−1)/B⌋
        int shard = (tokens.Length - 1) / c.b;
        var inputs = new int[c.t * c.b]; var targets = new int[c.t * c.b];
        for (int tt = 0; tt < c.t; tt++) for (int bb = 0; bb < c.b; bb++) { inputs[tt * c.b + bb] = tokens[bb * shard + tt]; targets[tt * c.b + bb] = tokens[bb * shard + tt + 1]; }
        var g = reference.ForwardBackward(inputs, targets, c.t, c.b, NaiveState.Zero(c.cell, c.layers, c.b, c.h)).Backward.Gradients;
        ReferenceMapping.AssertGradients(trainer.Gradient, g, 3e-4, 1e-6, $"gradient {kind} {c}");
        // the update from the engine's own gradient (first steps of adaptive optimizers amplify float noise in tiny gradients)
        var engineG = ReferenceMapping.ToEngine(new NaiveStackedRnn(c.cell, c.layers, c.v, c.h, c.v));
        trainer.Gradient.All.CopyTo(engineG.All);
        var fromEngine = FromEngine(engineG, reference);
        var zeros = () => reference.P.ZerosLike();
        switch (kind)
        {
            case OptimizerKind.Sgd: NaiveOptimizers.Sgd(reference.P, fromEngine, 0.05); break;
            case OptimizerKind.Adagrad: NaiveOptimizers.Adagrad(reference.P, fromEngine, zeros(), 0.05); break;
            case OptimizerKind.RmsProp: NaiveOptimizers.RmsProp(reference.P, fromEngine, zeros(), 0.05, 0.9, 1e-8); break;
            default: NaiveOptimizers.Adam(reference.P, fromEngine, zeros(), zeros(), 1, 0.05, 0.9, 0.999, 1e-8); break;
        }
        var expected = ReferenceMapping.ToEngine(reference);
        ReferenceMapping.Assert(model.Parameters.All, expected.All.ToArray().Select(x => (double)x).ToArray(), 1e-6, 2e-6, $"weights after {kind} {c}");
    }, tests: 15);

    // The engine's gradient block as reference tensors of a folded model (bias_hh zero where it folds).
    private static NaiveStackTensors FromEngine(RnnParameters g, NaiveStackedRnn shapeOf)
    {
        var t = shapeOf.P.ZerosLike();
        int h = g.Shape.HiddenSize;
        for (int l = 0; l < t.Layers.Length; l++)
        {
            var layer = t.Layers[l];
            var wih = g.InputWeights(l);
            for (int r = 0; r < layer.Rows; r++)
                for (int c = 0; c < layer.Inputs; c++) layer.WeightIh[r * layer.Inputs + c] = wih[c * layer.Rows + r];
            for (int i = 0; i < layer.WeightHh.Length; i++) layer.WeightHh[i] = g.RecurrentWeights(l)[i];
            for (int i = 0; i < layer.BiasIh.Length; i++) layer.BiasIh[i] = g.Bias(l)[i];
            if (shapeOf.Cell == NaiveCell.Gru) for (int i = 0; i < h; i++) layer.BiasHh[2 * h + i] = g.NewGateHiddenBias(l)[i];
        }
        for (int i = 0; i < t.FcWeight.Length; i++) t.FcWeight[i] = g.OutputWeights[i];
        for (int i = 0; i < t.FcBias.Length; i++) t.FcBias[i] = g.OutputBias[i];
        return t;
    }
}
