using CharRnn.Fast.Inference;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;
using static CharRnn.Fast.Tests.Kernels.PolicySweep;

namespace CharRnn.Fast.Tests.Engine;

/// <summary>Many streams in one batch against as many single-stream generators: the same tokens and logits, bit for bit, in every weight format.</summary>
public class BatchGeneratorTests
{
    private static readonly string Names = "ada\nbob\ncyrus\ndora\nemil\nfelix\ngreta\nhugo\nines\njonas\n";

    public static TheoryData<CellKind, int, int, WeightFormat> Shapes
    {
        get
        {
            var data = new TheoryData<CellKind, int, int, WeightFormat>();
            // H below one 8-vector tile (all tail), a tile and a tail, whole tiles
            foreach (var (cell, layers, hidden) in new[] { (CellKind.Rnn, 1, 40), (CellKind.Rnn, 2, 130), (CellKind.Lstm, 2, 70), (CellKind.Lstm, 1, 136), (CellKind.Gru, 3, 33), (CellKind.Gru, 1, 256) })
                foreach (var weights in new[] { WeightFormat.F32, WeightFormat.Bf16, WeightFormat.Int8 }) data.Add(cell, layers, hidden, weights);
            return data;
        }
    }

    private static CharRnnModel Model(CellKind cell, int layers, int hidden, bool lines, string? text = null)
    {
        var options = new TrainingOptions { WeightInit = new InitScheme(InitKind.Uniform, 0.3), BiasInit = new InitScheme(InitKind.Uniform, 0.2), Seed = 12 };
        text ??= lines ? Names : Names.Replace('\n', ' ');
        return Trainer.NewModel(Vocabulary.FromText(text), hidden, options, sequenceMode: lines, cell: cell, layers: layers);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_stream_generates_what_a_single_generator_with_its_seed_generates(CellKind cell, int layers, int hidden, WeightFormat weights) => ForEachPolicy(policy =>
    {
        foreach (bool lines in new[] { false, true }) StreamsMatchSingleGenerators(new InferenceModel(Model(cell, layers, hidden, lines), policy, weights));
    });

    /// <summary>V = 150: the logits' columns past 8·16 start an 8-vector tile of the single row's GEMV, which the batch's f32 layout turns into panels.</summary>
    [Theory]
    [InlineData(WeightFormat.F32)]
    [InlineData(WeightFormat.Bf16)]
    [InlineData(WeightFormat.Int8)]
    public void A_vocabulary_wider_than_a_tile_gives_the_same_logits(WeightFormat weights) => ForEachPolicy(policy =>
    {
        string text = "bo " + new string(Enumerable.Range(0, 147).Select(i => (char)(0x400 + i)).ToArray());
        StreamsMatchSingleGenerators(new InferenceModel(Model(CellKind.Gru, 2, 50, false, text), policy, weights));
    });

    private static void StreamsMatchSingleGenerators(InferenceModel model)
    {
        const int streams = 5, steps = 40;
        var batch = new BatchGenerator(model, streams);
        var options = Enumerable.Range(0, streams).Select(i => new SamplingOptions(0.7 + 0.2 * i, i % 3 == 2 ? 4 : 0, i == 3 ? 0.9 : 1.0)).ToArray();
        string Prime(int i) => i % 2 == 0 ? "" : "bo";
        for (int i = 0; i < streams; i++) batch.Start(i, 100 + (ulong)i, Prime(i));
        var tokens = new int[streams];
        var batched = new List<int>[streams];
        var logits = new List<float[]>[streams];
        for (int i = 0; i < streams; i++) { batched[i] = []; logits[i] = []; }
        for (int s = 0; s < steps; s++)
        {
            batch.Next(options, tokens);
            for (int i = 0; i < streams; i++)
                if (tokens[i] >= 0) { batched[i].Add(tokens[i]); logits[i].Add(batch.Logits(i).ToArray()); }
        }
        for (int i = 0; i < streams; i++)
        {
            using var single = new Generator(model, 100 + (ulong)i);
            single.Reset();
            single.Reseed(100 + (ulong)i);
            if (model.SequenceMode) single.Feed(model.BoundaryToken);
            single.Prime(Prime(i));
            for (int s = 0; s < batched[i].Count; s++)
            {
                int token = single.Next(options[i]);
                Assert.Equal(batched[i][s], token);
                Assert.Equal(logits[i][s], single.Logits.ToArray());
            }
            // a lines model's batch stream ended where the single one draws the boundary
            if (batched[i].Count < steps) Assert.Equal(model.BoundaryToken, single.SampleNext(options[i]));
        }
    }

    [Theory]
    [InlineData(WeightFormat.F32)]
    [InlineData(WeightFormat.Bf16)]
    [InlineData(WeightFormat.Int8)]
    public void A_step_allocates_nothing(WeightFormat weights)
    {
        var model = new InferenceModel(Model(CellKind.Lstm, 2, 130, false), weights: weights);
        var batch = new BatchGenerator(model, 8);
        for (int i = 0; i < 8; i++) batch.Start(i, (ulong)i, "bo");
        var tokens = new int[8];
        SamplingOptions[] options = [new SamplingOptions(0.8, 5, 0.95)];
        batch.Next(options, tokens);
        Assert.Equal(0, AllocationProbe.Steady(() => { for (int s = 0; s < 50; s++) batch.Next(options, tokens); }));
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        var batch = new BatchGenerator(new InferenceModel(Model(CellKind.Rnn, 1, 16, false)), 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.Start(3, 1));
        Assert.Throws<Text.UnknownCharactersException>(() => batch.Start(0, 1, "Z"));
        Assert.Throws<ArgumentException>(() => batch.Next(new SamplingOptions[2], new int[3]));
        Assert.Throws<ArgumentException>(() => batch.Next([new SamplingOptions(-1)], new int[3]));
    }
}
