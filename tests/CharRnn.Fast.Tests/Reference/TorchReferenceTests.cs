using CharRnn.Fast.Model;
using Xunit;

namespace CharRnn.Fast.Tests.Reference;

/// <summary>
/// The deeper reference against PyTorch itself in float64 (Debian's python3-torch, see <see cref="TorchOracle"/>):
/// nn.RNN (tanh, relu) / nn.LSTM / nn.GRU with num_layers 1..3 and dropout, loaded from the reference's tensors with
/// load_state_dict(strict=True), both biases nonzero. Fails, never skips, when torch cannot be imported.
/// </summary>
public class TorchReferenceTests
{
    private const int V = 4, H = 3, T = 5, B = 2, RmsPropSteps = 2;
    private const double Tolerance = 1e-9, RmsPropRate = 0.01, Alpha = 0.95;

    private static IEnumerable<TorchCase> Cases()
    {
        int seed = 100;
        foreach (var (cell, act) in new[] { (NaiveCell.Rnn, Nonlinearity.Tanh), (NaiveCell.Rnn, Nonlinearity.Relu), (NaiveCell.Lstm, Nonlinearity.Tanh), (NaiveCell.Gru, Nonlinearity.Tanh) })
            for (int layers = 1; layers <= 3; layers++)
                foreach (double p in layers == 1 ? [0.0] : new[] { 0.0, 0.4 })
                {
                    var rng = new Random(++seed);
                    var model = NaiveStackedRnn.ForCharacters(cell, layers, V, H, act);
                    model.P.FillUniform(rng, 0.5);
                    var tokens = Enumerable.Range(0, T * B).Select(_ => rng.Next(V)).ToArray();
                    var targets = Enumerable.Range(0, T * B).Select(_ => rng.Next(V)).ToArray();
                    var start = NaiveState.Random(cell, layers, B, H, rng);
                    yield return new TorchCase($"{cell.Name()} {act} L={layers} dropout={p}", model, tokens, targets, T, B, start, p, seed, RmsPropRate, Alpha, RmsPropSteps);
                }
    }

    /// <summary>|actual − expected| ≤ 1e-9 · the largest |expected| of the tensor.</summary>
    private static void AssertClose(double[]? actual, double[]? expected, string what)
    {
        Assert.NotNull(actual); Assert.NotNull(expected);
        Assert.Equal(expected.Length, actual.Length);
        double tolerance = Tolerance * expected.Max(Math.Abs) + 1e-15;
        for (int i = 0; i < actual.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tolerance, $"{what}[{i}]: reference {actual[i]:R}, PyTorch {expected[i]:R}");
    }

    [Fact]
    public void Logits_state_gradients_and_rmsprop_steps_match_pytorch_in_float64()
    {
        var cases = Cases().ToArray();
        var results = TorchOracle.Run(cases);
        foreach (var (c, torch) in cases.Zip(results))
        {
            if (c.Dropout > 0)   // PyTorch's own mask, drawn inside nn.RNN/LSTM/GRU: the reference applies it the same way
            {
                Assert.NotNull(torch.DropoutMask);
                Assert.All(torch.DropoutMask, m => Assert.True(m == 0 || m == 1 / (1 - c.Dropout), $"{c.Name}: mask value {m}"));
                Assert.Contains(0.0, torch.DropoutMask);
            }
            else Assert.Null(torch.DropoutMask);
            var chunk = c.Model.ForwardBackward(c.Tokens, c.Targets, c.Steps, c.Batch, c.Start, torch.DropoutMask);
            AssertClose(chunk.Forward.Outputs, torch.Logits, $"{c.Name} logits");
            AssertClose([chunk.LossSum / c.Batch], [torch.Loss], $"{c.Name} loss");
            AssertClose(chunk.Forward.Final.H, torch.Final.H, $"{c.Name} h_n");
            AssertClose(chunk.Backward.StartGradient.H, torch.StartGradient.H, $"{c.Name} dh0");
            if (c.Model.Cell == NaiveCell.Lstm)
            {
                AssertClose(chunk.Forward.Final.C, torch.Final.C, $"{c.Name} c_n");
                AssertClose(chunk.Backward.StartGradient.C, torch.StartGradient.C, $"{c.Name} dc0");
            }
            Assert.Equal(c.Model.P.Names.Order(), torch.Gradients.Keys.Order());
            foreach (var (name, gradient) in c.Model.P.Names.Zip(chunk.Backward.Gradients.All))
                AssertClose(gradient, torch.Gradients[name], $"{c.Name} d{name}");

            var trained = c.Model.Clone();
            var meanSquare = trained.P.ZerosLike();
            for (int step = 0; step < c.RmsPropSteps; step++)
            {
                var g = trained.ForwardBackward(c.Tokens, c.Targets, c.Steps, c.Batch, c.Start, torch.DropoutMask).Backward.Gradients;
                NaiveOptimizers.RmsProp(trained.P, g, meanSquare, c.RmsPropRate, c.RmsPropAlpha);
            }
            foreach (var (name, value) in trained.P.Names.Zip(trained.P.All))
                AssertClose(value, torch.AfterRmsProp[name], $"{c.Name} {name} after {c.RmsPropSteps} RMSprop steps");
        }
    }
}
