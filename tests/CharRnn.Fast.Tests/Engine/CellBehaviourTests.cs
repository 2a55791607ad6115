using CharRnn.Fast.Inference;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.Engine;

/// <summary>Every cell and depth: zero allocation per step and per character, determinism, and threads identical to one.</summary>
[Collection(AllocationCollection.Name)]
public class CellBehaviourTests
{
    private static readonly string Text = string.Concat(Enumerable.Repeat("sphinx of black quartz, judge my vow;\n", 60));

    public static TheoryData<CellKind, int> Cells => new()
    {
        { CellKind.Rnn, 2 }, { CellKind.Lstm, 1 }, { CellKind.Lstm, 2 }, { CellKind.Gru, 1 }, { CellKind.Gru, 3 },
    };

    private static (CharRnnModel Model, int[] Tokens, TrainingOptions Options) Setup(CellKind cell, int layers, int hidden, int batch, int threads = 1,
        bool lines = false, double dropout = 0, OptimizerKind optimizer = OptimizerKind.Adam)
    {
        var options = new TrainingOptions
        {
            Optimizer = optimizer, LearningRate = 0.003, BatchSize = batch, SequenceLength = 13, Threads = threads, Seed = 11, Dropout = dropout,
            WeightInit = new InitScheme(InitKind.Uniform, 0.08),
        };
        var model = Trainer.NewModel(Vocabulary.FromText(Text), hidden, options, sequenceMode: lines, cell: cell, layers: layers);
        return (model, model.Vocabulary.Encode(lines ? "\n" + Text : Text), options);
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void Training_steps_allocate_nothing(CellKind cell, int layers)
    {
        foreach (var (batch, lines) in new[] { (1, false), (3, true) })
        {
            var (model, tokens, options) = Setup(cell, layers, 24, batch, lines: lines, dropout: 0.2, optimizer: OptimizerKind.RmsProp);
            using var trainer = new Trainer(model, tokens, options);
            for (int i = 0; i <= trainer.Data.StepsPerEpoch; i++) trainer.TrainStep(); // first calls (JIT, type loading) may allocate
            Assert.Equal(0, AllocationProbe.Steady(() => { for (int i = 0; i < 60; i++) trainer.TrainStep(); }));
        }
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void Generated_characters_allocate_nothing(CellKind cell, int layers)
    {
        var (model, _, _) = Setup(cell, layers, 40, 1);
        using var generator = new Generator(new InferenceModel(model), seed: 3);
        var options = new SamplingOptions(0.9, 5, 0.95);
        generator.Prime("judge ");
        generator.Next(options);
        Assert.Equal(0, AllocationProbe.Steady(() => { for (int i = 0; i < 500; i++) generator.Next(options); }));
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void Training_is_deterministic_per_seed_with_dropout(CellKind cell, int layers)
    {
        float[] Run()
        {
            var (model, tokens, options) = Setup(cell, layers, 20, 2, dropout: 0.3);
            using var trainer = new Trainer(model, tokens, options);
            for (int i = 0; i < 15; i++) trainer.TrainStep();
            return model.Parameters.All.ToArray();
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void Dropout_changes_training_and_its_masks_depend_on_the_step()
    {
        float[] Run(double dropout)
        {
            var (model, tokens, options) = Setup(CellKind.Lstm, 2, 20, 2, dropout: dropout);
            using var trainer = new Trainer(model, tokens, options);
            for (int i = 0; i < 5; i++) trainer.TrainStep();
            return model.Parameters.All.ToArray();
        }
        Assert.NotEqual(Run(0), Run(0.3));
        var first = new float[64]; var second = new float[64];
        global::CharRnn.Fast.Kernels.DropoutMask.Fill(first, 0.5f, 7, step: 1, layer: 0, stream: 0, time: 0);
        global::CharRnn.Fast.Kernels.DropoutMask.Fill(second, 0.5f, 7, step: 2, layer: 0, stream: 0, time: 0);
        Assert.NotEqual(first, second);
        Assert.All(first, m => Assert.True(m == 0f || m == 2f));
    }

    [Theory]
    [InlineData(CellKind.Lstm, 1, 300)]
    [InlineData(CellKind.Gru, 2, 300)]
    [InlineData(CellKind.Rnn, 2, 300)]
    [InlineData(CellKind.Lstm, 2, 256)] // H a multiple of the split unit: one thread runs the gate product over all gates at once
    [InlineData(CellKind.Gru, 1, 256)]
    public void Batch_one_split_by_units_is_bit_identical_to_one_thread(CellKind cell, int layers, int hidden)
    {
        float[] Run(int threads)
        {
            var (model, tokens, options) = Setup(cell, layers, hidden, 1, threads);
            using var trainer = new Trainer(model, tokens, options);
            Assert.Equal(threads, trainer.Threads);
            for (int i = 0; i < 6; i++) trainer.TrainStep();
            return model.Parameters.All.ToArray();
        }
        Assert.Equal(Run(1), Run(2));
    }

    [Theory]
    [InlineData(CellKind.Lstm, 2, 260)]
    [InlineData(CellKind.Gru, 1, 260)]
    [InlineData(CellKind.Rnn, 3, 260)]
    [InlineData(CellKind.Lstm, 2, 256)] // H a multiple of the split unit: one thread runs each product over all gates at once
    [InlineData(CellKind.Gru, 2, 384)]
    public void Threaded_generation_is_bit_identical_to_one_thread(CellKind cell, int layers, int hidden)
    {
        var (model, _, _) = Setup(cell, layers, hidden, 1);
        var inference = new InferenceModel(model);
        string Sample(int threads)
        {
            using var generator = new Generator(inference, seed: 8, threads);
            Assert.Equal(threads, generator.Threads);
            generator.Prime("black ");
            var ids = new int[200];
            for (int i = 0; i < ids.Length; i++) ids[i] = generator.Next(new SamplingOptions(1.0));
            return model.Vocabulary.Decode(ids) + string.Join(",", generator.Logits.ToArray());
        }
        Assert.Equal(Sample(1), Sample(Math.Min(3, (hidden + 127) / 128))); // at most one thread per 128 units
    }

    [Fact]
    public void A_forget_bias_sets_every_layers_forget_rows()
    {
        var options = new TrainingOptions { ForgetBias = 1, Seed = 2 };
        var model = Trainer.NewModel(Vocabulary.FromText("abc"), 8, options, cell: CellKind.Lstm, layers: 2);
        for (int l = 0; l < 2; l++)
        {
            var bias = model.Parameters.Bias(l);
            Assert.All(bias.Slice(8, 8).ToArray(), b => Assert.Equal(1f, b)); // gates i, f, g, o: f is rows [H, 2H)
            Assert.All(bias.Slice(0, 8).ToArray(), b => Assert.Equal(0f, b));
        }
    }
}
