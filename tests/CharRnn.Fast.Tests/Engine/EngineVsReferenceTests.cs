using CharRnn.Fast.Inference;
using CharRnn.Fast.Model;
using CharRnn.Fast.Tests.Kernels;
using CharRnn.Fast.Tests.Reference;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using FsCheck;
using FsCheck.Fluent;
using Xunit;
using static CharRnn.Fast.Tests.Kernels.PolicySweep;

namespace CharRnn.Fast.Tests.Engine;

/// <summary>The engine against the naive double-precision reference, for random shapes on every vector path.</summary>
public class EngineVsReferenceTests
{
    public sealed record Case(int V, int H, int B, int T, int Seed, Nonlinearity Act, bool Resets);

    private static Gen<Case> Cases =>
        from v in Gen.Choose(1, 70) from h in Gen.Choose(1, 70) from b in Gen.Choose(1, 5) from t in Gen.Choose(1, 40)
        from seed in Gen.Choose(0, int.MaxValue) from relu in Gen.Elements(false, false, true) from resets in Gen.Elements(false, true)
        select new Case(v, h, b, t, seed, relu ? Nonlinearity.Relu : Nonlinearity.Tanh, resets);

    /// <summary>
    /// Uniform ±scale weights, except Whh, drawn as ±1.5/√H so its spectral radius is about 0.87: a contractive
    /// recurrence. With a radius above 1 the dynamics are chaotic and float and double runs diverge exponentially in
    /// T, so no tolerance would separate a bug from rounding.
    /// </summary>
    private static RnnParameters RandomParameters(RnnShape shape, Random rng, double scale)
    {
        var p = new RnnParameters(shape);
        for (int i = 0; i < p.All.Length; i++) p.All[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        var whh = p.Whh;
        double recurrent = Math.Min(scale, 1.5 / Math.Sqrt(shape.HiddenSize));
        for (int i = 0; i < whh.Length; i++) whh[i] = (float)((rng.NextDouble() * 2 - 1) * recurrent);
        return p;
    }

    /// <summary>|actual − expected| ≤ rel·(largest |expected| of the tensor) + abs: float error scales with the tensor's magnitude.</summary>
    private static void AssertTensorClose(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double rel, double abs, string what)
    {
        double magnitude = 0;
        foreach (double e in expected) magnitude = Math.Max(magnitude, Math.Abs(e));
        var scale = new double[expected.Length];
        Array.Fill(scale, magnitude);
        Close.Assert(actual, expected, scale, rel, abs, what);
    }

    // rel: dense inputs add I terms to every pre-activation, so their float error through T steps is larger (1e-3)
    private static void AssertGradientsClose(RnnParameters engine, NaiveTensors reference, RnnShape s, string what, double rel = 2e-4)
    {
        var expected = NaiveRnn.EngineLayout(reference, s.InputSize, s.HiddenSize);
        int offset = 0;
        foreach (var (name, length) in new[] { ("dWxh", s.InputSize * s.HiddenSize), ("dWhh", s.HiddenSize * s.HiddenSize), ("dbh", s.HiddenSize), ("dWhy", s.OutputSize * s.HiddenSize), ("dby", s.OutputSize) })
        {
            AssertTensorClose(engine.All.Slice(offset, length), expected.AsSpan(offset, length), rel, 1e-6, $"{what} {name}");
            offset += length;
        }
    }

    [Fact]
    public void Forward_loss_states_and_all_gradients_match_the_reference() => Property(Cases, (policy, c) =>
    {
        var rng = new Random(c.Seed);
        var shape = RnnShape.ForCharacters(c.V, c.H);
        var parameters = RandomParameters(shape, rng, 0.4);
        var tokens = Enumerable.Range(0, c.T * c.B).Select(_ => rng.Next(c.V)).ToArray();
        var targets = Enumerable.Range(0, c.T * c.B).Select(_ => rng.Next(c.V)).ToArray();
        var state = Enumerable.Range(0, c.B * c.H).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        int reset = c.Resets ? 0 : -1;

        var reference = NaiveRnn.From(parameters, c.Act);
        var start = Enumerable.Range(0, c.B).Select(b => state.Skip(b * c.H).Take(c.H).Select(x => (double)x).ToArray()).ToArray();
        var expected = reference.ForwardBackward(tokens, targets, c.T, c.B, start, reset);

        var gradient = new RnnParameters(shape);
        double loss = new TruncatedBptt(shape, c.T, c.B, policy, c.Act).ForwardBackward(parameters, gradient, tokens, targets, state, reset);

        Assert.True(Math.Abs(loss - expected.LossSum) <= 1e-4 * (1 + expected.LossSum), $"loss {loss} vs {expected.LossSum} ({c})");
        AssertTensorClose(state, expected.FinalStates.SelectMany(x => x).ToArray(), 1e-4, 1e-6, $"h_T {c}");
        AssertGradientsClose(gradient, expected.Gradients, shape, c.ToString());
    }, tests: 40);

    public static TheoryData<OptimizerKind, double, double> OptimizerCases => new()
    {
        { OptimizerKind.Sgd, 5, 0 }, { OptimizerKind.Adagrad, 5, 0 }, { OptimizerKind.Adam, 0.05, 0 },
        { OptimizerKind.Adam, 0, 0.5 }, { OptimizerKind.Sgd, 0.02, 0.3 }, { OptimizerKind.RmsProp, 0.01, 0 }, { OptimizerKind.Adagrad, 0, 0.2 },
    };

    [Theory]
    [MemberData(nameof(OptimizerCases))]
    public void One_training_step_matches_the_reference_update(OptimizerKind kind, double clip, double clipNorm) => Property(
        from v in Gen.Choose(2, 40) from h in Gen.Choose(1, 70) from b in Gen.Choose(1, 4) from t in Gen.Choose(1, 12) from seed in Gen.Choose(0, int.MaxValue)
        select (v, h, b, t, seed), (policy, c) =>
    {
        var rng = new Random(c.seed);
        var tokens = Enumerable.Range(0, c.b * c.t + 1 + rng.Next(30)).Select(_ => rng.Next(c.v)).ToArray();
        var vocabulary = Vocabulary.FromSymbols(Enumerable.Range(0, c.v).Select(i => new System.Text.Rune('a' + i)));
        var options = new TrainingOptions { Optimizer = kind, SequenceLength = c.t, BatchSize = c.b, ClipValue = clip, ClipNorm = clipNorm, LearningRate = 0.05, Beta1 = 0.99, Beta2 = 0.9999 };
        var model = new CharRnnModel(vocabulary, RandomParameters(RnnShape.ForCharacters(c.v, c.h), rng, 0.3));
        var reference = NaiveRnn.From(model.Parameters, Nonlinearity.Tanh);
        using var trainer = new Trainer(model, tokens, options, policy: policy);
        trainer.TrainStep();

        // the documented data order: stream b reads shard b = tokens[b·S ..], S = ⌊(N−1)/B⌋
        int shard = (tokens.Length - 1) / c.b;
        var inputs = new int[c.t * c.b]; var targets = new int[c.t * c.b];
        for (int tt = 0; tt < c.t; tt++) for (int bb = 0; bb < c.b; bb++) { inputs[tt * c.b + bb] = tokens[bb * shard + tt]; targets[tt * c.b + bb] = tokens[bb * shard + tt + 1]; }
        var g = reference.ForwardBackward(inputs, targets, c.t, c.b, Enumerable.Range(0, c.b).Select(_ => new double[c.h]).ToArray()).Gradients;
        // the update clips as it reads the gradient: it leaves the gradient unclipped, or only clamped when both clips are on
        if (clip > 0 && clipNorm > 0) NaiveOptimizers.ClipElementwise(g, clip);
        AssertGradientsClose(trainer.Gradient, g, model.Parameters.Shape, $"gradient ({kind})");

        // The update from the engine's own gradient, clipped here: Adam's and Adagrad's first steps are lr·g/(|g| + ε),
        // which turns float noise in near-zero gradients into visible differences, so both sides start from the same g.
        var engineGradient = trainer.Gradient.All.ToArray().Select(x => (double)x).ToArray();
        int o = 0;
        foreach (var (tensor, rows, columns, transposed) in new[] { (g.Wxh, c.h, c.v, true), (g.Whh, c.h, c.h, false), (g.Bh, 1, c.h, false), (g.Why, c.v, c.h, false), (g.By, 1, c.v, false) })
        {
            for (int k = 0; k < tensor.Length; k++)
                tensor[k] = transposed ? engineGradient[o + (k % columns) * rows + k / columns] : engineGradient[o + k];
            o += tensor.Length;
        }
        if (clip > 0) NaiveOptimizers.ClipElementwise(g, clip);
        if (clipNorm > 0) NaiveOptimizers.ClipGlobalNorm(g, clipNorm);
        var zeros = () => new NaiveTensors(c.v, c.h, c.v);
        switch (kind)
        {
            case OptimizerKind.Sgd: NaiveOptimizers.Sgd(reference.P, g, 0.05); break;
            case OptimizerKind.Adagrad: NaiveOptimizers.Adagrad(reference.P, g, zeros(), 0.05); break;
            case OptimizerKind.RmsProp: NaiveOptimizers.RmsProp(reference.P, g, zeros(), 0.05, options.Alpha, options.Epsilon); break;
            default: NaiveOptimizers.Adam(reference.P, g, zeros(), zeros(), 1, 0.05, 0.99, 0.9999, 1e-8); break;
        }
        AssertTensorClose(model.Parameters.All, NaiveRnn.EngineLayout(reference.P, c.v, c.h), 1e-6, 1e-5 * 0.05, $"weights after {kind}");
    }, tests: 25);

    [Fact]
    public void Dense_input_outputs_and_gradients_match_the_reference() => Property(
        from i in Gen.Choose(1, 20) from h in Gen.Choose(1, 70) from o in Gen.Choose(1, 20) from t in Gen.Choose(1, 30) from seed in Gen.Choose(0, int.MaxValue) from relu in Gen.Elements(false, true)
        select (i, h, o, t, seed, relu), (policy, c) =>
    {
        var rng = new Random(c.seed);
        var act = c.relu ? Nonlinearity.Relu : Nonlinearity.Tanh;
        var rnn = new DenseRnn(new RnnShape(c.i, c.h, c.o), 30, act, policy);
        RandomParameters(rnn.Shape, rng, 0.4).All.CopyTo(rnn.Parameters.All);
        var inputs = Enumerable.Range(0, c.t * c.i).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var dOut = Enumerable.Range(0, c.t * c.o).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var reference = NaiveRnn.From(rnn.Parameters, act);
        var rows = Enumerable.Range(0, c.t).Select(t => inputs.Skip(t * c.i).Take(c.i).Select(x => (double)x).ToArray()).ToArray();
        var dRows = Enumerable.Range(0, c.t).Select(t => dOut.Skip(t * c.o).Take(c.o).Select(x => (double)x).ToArray()).ToArray();

        var outputs = rnn.Forward(inputs).ToArray();
        var (expectedOutputs, expectedStates) = reference.DenseForward(rows);
        AssertTensorClose(outputs, expectedOutputs.SelectMany(x => x).ToArray(), 1e-4, 1e-6, "outputs");
        AssertTensorClose(rnn.HiddenStates, expectedStates.SelectMany(x => x).ToArray(), 1e-4, 1e-6, "states");
        rnn.Gradient.All.Fill(float.NaN); // overwritten by Backward
        AssertGradientsClose(rnn.Backward(dOut), reference.DenseBackward(rows, dRows), rnn.Shape, "dense", rel: 1e-3);
    }, tests: 30);

    [Fact]
    public void Seed_002_fake_gradient_of_ones_runs_and_updates()
    {
        // seed 002: input 3, hidden 5, output 2; three one-hot inputs; doutputs all ones; SGD lr 0.01
        var rnn = new DenseRnn(new RnnShape(3, 5, 2), 3);
        ParameterInitializer.Initialize(rnn.Parameters, new InitScheme(InitKind.Normal, 0.01), new InitScheme(InitKind.Zero, 0), new Rng(0));
        float[] inputs = [1, 0, 0, 0, 1, 0, 0, 0, 1];
        rnn.Forward(inputs);
        var before = rnn.Parameters.All.ToArray();
        var gradient = rnn.Backward(Enumerable.Repeat(1f, 6).ToArray());
        Assert.Equal(3f, gradient.By[0]); // dby = Σ_t dy_t = 3 ones
        var optimizer = new Optimizer(OptimizerKind.Sgd, rnn.Shape);
        optimizer.Update(rnn.Policy, rnn.Parameters, gradient, new TrainingOptions(), 0.01);
        Assert.Equal(before[^1] - 0.03f, rnn.Parameters.By[1], 6);
    }

    [Fact]
    public void Sampling_follows_the_reference_distribution() => Property(
        from v in Gen.Choose(2, 70) from h in Gen.Choose(1, 40) from seed in Gen.Choose(0, int.MaxValue) from k in Gen.Choose(1, Math.Min(5, v - 1)) select (v, h, seed, k), (policy, c) =>
    {
        var rng = new Random(c.seed);
        var vocabulary = Vocabulary.FromSymbols(Enumerable.Range(0, c.v).Select(i => new System.Text.Rune(0x4E00 + i)));
        var model = new CharRnnModel(vocabulary, RandomParameters(RnnShape.ForCharacters(c.v, c.h), rng, 1.0));
        var reference = NaiveRnn.From(model.Parameters, Nonlinearity.Tanh);
        var inference = new InferenceModel(model, policy);
        int prime = rng.Next(c.v);
        var p = NaiveRnn.Softmax(reference.Output(reference.Cell(reference.OneHot(prime), new double[c.h])));
        int argmax = Array.IndexOf(p, p.Max());
        var ranked = p.Select((x, i) => (x, i)).OrderByDescending(q => q.x).Select(q => q.i).ToArray();

        var g = new Generator(inference, (ulong)c.seed);
        g.Feed(prime);
        var probabilities = new float[c.v];
        g.Probabilities(probabilities);
        AssertTensorClose(probabilities, p, 1e-4, 1e-6, "p");
        if (p.OrderByDescending(x => x).Take(2).Aggregate((a, b) => a - b) > 1e-4) // a clear winner
        {
            Assert.Equal(argmax, g.SampleNext(new SamplingOptions(Greedy: true)));
            Assert.Equal(argmax, g.SampleNext(new SamplingOptions(Temperature: 1e-4)));   // temperature → 0 is greedy
        }
        var allowed = ranked.Take(c.k).ToHashSet();   // k < V: some tokens are always left out
        if (p[ranked[c.k - 1]] - p[ranked[c.k]] > 1e-5)   // the k best are well defined
            for (int i = 0; i < 200; i++) Assert.Contains(g.SampleNext(new SamplingOptions(TopK: c.k)), allowed);
        // top-p: the smallest set of most likely tokens whose mass reaches 0.5, where float rounding cannot move its edge
        int nucleus = 0;
        double mass = 0;
        while (mass < 0.5) mass += p[ranked[nucleus++]];
        if (nucleus < c.v && mass - 0.5 > 1e-4 && 0.5 - (mass - p[ranked[nucleus - 1]]) > 1e-4 && p[ranked[nucleus - 1]] - p[ranked[nucleus]] > 1e-5)
        {
            var core = ranked.Take(nucleus).ToHashSet();
            for (int i = 0; i < 200; i++) Assert.Contains(g.SampleNext(new SamplingOptions(TopP: 0.5)), core);
        }
        var a = new Generator(inference, 77); var b = new Generator(inference, 77);
        a.Feed(prime); b.Feed(prime);
        for (int i = 0; i < 50; i++) Assert.Equal(a.Next(new SamplingOptions(0.9, TopP: 0.9)), b.Next(new SamplingOptions(0.9, TopP: 0.9)));
    }, tests: 30);

    [Fact]
    public void Temperature_one_sampling_frequencies_match_the_probabilities()
    {
        var rng = new Random(4);
        var vocabulary = Vocabulary.FromSymbols(Enumerable.Range(0, 6).Select(i => new System.Text.Rune('a' + i)));
        var model = new CharRnnModel(vocabulary, RandomParameters(RnnShape.ForCharacters(6, 8), rng, 1.5));
        var g = new Generator(new InferenceModel(model), 5);
        g.Feed(2);
        var p = new float[6];
        g.Probabilities(p);
        var counts = new int[6];
        const int draws = 60_000;
        for (int i = 0; i < draws; i++) counts[g.SampleNext(new SamplingOptions())]++;
        for (int i = 0; i < 6; i++)   // 5 standard deviations of a binomial count
            Assert.True(Math.Abs(counts[i] - draws * p[i]) <= 5 * Math.Sqrt(draws * p[i] * (1 - p[i])) + 1, $"token {i}: {counts[i]} draws, p = {p[i]}");
    }
}
