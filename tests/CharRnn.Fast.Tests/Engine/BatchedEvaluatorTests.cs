using CharRnn.Fast.Data;
using CharRnn.Fast.Model;
using CharRnn.Fast.Tests.Reference;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using FsCheck;
using FsCheck.Fluent;
using Xunit;
using static CharRnn.Fast.Tests.Kernels.PolicySweep;

namespace CharRnn.Fast.Tests.Engine;

/// <summary>Evaluation of B streams in the training data order, against the naive reference, on every policy and thread count.</summary>
public sealed class BatchedEvaluatorTests
{
    /// <summary>
    /// The reference reads the whole pass as one chunk of L steps × B streams (stream b at shard b = tokens[b·S ..]);
    /// the evaluator reads it in chunks, carrying each stream's state, split among threads.
    /// </summary>
    [Fact]
    public void B_streams_in_chunks_give_the_references_mean_over_the_shards() => Property(
        from cell in Gen.Elements(NaiveCell.Rnn, NaiveCell.Lstm, NaiveCell.Gru) from layers in Gen.Choose(1, 2)
        from v in Gen.Choose(2, 20) from h in Gen.Choose(1, 40) from b in Gen.Choose(1, 5) from chunk in Gen.Choose(1, 7)
        from extra in Gen.Choose(0, 60) from limit in Gen.Elements(long.MaxValue, 1L, 5L) from threads in Gen.Choose(1, 3)
        from resets in Gen.Elements(false, true) from seed in Gen.Choose(0, int.MaxValue)
        select (cell, layers, v, h, b, chunk, extra, limit, threads, resets, seed), (policy, c) =>
    {
        var rng = new Random(c.seed);
        var reference = StackedEngineVsReferenceTests.RandomReference(c.cell, c.layers, c.v, c.h, Nonlinearity.Tanh, rng);
        // token 0 is '\n', the boundary of a sequence model
        var vocabulary = Vocabulary.FromSymbols(Enumerable.Range(0, c.v).Select(i => new System.Text.Rune(i == 0 ? '\n' : 'a' + i)));
        var model = new CharRnnModel(vocabulary, ReferenceMapping.ToEngine(reference), sequenceMode: c.resets);
        var tokens = Enumerable.Range(0, c.b + 1 + c.extra).Select(_ => rng.Next(c.v)).ToArray();

        using var evaluator = new BatchedEvaluator(model, c.b, c.chunk, c.threads, policy);
        var e = evaluator.Evaluate(new ArrayTokenSource(tokens, c.v), c.limit);

        int shard = (tokens.Length - 1) / c.b, steps = (int)Math.Min(shard, c.limit);
        var inputs = new int[steps * c.b];
        var targets = new int[steps * c.b];
        for (int t = 0; t < steps; t++)
            for (int s = 0; s < c.b; s++) (inputs[t * c.b + s], targets[t * c.b + s]) = (tokens[s * shard + t], tokens[s * shard + t + 1]);
        double expected = reference.ForwardBackward(inputs, targets, steps, c.b, NaiveState.Zero(c.cell, c.layers, c.b, c.h), resetToken: c.resets ? 0 : -1).LossSum;
        Assert.Equal((long)steps * c.b, e.Predictions);
        Assert.True(Math.Abs(e.NatsPerChar * e.Predictions - expected) <= 1e-4 * (1 + expected), $"{e.NatsPerChar * e.Predictions} vs {expected} ({c})");
    }, tests: 25);

    private static CharRnnModel Model(int hidden, int layers = 1, CellKind cell = CellKind.Rnn)
    {
        var options = new TrainingOptions { Seed = 3, WeightInit = new InitScheme(InitKind.Uniform, 0.3) };
        return Trainer.NewModel(Vocabulary.FromText("abcdefgh"), hidden, options, cell: cell, layers: layers);
    }

    private static ArrayTokenSource Tokens(int n, int seed = 1)
    {
        var rng = new Random(seed);
        return new ArrayTokenSource(Enumerable.Range(0, n).Select(_ => rng.Next(8)).ToArray(), 8);
    }

    [Fact]
    public void One_stream_is_the_evaluators_definition_and_split_by_columns_it_is_bit_identical()
    {
        var model = Model(hidden: 300);
        var tokens = Tokens(2000);
        var all = new int[tokens.Length];
        tokens.Read(0, all);
        var single = Evaluator.Evaluate(model, all, chunk: 64);
        Assert.Equal(tokens.Length - 1, single.Predictions);
        using var one = new BatchedEvaluator(model, streams: 1, chunk: 64);
        using var three = new BatchedEvaluator(model, streams: 1, chunk: 64, threads: 3);
        Assert.Equal(single, one.Evaluate(tokens));
        Assert.Equal(single, three.Evaluate(tokens));
    }

    [Fact]
    public void The_trainers_evaluator_runs_on_its_workspaces_and_leaves_training_bit_identical()
    {
        var options = new TrainingOptions { SequenceLength = 7, BatchSize = 5, Threads = 2, Optimizer = OptimizerKind.Adam, LearningRate = 0.01 };
        var text = Tokens(900, seed: 2);
        var validation = Tokens(301, seed: 3);
        var straight = Model(hidden: 20, layers: 2, cell: CellKind.Lstm);
        var interrupted = Model(hidden: 20, layers: 2, cell: CellKind.Lstm);
        using var a = new Trainer(straight, text, options);
        using var b = new Trainer(interrupted, text, options);
        for (int i = 0; i < 6; i++) a.TrainStep();
        for (int i = 0; i < 3; i++) b.TrainStep();
        using var evaluator = b.CreateEvaluator();
        Assert.Equal(5, evaluator.Streams);
        Assert.Equal(7, evaluator.ChunkLength);
        var onTrainer = evaluator.Evaluate(validation);
        using var standalone = new BatchedEvaluator(interrupted, streams: 5, chunk: 7, threads: 2);
        Assert.Equal(standalone.Evaluate(validation), onTrainer);
        Assert.Equal(5 * 60, onTrainer.Predictions);
        for (int i = 0; i < 3; i++) b.TrainStep();
        Assert.Equal(straight.Parameters.All.ToArray(), interrupted.Parameters.All.ToArray());
        var (sa, sb) = (new float[a.StateSize], new float[b.StateSize]);
        a.CopyStateTo(sa);
        b.CopyStateTo(sb);
        Assert.Equal(sa, sb);
    }

    [Fact]
    public void A_stream_limit_reads_the_head_of_every_shard_and_cancellation_stops_between_chunks()
    {
        var model = Model(hidden: 16);
        var tokens = Tokens(1001);
        using var evaluator = new BatchedEvaluator(model, streams: 4, chunk: 10, threads: 2);
        var progress = new List<long>();
        var head = evaluator.Evaluate(tokens, streamLength: 25, progress.Add);
        Assert.Equal(100, head.Predictions);
        Assert.Equal([40L, 80, 100], progress);
        var heads = new int[4 * 26];
        for (int s = 0; s < 4; s++) tokens.Read(s * 250, heads.AsSpan(s * 26, 26)); // shard s starts at s·⌊1000/4⌋
        double expected = 0;
        for (int s = 0; s < 4; s++) expected += Evaluator.Evaluate(model, heads.AsSpan(s * 26, 26)).NatsPerChar * 25;
        Assert.Equal(expected / 100, head.NatsPerChar, 5);

        using var cancelled = new CancellationTokenSource();
        int chunks = 0;
        Assert.Throws<OperationCanceledException>(() => evaluator.Evaluate(tokens, progress: _ => { if (++chunks == 2) cancelled.Cancel(); }, cancellation: cancelled.Token));
        Assert.Equal(2, chunks);
        Assert.Equal(head, evaluator.Evaluate(tokens, streamLength: 25)); // the state starts over each pass
    }

    [Fact]
    public void Too_few_tokens_for_the_streams_is_a_clear_error()
    {
        using var evaluator = new BatchedEvaluator(Model(hidden: 4), streams: 6);
        var e = Assert.Throws<ArgumentException>(() => evaluator.Evaluate(Tokens(6)));
        Assert.Contains("evaluating 6 stream(s) needs at least 7 characters (got 6)", e.Message);
    }
}
