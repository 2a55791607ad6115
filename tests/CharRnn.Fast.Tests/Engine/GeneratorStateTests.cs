using CharRnn.Fast.Inference;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.Engine;

/// <summary>
/// Saved states: a state restored into any generator (or batch stream) of the same model continues with exactly the
/// tokens and logits the uninterrupted generator gives; a state of another model is refused and changes nothing.
/// </summary>
public class GeneratorStateTests
{
    private const string Names = "ada\nbob\ncyrus\ndora\nemil\nfelix\ngreta\nhugo\nines\njonas\n";
    private const int Steps = 40;
    private static readonly SamplingOptions Options = new(0.9, TopK: 6);

    private static InferenceModel Model(CellKind cell, int layers, bool lines, int hidden = 37, string text = Names, Nonlinearity nonlinearity = Nonlinearity.Tanh)
    {
        var options = new TrainingOptions { WeightInit = new InitScheme(InitKind.Uniform, 0.3), BiasInit = new InitScheme(InitKind.Uniform, 0.2), Seed = 12 };
        var corpus = lines ? text : text.Replace('\n', ' ');
        return new InferenceModel(Trainer.NewModel(Vocabulary.FromText(corpus), hidden, options, nonlinearity, lines, cell, layers));
    }

    public static TheoryData<CellKind, int, bool> Models()
    {
        var data = new TheoryData<CellKind, int, bool>();
        foreach (var cell in new[] { CellKind.Rnn, CellKind.Lstm, CellKind.Gru })
            for (int layers = 1; layers <= 3; layers++)
                foreach (bool lines in new[] { false, true })
                    data.Add(cell, layers, lines);
        return data;
    }

    /// <summary>What a generator does from here: per step the token TryNext gives (−1 once ended) and the logits after it.</summary>
    private static List<(int Token, float[] Logits)> Continue(Generator g, int steps)
    {
        var seen = new List<(int, float[])>();
        for (int s = 0; s < steps; s++)
        {
            int token = g.TryNext(Options, out int id) ? id : -1;
            seen.Add((token, g.Logits.ToArray()));
        }
        return seen;
    }

    private static void AssertSame(List<(int Token, float[] Logits)> expected, List<(int Token, float[] Logits)> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int s = 0; s < expected.Count; s++)
        {
            Assert.Equal(expected[s].Token, actual[s].Token);
            Assert.Equal(expected[s].Logits, actual[s].Logits);
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void A_restored_generator_continues_exactly_as_the_uninterrupted_one(CellKind cell, int layers, bool lines)
    {
        var model = Model(cell, layers, lines);
        var state = new byte[GeneratorState.Size(model)];
        // cut before the first draw (a stream model without a prime has no logits yet), early, and (in a lines model)
        // after the sample has ended
        foreach (int cut in new[] { 0, 1, 9, 30 })
        {
            foreach (string prime in new[] { "", "bo" })
            {
                var uninterrupted = new Generator(model, seed: 3);
                uninterrupted.Start(77, prime);
                Continue(uninterrupted, cut);
                var expected = Continue(uninterrupted, Steps);

                var saved = new Generator(model, seed: 3);
                saved.Start(77, prime);
                Continue(saved, cut);
                Assert.Equal(state.Length, saved.SaveState(state));
                var savedLater = Continue(saved, Steps); // saving changes nothing
                AssertSame(expected, savedLater);

                // a generator elsewhere in another sample takes the state over
                var restored = new Generator(model, seed: 99);
                restored.Start(5, "da");
                Continue(restored, 4);
                restored.LoadState(state);
                AssertSame(expected, Continue(restored, Steps));
            }
        }
    }

    [Theory]
    [InlineData(CellKind.Lstm, 2)]
    [InlineData(CellKind.Gru, 1)]
    [InlineData(CellKind.Rnn, 3)]
    public void A_state_saved_after_a_lines_sample_ended_continues_when_a_token_is_fed(CellKind cell, int layers)
    {
        var model = Model(cell, layers, lines: true);
        var g = new Generator(model, seed: 1);
        g.Start(8);
        for (int n = 0; n < 10_000 && g.TryNext(new SamplingOptions(2.0), out _); n++) { } // flat: the boundary comes soon
        var state = new byte[GeneratorState.Size(model)];
        g.SaveState(state);
        Assert.False(g.TryNext(Options, out _));
        g.Feed(model.BoundaryToken); // a raw step continues from the state at the end of the line
        var expected = Continue(g, Steps);

        var restored = new Generator(model, seed: 2);
        restored.LoadState(state);
        Assert.False(restored.TryNext(Options, out _)); // ended
        restored.Feed(model.BoundaryToken);
        AssertSame(expected, Continue(restored, Steps));
    }

    [Fact]
    public void Generating_into_a_buffer_continues_a_restored_state_as_the_uninterrupted_one()
    {
        var model = Model(CellKind.Lstm, 2, lines: false);
        var uninterrupted = new Generator(model, seed: 1);
        uninterrupted.Start(4, "ada");
        var first = new byte[400];
        Assert.True(uninterrupted.TryGenerateUtf8(Options, 20, first, out _));
        var state = new byte[GeneratorState.Size(model)];
        uninterrupted.SaveState(state);
        var expected = new byte[400];
        Assert.True(uninterrupted.TryGenerateUtf8(Options, 100, expected, out int expectedLength));

        var restored = new Generator(model, seed: 1);
        restored.LoadState(state);
        var actual = new byte[400];
        Assert.True(restored.TryGenerateUtf8(Options, 100, actual, out int actualLength));
        Assert.Equal(expected.AsSpan(0, expectedLength).ToArray(), actual.AsSpan(0, actualLength).ToArray());
    }

    /// <summary>A batch stream's next steps: its token (−1 once ended) and logits after each, the other streams busy beside it.</summary>
    private static List<(int Token, float[] Logits)> Continue(BatchGenerator batch, int stream, int steps, SamplingOptions[] options)
    {
        var seen = new List<(int, float[])>();
        var tokens = new int[batch.Streams];
        for (int s = 0; s < steps; s++)
        {
            batch.Next(options, tokens);
            seen.Add((tokens[stream], tokens[stream] < 0 ? [] : batch.Logits(stream).ToArray()));
        }
        return seen;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void A_state_moves_from_a_generator_into_a_batch_stream_and_back(CellKind cell, int layers, bool lines)
    {
        var model = Model(cell, layers, lines);
        var state = new byte[GeneratorState.Size(model)];
        foreach (int cut in new[] { 0, 6 })
        {
            var uninterrupted = new Generator(model, seed: 3);
            uninterrupted.Start(21);
            Continue(uninterrupted, cut);
            var expected = Continue(uninterrupted, Steps);

            var single = new Generator(model, seed: 3);
            single.Start(21);
            Continue(single, cut);
            single.SaveState(state);

            // stream 2 of four, the others in their own samples with other options
            var batch = new BatchGenerator(model, 4);
            SamplingOptions[] options = [new(0.7), new(1.2, TopP: 0.9), Options, new(Greedy: true)];
            for (int i = 0; i < 4; i++) batch.Start(i, (ulong)(50 + i), i == 1 ? "ines" : "");
            Continue(batch, 0, 3, options);
            batch.LoadState(2, state);
            const int inBatch = 17;
            var batched = Continue(batch, 2, inBatch, options);
            // a batch records no logits for an ended step; the generator's are those it ended on
            for (int s = 0; s < inBatch; s++)
            {
                Assert.Equal(expected[s].Token, batched[s].Token);
                if (batched[s].Token >= 0) Assert.Equal(expected[s].Logits, batched[s].Logits);
            }

            // back into a generator (another one), through another stream of the batch first
            batch.SaveState(2, state);
            batch.LoadState(0, state);
            var back = new Generator(model, seed: 8);
            back.Start(1, "cy");
            batch.SaveState(0, state);
            back.LoadState(state);
            AssertSame(expected[inBatch..], Continue(back, Steps - inBatch));
        }
    }

    [Theory]
    [InlineData(CellKind.Lstm, 2)]
    [InlineData(CellKind.Gru, 3)]
    [InlineData(CellKind.Rnn, 1)]
    public void A_batch_stream_that_ended_saves_the_state_it_ended_in(CellKind cell, int layers)
    {
        var model = Model(cell, layers, lines: true);
        var batch = new BatchGenerator(model, 3);
        var hot = new SamplingOptions(2.0); // no truncation, a flat distribution: every stream draws its boundary soon
        SamplingOptions[] options = [hot];
        for (int i = 0; i < 3; i++) batch.Start(i, (ulong)(30 + i));
        var tokens = new int[3];
        int steps = 0;
        do { batch.Next(options, tokens); steps++; } while (tokens[1] >= 0 && steps < 10_000);
        Assert.Equal(-1, tokens[1]);
        for (int s = 0; s < 5; s++) batch.Next(options, tokens); // the other streams go on; stream 1 stays ended
        var state = new byte[GeneratorState.Size(model)];
        batch.SaveState(1, state);

        var uninterrupted = new Generator(model, seed: 1);
        uninterrupted.Start(31);
        for (int s = 0; s < steps - 1; s++) Assert.True(uninterrupted.TryNext(hot, out _));
        Assert.False(uninterrupted.TryNext(hot, out _));
        uninterrupted.Feed(model.BoundaryToken);
        var expected = Continue(uninterrupted, Steps);

        var restored = new Generator(model, seed: 1);
        restored.LoadState(state);
        Assert.False(restored.TryNext(hot, out _));
        restored.Feed(model.BoundaryToken);
        AssertSame(expected, Continue(restored, Steps));
    }

    public static TheoryData<string, InferenceModel> OtherModels => new()
    {
        { "another cell", Model(CellKind.Gru, 2, false) },
        { "another depth", Model(CellKind.Lstm, 1, false) },
        { "another hidden size", Model(CellKind.Lstm, 2, false, hidden: 36) },
        { "lines instead of a stream", Model(CellKind.Lstm, 2, true) },
        { "another vocabulary", Model(CellKind.Lstm, 2, false, text: Names + "xyz") },
        { "another vocabulary of the same size", Model(CellKind.Lstm, 2, false, text: Names.Replace('j', 'k')) },
    };

    [Theory]
    [MemberData(nameof(OtherModels))]
    public void A_state_of_another_model_is_refused_and_changes_nothing(string difference, InferenceModel other)
    {
        var model = Model(CellKind.Lstm, 2, false);
        var foreign = new Generator(other, seed: 1);
        foreign.Start(2);
        Continue(foreign, 3);
        var state = new byte[GeneratorState.Size(other)];
        foreign.SaveState(state);

        var g = new Generator(model, seed: 1);
        g.Start(6, "bo");
        var e = Assert.Throws<StateMismatchException>(() => g.LoadState(state));
        Assert.False(string.IsNullOrWhiteSpace(e.Message), difference);
        var batch = new BatchGenerator(model, 2);
        batch.Start(1, 6, "bo");
        Assert.Throws<StateMismatchException>(() => batch.LoadState(1, state));

        var untouched = new Generator(model, seed: 1);
        untouched.Start(6, "bo");
        var expected = Continue(untouched, Steps);
        AssertSame(expected, Continue(g, Steps));
        var tokens = new int[2];
        batch.Next([Options], tokens);
        Assert.Equal(expected[0].Token, tokens[1]);
        Assert.Equal(expected[0].Logits, batch.Logits(1).ToArray());
    }

    [Fact]
    public void A_relu_state_does_not_load_into_a_tanh_model()
    {
        var relu = Model(CellKind.Rnn, 1, false, nonlinearity: Nonlinearity.Relu);
        var state = new byte[GeneratorState.Size(relu)];
        new Generator(relu).SaveState(state);
        var e = Assert.Throws<StateMismatchException>(() => new Generator(Model(CellKind.Rnn, 1, false)).LoadState(state));
        Assert.Contains("relu", e.Message);
    }

    [Fact]
    public void Damaged_or_truncated_states_are_refused()
    {
        var model = Model(CellKind.Gru, 2, true);
        var g = new Generator(model, seed: 1);
        g.Start(1);
        Continue(g, 3);
        var good = new byte[GeneratorState.Size(model)];
        g.SaveState(good);
        byte[] Damaged(Action<byte[]> damage)
        {
            var copy = good.ToArray();
            damage(copy);
            return copy;
        }
        var bad = new (string What, byte[] State)[]
        {
            ("truncated", good[..^1]),
            ("too long", [.. good, 0]),
            ("empty", []),
            ("not a state", Damaged(s => s[0] ^= 1)),
            ("a newer format", Damaged(s => s[4] = 2)),
            ("unknown flags", Damaged(s => s[11] |= 4)),
            ("an all-zero RNG", Damaged(s => s.AsSpan(32, 32).Clear())),
            ("a NaN in h", Damaged(s => BitConverter.TryWriteBytes(s.AsSpan(64), float.NaN))),
            ("an infinity in the last layer's h", Damaged(s => BitConverter.TryWriteBytes(s.AsSpan(64 + 4 * model.HiddenSize), float.PositiveInfinity))),
            ("a NaN in the last logit", Damaged(s => BitConverter.TryWriteBytes(s.AsSpan(s.Length - 4), float.NaN))),
            ("a corrupted mode byte", Damaged(s => s[10] = 7)),
        };
        var target = new Generator(model, seed: 1);
        foreach (var (what, state) in bad)
        {
            var e = Assert.Throws<StateMismatchException>(() => target.LoadState(state));
            Assert.False(string.IsNullOrWhiteSpace(e.Message), what);
        }
        // a stream model's state never ends
        var streamModel = Model(CellKind.Gru, 2, false);
        var streamState = new byte[GeneratorState.Size(streamModel)];
        new Generator(streamModel).SaveState(streamState);
        streamState[11] |= 2;
        Assert.Throws<StateMismatchException>(() => new Generator(streamModel).LoadState(streamState));
        target.LoadState(good); // the undamaged one loads
    }

    [Fact]
    public void Saving_into_a_short_span_or_naming_a_missing_stream_is_refused()
    {
        var model = Model(CellKind.Rnn, 1, false);
        int size = GeneratorState.Size(model);
        Assert.Throws<ArgumentException>(() => new Generator(model).SaveState(new byte[size - 1]));
        var batch = new BatchGenerator(model, 2);
        Assert.Throws<ArgumentException>(() => batch.SaveState(0, new byte[size - 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.SaveState(2, new byte[size]));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.LoadState(-1, new byte[size]));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.IsEnded(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.Logits(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Vocabulary.GetString(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Vocabulary[model.VocabularySize]);
        Assert.Equal(size, new Generator(model).SaveState(new byte[size + 10])); // room to spare: the state's own size
    }
}
