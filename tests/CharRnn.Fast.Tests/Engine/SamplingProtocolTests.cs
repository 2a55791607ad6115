using System.Text;
using CharRnn.Fast.Inference;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.Engine;

/// <summary>
/// The start-and-stop protocol of a sample: Start (zero state, seeded RNG, the boundary first in a lines model, the
/// prime), then TryNext until the length or, in a lines model, the boundary, which ends the sample unfed.
/// </summary>
public class SamplingProtocolTests
{
    // multi-byte characters, so UTF-8 lengths differ from character counts
    private const string Symbols = "abé日😀 \n";
    private static readonly SamplingOptions Options = new(0.9, TopK: 6);

    private static InferenceModel Model(bool lines, CellKind cell = CellKind.Rnn, int layers = 1)
    {
        var options = new TrainingOptions { Seed = 4, WeightInit = new InitScheme(InitKind.Normal, 0.3) };
        return new InferenceModel(Trainer.NewModel(Vocabulary.FromText(Symbols), 24, options, sequenceMode: lines, cell: cell, layers: layers));
    }

    /// <summary>Lines and stream models of every cell type, stacked and not.</summary>
    public static TheoryData<bool, CellKind, int> Models => new()
    {
        { true, CellKind.Rnn, 1 }, { false, CellKind.Rnn, 1 }, { true, CellKind.Lstm, 2 }, { false, CellKind.Lstm, 1 }, { false, CellKind.Gru, 2 },
    };

    /// <summary>h then the logits (none before the first feed).</summary>
    private static float[] State(Generator g) => [.. g.HiddenState, .. g.Logits];

    [Theory]
    [MemberData(nameof(Models))]
    public void Start_is_the_zero_state_the_seed_the_boundary_of_a_lines_model_then_the_prime(bool lines, CellKind cell, int layers)
    {
        var model = Model(lines, cell, layers);
        var manual = new Generator(model, seed: 9);
        if (lines) manual.Feed(model.BoundaryToken);
        manual.Prime("ab日");

        var started = new Generator(model, seed: 1);
        started.Prime("éé a"); // whatever came before is forgotten
        started.Next(Options);
        started.Start(9, "ab日");

        Assert.Equal(State(manual), State(started));
        for (int i = 0; i < 50; i++) Assert.Equal(manual.Next(Options), started.Next(Options));
    }

    [Fact]
    public void A_lines_sample_ends_when_the_boundary_is_drawn_which_is_not_fed()
    {
        var model = Model(lines: true);
        var g = new Generator(model);
        g.Start(3);
        int drawn = 0;
        var before = State(g);
        while (g.TryNext(Options, out int token))
        {
            Assert.NotEqual(model.BoundaryToken, token);
            before = State(g);
            Assert.True(++drawn < 10_000, "the boundary was never drawn");
        }
        Assert.Equal(before, State(g)); // the boundary was not fed
        // the sample stays over: no draw, nothing fed, the token is the boundary
        var rng = g.Rng.SaveState();
        Assert.False(g.TryNext(Options, out int again));
        Assert.Equal(model.BoundaryToken, again);
        Assert.Equal(rng, g.Rng.SaveState());
        Assert.Equal(before, State(g));
        // feeding a token, or a new Start, begins drawing again
        g.Feed(0);
        Assert.True(g.TryNext(Options, out _) || g.Rng.SaveState() != rng);
        g.Start(4);
        rng = g.Rng.SaveState();
        g.TryNext(Options, out _);
        Assert.NotEqual(rng, g.Rng.SaveState());
    }

    [Fact]
    public void A_stream_sample_never_ends_and_draws_what_Next_draws()
    {
        var model = Model(lines: false);
        var a = new Generator(model);
        var b = new Generator(model);
        a.Start(5, "a");
        b.Start(5, "a");
        for (int i = 0; i < 2000; i++)
        {
            Assert.True(a.TryNext(Options, out int token));
            Assert.Equal(b.Next(Options), token);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Sample_is_Start_then_TryNext_up_to_the_length(bool lines)
    {
        var model = Model(lines);
        var g = new Generator(model);
        var manual = new Generator(model);
        for (ulong seed = 1; seed <= 20; seed++)
        {
            string text = g.Sample(seed, 40, Options, "b");
            manual.Start(seed, "b");
            var expected = new StringBuilder();
            for (int n = 0; n < 40 && manual.TryNext(Options, out int token); n++) expected.Append(model.Vocabulary.GetString(token));
            Assert.Equal(expected.ToString(), text);
            Assert.DoesNotContain('\n', lines ? text : "");
            Assert.Equal(text, g.Sample(seed, 40, Options, "b")); // the same whatever came before
        }
        if (!lines) Assert.Equal(40, g.Sample(2, 40, Options).EnumerateRunes().Count());
    }

    [Fact]
    public void Start_with_an_unknown_prime_changes_nothing()
    {
        var g = new Generator(Model(lines: true), seed: 2);
        g.Prime("abé");
        var before = State(g);
        string rng = g.Rng.SaveState();
        var e = Assert.Throws<UnknownCharactersException>(() => g.Start(7, "aXb"));
        Assert.Contains("'X'", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, State(g));
        Assert.Equal(rng, g.Rng.SaveState());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Generated_UTF8_is_the_sample_text(bool lines)
    {
        var model = Model(lines);
        var g = new Generator(model);
        var buffer = new byte[(int)g.MaxUtf8ByteCount(60)];
        for (ulong seed = 1; seed <= 10; seed++)
        {
            g.Start(seed, "a");
            Assert.True(g.TryGenerateUtf8(Options, 60, buffer, out int written));
            Assert.Equal(new Generator(model).Sample(seed, 60, Options, "a"), Encoding.UTF8.GetString(buffer, 0, written));
        }
        Assert.Equal(60 * 4, g.MaxUtf8ByteCount(60)); // 😀 is the longest: 4 bytes
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Too_small_a_buffer_leaves_the_generator_as_it_was_so_a_retry_gives_the_same_text(bool lines, CellKind cell, int layers)
    {
        var model = Model(lines, cell, layers);
        var big = new byte[(int)new Generator(model).MaxUtf8ByteCount(80)];
        int tooSmallSeen = 0;
        for (ulong seed = 1; seed <= 30; seed++)
        {
            var reference = new Generator(model);
            reference.Start(seed, "b");
            Assert.True(reference.TryGenerateUtf8(Options, 80, big, out int length));
            string expected = Encoding.UTF8.GetString(big, 0, length);

            var g = new Generator(model);
            g.Start(seed, "b");
            var small = new byte[Math.Max(0, length - 1)];
            if (length > 0)
            {
                var before = State(g);
                string rng = g.Rng.SaveState();
                Assert.False(g.TryGenerateUtf8(Options, 80, small, out int none));
                Assert.Equal(0, none);
                Assert.Equal(before, State(g));
                Assert.Equal(rng, g.Rng.SaveState());
                tooSmallSeen++;
            }
            Assert.True(g.TryGenerateUtf8(Options, 80, big, out int retried));
            Assert.Equal(expected, Encoding.UTF8.GetString(big, 0, retried));
            // and the generator continues as the uninterrupted one does
            Assert.Equal(reference.TryNext(Options, out int r), g.TryNext(Options, out int t));
            Assert.Equal(r, t);
        }
        Assert.True(tooSmallSeen >= 10, $"only {tooSmallSeen} samples were not empty");
    }

    [Fact]
    public void Too_small_a_buffer_bounds_the_work_by_its_size_not_by_the_length()
    {
        var g = new Generator(Model(lines: false));
        g.Start(1);
        var before = State(g);
        // int.MaxValue characters would take minutes: the draw stops at the first character that does not fit
        Assert.False(g.TryGenerateUtf8(Options, int.MaxValue, new byte[16], out _));
        Assert.Equal(before, State(g));
        Assert.Equal((long)int.MaxValue * 4, g.MaxUtf8ByteCount(int.MaxValue));
    }

    [Fact]
    public void An_ended_sample_generates_nothing_more_until_the_next_start()
    {
        var g = new Generator(Model(lines: true));
        var buffer = new byte[4000];
        g.Start(6);
        Assert.True(g.TryGenerateUtf8(Options, 1000, buffer, out _));
        Assert.False(g.TryNext(Options, out _)); // it ended at its boundary, long before 1000 characters
        Assert.True(g.TryGenerateUtf8(Options, 1000, buffer, out int second));
        Assert.Equal(0, second);
    }
}
