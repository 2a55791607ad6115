using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.Engine;

public class ThreadingTests
{
    private static readonly string Text = string.Concat(Enumerable.Repeat("pack my box with five dozen liquor jugs; ", 60));

    private static (float[] Weights, double[] Losses) Train(int threads, int batch, int steps, bool lines = false)
    {
        var text = lines ? Text.Replace(';', '\n') : Text;
        var options = new TrainingOptions { Optimizer = OptimizerKind.Adam, LearningRate = 0.005, BatchSize = batch, Threads = threads, Seed = 4 };
        var model = Trainer.NewModel(Vocabulary.FromText(text), 29, options, sequenceMode: lines);
        using var trainer = new Trainer(model, model.Vocabulary.Encode(text), options);
        var losses = new double[steps];
        for (int i = 0; i < steps; i++) losses[i] = trainer.TrainStep();
        return (model.Parameters.Data, losses);
    }

    [Theory]
    [InlineData(2, 5, false)]
    [InlineData(3, 7, true)]
    public void Split_batches_train_the_same_model_as_one_thread(int threads, int batch, bool lines)
    {
        var (w1, l1) = Train(1, batch, 30, lines);
        var (wn, ln) = Train(threads, batch, 30, lines);
        // The same sums in another order: float rounding only.
        for (int i = 0; i < l1.Length; i++) Assert.True(Math.Abs(l1[i] - ln[i]) < 1e-4 * l1[i], $"step {i}: {l1[i]} vs {ln[i]}");
        for (int i = 0; i < w1.Length; i++) Assert.True(Math.Abs(w1[i] - wn[i]) < 1e-3 * (1 + Math.Abs(w1[i])), $"weight {i}: {w1[i]} vs {wn[i]}");
    }

    [Fact]
    public void A_thread_count_gives_bit_identical_runs()
    {
        Assert.Equal(Train(2, 6, 40).Weights, Train(2, 6, 40).Weights);
    }

    [Fact]
    public void Threaded_steps_allocate_nothing_in_any_thread()
    {
        var options = new TrainingOptions { Optimizer = OptimizerKind.Adam, BatchSize = 4, Threads = 2 };
        var model = Trainer.NewModel(Vocabulary.FromText(Text), 32, options);
        using var trainer = new Trainer(model, model.Vocabulary.Encode(Text), options);
        for (int i = 0; i < 5; i++) trainer.TrainStep();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < 100; i++) trainer.TrainStep();
        Assert.Equal(0, GC.GetTotalAllocatedBytes(precise: true) - before);
    }
}
