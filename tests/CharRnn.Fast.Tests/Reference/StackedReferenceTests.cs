using CharRnn.Fast.Model;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace CharRnn.Fast.Tests.Reference;

/// <summary>The deeper reference's relations to the seeds' reference, to the engine's one-bias-per-row form, and its dropout masks.</summary>
public class StackedReferenceTests
{
    private static readonly NaiveCell[] AllCells = [NaiveCell.Rnn, NaiveCell.Lstm, NaiveCell.Gru];

    private static void AssertClose(double[] actual, double[] expected, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tolerance * (1 + Math.Abs(expected[i])), $"{what}[{i}]: {actual[i]:R}, expected {expected[i]:R}");
    }

    private static (int[] Tokens, int[] Targets) RandomChunk(Random rng, int vocabulary, int positions)
        => (Enumerable.Range(0, positions).Select(_ => rng.Next(vocabulary)).ToArray(), Enumerable.Range(0, positions).Select(_ => rng.Next(vocabulary)).ToArray());

    [Fact]
    public void One_vanilla_layer_is_the_seeds_reference() => Prop.ForAll((
        from v in Gen.Choose(1, 6) from h in Gen.Choose(1, 6) from t in Gen.Choose(1, 6) from b in Gen.Choose(1, 4)
        from seed in Gen.Choose(0, int.MaxValue) from relu in Gen.Elements(false, true) from resets in Gen.Elements(false, true)
        select (v, h, t, b, seed, relu, resets)).ToArbitrary(), c =>
    {
        var rng = new Random(c.seed);
        var act = c.relu ? Nonlinearity.Relu : Nonlinearity.Tanh;
        var stacked = NaiveStackedRnn.ForCharacters(NaiveCell.Rnn, 1, c.v, c.h, act);
        stacked.P.FillUniform(rng, 0.6);
        var layer = stacked.P.Layers[0];
        // min-char-rnn's model has one bias: bh = b_ih + b_hh
        var seeds = new NaiveRnn(c.v, c.h, c.v, act);
        layer.WeightIh.CopyTo(seeds.P.Wxh, 0); layer.WeightHh.CopyTo(seeds.P.Whh, 0);
        stacked.P.FcWeight.CopyTo(seeds.P.Why, 0); stacked.P.FcBias.CopyTo(seeds.P.By, 0);
        for (int j = 0; j < c.h; j++) seeds.P.Bh[j] = layer.BiasIh[j] + layer.BiasHh[j];
        var (tokens, targets) = RandomChunk(rng, c.v, c.t * c.b);
        var start = NaiveState.Random(NaiveCell.Rnn, 1, c.b, c.h, rng);
        int reset = c.resets ? 0 : -1;

        var chunk = stacked.ForwardBackward(tokens, targets, c.t, c.b, start, null, reset);
        var expected = seeds.ForwardBackward(tokens, targets, c.t, c.b, Enumerable.Range(0, c.b).Select(b => start.H[(b * c.h)..((b + 1) * c.h)]).ToArray(), reset);
        AssertClose([chunk.LossSum], [expected.LossSum], 1e-12, "loss");
        AssertClose(chunk.Forward.Final.H, expected.FinalStates.SelectMany(x => x).ToArray(), 1e-12, "h_T");
        var g = chunk.Backward.Gradients;
        var gl = g.Layers[0];
        foreach (var (actual, reference, name) in new[] { (gl.WeightIh, expected.Gradients.Wxh, "Wxh"), (gl.WeightHh, expected.Gradients.Whh, "Whh"),
                     (gl.BiasIh, expected.Gradients.Bh, "bh (ih)"), (gl.BiasHh, expected.Gradients.Bh, "bh (hh)"), (g.FcWeight, expected.Gradients.Why, "Why"), (g.FcBias, expected.Gradients.By, "by") })
            AssertClose(actual, reference, 1e-12, $"d{name} {c}");
    }).QuickCheckThrowOnFailure();

    [Fact]
    public void Folded_biases_give_the_same_model_and_share_one_gradient_per_row()
    {
        foreach (var cell in AllCells)
        {
            var rng = new Random(5 + (int)cell);
            var model = NaiveStackedRnn.ForCharacters(cell, 2, 4, 3);
            model.P.FillUniform(rng, 0.6);
            var folded = model.WithFoldedBiases();
            var (tokens, targets) = RandomChunk(rng, 4, 12);
            var start = NaiveState.Random(cell, 2, 3, 3, rng);
            var chunk = model.ForwardBackward(tokens, targets, 4, 3, start);
            var foldedChunk = folded.ForwardBackward(tokens, targets, 4, 3, start);
            AssertClose(foldedChunk.Forward.Outputs, chunk.Forward.Outputs, 1e-12, $"{cell} folded logits");
            for (int l = 0; l < 2; l++)
            {
                var (before, after, grad) = (model.P.Layers[l], folded.P.Layers[l], chunk.Backward.Gradients.Layers[l]);
                for (int r = 0; r < before.Rows; r++)
                {
                    bool folds = cell.BiasFolds(r, 3);
                    Assert.Equal(folds ? 0 : before.BiasHh[r], after.BiasHh[r]);
                    Assert.Equal(folds ? before.BiasIh[r] + before.BiasHh[r] : before.BiasIh[r], after.BiasIh[r]);
                    // where the biases fold, one trainable bias per row has the gradient of either
                    if (folds) Assert.Equal(grad.BiasIh[r], grad.BiasHh[r]);
                    else Assert.NotEqual(grad.BiasIh[r], grad.BiasHh[r]);
                }
            }
        }
    }

    [Fact]
    public void Folding_GRU_b_hn_too_would_change_the_model()
    {
        var rng = new Random(8);
        var model = NaiveStackedRnn.ForCharacters(NaiveCell.Gru, 1, 4, 3);
        model.P.FillUniform(rng, 0.6);
        var wrong = model.Clone();
        var layer = wrong.P.Layers[0];
        for (int r = 0; r < layer.Rows; r++) { layer.BiasIh[r] += layer.BiasHh[r]; layer.BiasHh[r] = 0; }
        int[] tokens = [0, 1, 2, 3, 1];
        var start = NaiveState.Zero(NaiveCell.Gru, 1, 1, 3);
        var expected = model.Forward(tokens, 5, 1, start).Outputs;
        var actual = wrong.Forward(tokens, 5, 1, start).Outputs;
        Assert.Contains(actual.Zip(expected), p => Math.Abs(p.First - p.Second) > 1e-3);
    }

    [Fact]
    public void Dropout_masks_keep_one_minus_p_scaled_by_its_inverse()
    {
        var mask = NaiveDropout.Mask(new Random(3), 3, 20, 10, 50, 0.3);
        Assert.Equal(2 * 20 * 10 * 50, mask.Length);
        Assert.All(mask, m => Assert.True(m == 0 || m == 1 / 0.7));
        double dropped = mask.Count(m => m == 0) / (double)mask.Length;
        Assert.InRange(dropped, 0.3 - 4 * Math.Sqrt(0.3 * 0.7 / mask.Length), 0.3 + 4 * Math.Sqrt(0.3 * 0.7 / mask.Length));
        Assert.All(NaiveDropout.Mask(new Random(3), 2, 4, 2, 3, 0), m => Assert.Equal(1, m));
        Assert.All(NaiveDropout.Mask(new Random(3), 2, 4, 2, 3, 1), m => Assert.Equal(0, m));
        Assert.Empty(NaiveDropout.Mask(new Random(3), 1, 4, 2, 3, 0.5));
        Assert.Equal([0, 2], NaiveDropout.FromKeep([false, true], 0.5));
    }

    [Fact]
    public void Dropout_acts_only_between_layers()
    {
        foreach (var cell in AllCells)
        {
            var rng = new Random(11);
            var model = NaiveStackedRnn.ForCharacters(cell, 2, 4, 3);
            model.P.FillUniform(rng, 0.6);
            var (tokens, targets) = RandomChunk(rng, 4, 8);
            var start = NaiveState.Random(cell, 2, 2, 3, rng);
            var ones = NaiveDropout.Mask(rng, 2, 4, 2, 3, 0);
            Assert.Equal(model.Forward(tokens, 4, 2, start).Outputs, model.Forward(tokens, 4, 2, start, ones).Outputs);
            // every unit of layer 0 dropped: layer 1 sees zeros, so layer 0 no longer affects the loss, yet layer 0 still runs
            var none = new double[ones.Length];
            var chunk = model.ForwardBackward(tokens, targets, 4, 2, start, none);
            Assert.All(chunk.Backward.Gradients.Layers[0].All, t => Assert.All(t, x => Assert.Equal(0, x)));
            var changed = model.Clone();
            foreach (var t in changed.P.Layers[0].All) for (int i = 0; i < t.Length; i++) t[i] += 0.3;
            Assert.Equal(chunk.Forward.Outputs, changed.Forward(tokens, 4, 2, start, none).Outputs);
            Assert.Equal(model.Forward(tokens, 4, 2, start).LayerOutputs[0], chunk.Forward.LayerOutputs[0]);
            Assert.Contains(chunk.Backward.Gradients.Layers[1].WeightHh, x => x != 0);
        }
    }
}
