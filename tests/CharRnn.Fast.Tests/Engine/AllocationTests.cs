using CharRnn.Fast.Inference;
using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;
using CharRnn.Fast.Tests.Kernels;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.Engine;

/// <summary>After set-up, a training step and a generated character allocate exactly 0 bytes, on every vector path and in every weight format.</summary>
[Collection(AllocationCollection.Name)]
public class AllocationTests
{
    private static (CharRnnModel Model, int[] Tokens) Corpus(bool lines)
    {
        var rng = new Random(3);
        var text = new string(Enumerable.Range(0, 4000).Select(_ => "abcdefgh \n"[rng.Next(10)]).ToArray());
        var vocabulary = Vocabulary.FromText(text);
        var model = Trainer.NewModel(vocabulary, 37, new TrainingOptions(), sequenceMode: lines);
        return (model, vocabulary.Encode(text));
    }

    [Theory]
    [InlineData(OptimizerKind.Adam, 1, false)]
    [InlineData(OptimizerKind.Adagrad, 3, true)]
    [InlineData(OptimizerKind.Sgd, 2, false)]
    public void Training_steps_allocate_nothing(OptimizerKind optimizer, int batch, bool lines) => PolicySweep.ForEachPolicy(policy =>
    {
        var (model, tokens) = Corpus(lines);
        var trainer = new Trainer(model, tokens, new TrainingOptions { Optimizer = optimizer, BatchSize = batch, SequenceLength = 19, ClipNorm = 1, LearningRate = 0.01 }, policy: policy);
        // warm-up past an epoch boundary: first calls (JIT, type loading) may allocate once, steps never do
        for (int i = 0; i <= trainer.Data.StepsPerEpoch; i++) trainer.TrainStep();
        Assert.Equal(0, AllocationProbe.Steady(() => { for (int i = 0; i < 200; i++) trainer.TrainStep(); })); // crosses an epoch boundary again at B > 1
    });

    [Theory]
    [InlineData(1.0, 0, 1.0)]
    [InlineData(0.8, 5, 0.9)]
    [InlineData(1.0, 3, 1.0)]
    [InlineData(0.0, 0, 1.0)]
    public void Generated_characters_allocate_nothing(double temperature, int topK, double topP) => PolicySweep.ForEachPolicy(policy =>
    {
        foreach (var weights in Formats) GeneratedCharactersAllocateNothing(policy, weights, temperature, topK, topP);
    });

    private static readonly WeightFormat[] Formats = [WeightFormat.F32, WeightFormat.Bf16, WeightFormat.Int8];

    private static void GeneratedCharactersAllocateNothing(KernelPolicy policy, WeightFormat weights, double temperature, int topK, double topP)
    {
        var (model, _) = Corpus(false);
        var generator = new Generator(new InferenceModel(model, policy, weights), seed: 5);
        var options = new SamplingOptions(temperature, topK, topP);
        generator.Prime("abc");
        generator.Next(options);
        Assert.Equal(0, AllocationProbe.Steady(() =>
        {
            for (int i = 0; i < 2000; i++) generator.Next(options);
            for (int i = 0; i < 100; i++) { generator.Reset(); generator.Prime("bad cafe"); }
        }));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Samples_by_the_protocol_allocate_nothing(bool lines) => PolicySweep.ForEachPolicy(policy =>
    {
        foreach (var weights in Formats) SamplesByTheProtocolAllocateNothing(policy, weights, lines);
    });

    private static void SamplesByTheProtocolAllocateNothing(KernelPolicy policy, WeightFormat weights, bool lines)
    {
        var (model, _) = Corpus(lines);
        var generator = new Generator(new InferenceModel(model, policy, weights), seed: 5);
        var options = new SamplingOptions(0.9, TopK: 4);
        var fits = new byte[(int)generator.MaxUtf8ByteCount(300)];
        var tooSmall = new byte[3];
        void Samples()
        {
            for (ulong seed = 0; seed < 50; seed++)
            {
                generator.Start(seed, "cab");
                for (int n = 0; n < 40 && generator.TryNext(options, out _); n++) { }
                generator.Start(seed);
                generator.TryGenerateUtf8(options, 300, tooSmall, out _); // undone: the state is saved and restored
                generator.TryGenerateUtf8(options, 300, fits, out _);
            }
        }
        Samples(); // warm-up (JIT)
        Assert.Equal(0, AllocationProbe.Steady(Samples));
    }

    [Theory]
    [InlineData(CellKind.Lstm, true)]
    [InlineData(CellKind.Gru, false)]
    public void Saving_and_loading_states_allocates_nothing(CellKind cell, bool lines)
    {
        var vocabulary = Vocabulary.FromText("abcdefgh \n");
        var model = new InferenceModel(Trainer.NewModel(vocabulary, 37, new TrainingOptions(), sequenceMode: lines, cell: cell, layers: 2));
        var generator = new Generator(model, seed: 5);
        var batch = new BatchGenerator(model, 3);
        var state = new byte[GeneratorState.Size(model)];
        var tokens = new int[3];
        SamplingOptions[] options = [new SamplingOptions(0.9, TopK: 4)];
        generator.Start(1, "cab");
        for (int i = 0; i < 3; i++) batch.Start(i, (ulong)i, "cab");
        void Swaps()
        {
            for (int n = 0; n < 100; n++)
            {
                generator.TryNext(options[0], out _);
                generator.SaveState(state);
                batch.LoadState(n % 3, state);
                batch.Next(options, tokens);
                batch.SaveState((n + 1) % 3, state);
                generator.LoadState(state);
            }
        }
        Swaps(); // warm-up (JIT)
        Assert.Equal(0, AllocationProbe.Steady(Swaps));
    }

    [Theory]
    [InlineData(WeightFormat.F32)]
    [InlineData(WeightFormat.Bf16)]
    [InlineData(WeightFormat.Int8)]
    public void A_threaded_generator_allocates_nothing_on_any_thread(WeightFormat weights)
    {
        var model = Trainer.NewModel(Text.Vocabulary.FromText("abcdef "), 256, new TrainingOptions(), cell: CellKind.Lstm, layers: 2);
        using var generator = new Generator(new InferenceModel(model, weights: weights), seed: 5, threads: 2);
        Assert.Equal(2, generator.Threads);
        var options = new SamplingOptions();
        for (int i = 0; i < 200; i++) generator.Next(options);
        // every member of the team, the caller included, allocates exactly nothing; each reading waits for the other
        // to start, so neither thread can take the other's slot
        var before = new long[2];
        var after = new long[2];
        int started = 0;
        Action<int> Read(long[] into, int all) => m =>
        {
            into[m] = GC.GetAllocatedBytesForCurrentThread();
            Interlocked.Increment(ref started);
            while (Volatile.Read(ref started) < all) Thread.SpinWait(1);
        };
        var readBefore = Read(before, 2);
        var readAfter = Read(after, 4);
        generator.Team!.Run(readBefore);
        for (int i = 0; i < 2000; i++) generator.Next(options);
        generator.Team.Run(readAfter);
        Assert.Equal(before, after);
    }

    [Fact]
    public void Dense_forward_and_backward_allocate_nothing()
    {
        var rnn = new DenseRnn(new RnnShape(3, 21, 2), 8);
        ParameterInitializer.Initialize(rnn.Parameters, new InitScheme(InitKind.Normal, 0.1), new InitScheme(InitKind.Zero, 0), new Rng(1));
        var inputs = new float[8 * 3];
        var dOutputs = new float[8 * 2];
        rnn.Forward(inputs);
        rnn.Backward(dOutputs);
        Assert.Equal(0, AllocationProbe.Steady(() => { for (int i = 0; i < 100; i++) { rnn.Forward(inputs); rnn.Backward(dOutputs); } }));
    }
}
