using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.Engine;

public class DeterminismTests
{
    private static float[] Train(TrainingOptions options, int steps)
    {
        var text = string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog. ", 40));
        var model = Trainer.NewModel(Vocabulary.FromText(text), 33, options);
        var trainer = new Trainer(model, model.Vocabulary.Encode(text), options);
        for (int i = 0; i < steps; i++) trainer.TrainStep();
        return model.Parameters.All.ToArray();
    }

    [Theory]
    [InlineData(OptimizerKind.Adam, 1)]
    [InlineData(OptimizerKind.Adagrad, 4)]
    public void Same_seed_and_options_give_bit_identical_weights(OptimizerKind optimizer, int batch)
    {
        var options = new TrainingOptions { Optimizer = optimizer, BatchSize = batch, LearningRate = 0.01, Seed = 99 };
        var a = Train(options, 60);
        var b = Train(options, 60);
        Assert.Equal(a, b); // element-wise float equality: bit-identical (no NaN can occur here)
        var c = Train(options with { Seed = 100 }, 60);
        Assert.NotEqual(a, c);
    }
}
