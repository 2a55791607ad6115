using CharRnn.Fast.Inference;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.Engine;

/// <summary>The generator refuses sampling options that have no meaning, with a message that names the option.</summary>
public class SamplingValidationTests
{
    private static Generator NewGenerator()
    {
        var model = Trainer.NewModel(Vocabulary.FromText("abc \n"), 16, new TrainingOptions());
        var generator = new Generator(new InferenceModel(model), seed: 3);
        generator.Prime("ab");
        return generator;
    }

    public static TheoryData<double, int, double, string> Invalid => new()
    {
        { -1, 0, 1, "temperature" },
        { double.NaN, 0, 1, "temperature" },
        { double.PositiveInfinity, 0, 1, "temperature" },
        { 1, -1, 1, "top-k" },
        { 1, 0, 0, "top-p" },
        { 1, 0, -0.5, "top-p" },
        { 1, 0, 1.5, "top-p" },
        { 1, 0, double.NaN, "top-p" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Drawing_with_invalid_options_throws_naming_the_option(double temperature, int topK, double topP, string option)
    {
        var generator = NewGenerator();
        var options = new SamplingOptions(temperature, topK, topP);
        var state = generator.HiddenState.ToArray();
        Assert.StartsWith(option + " must be", Assert.Throws<ArgumentException>(() => generator.SampleNext(options)).Message);
        Assert.StartsWith(option + " must be", Assert.Throws<ArgumentException>(() => generator.Next(options)).Message);
        Assert.StartsWith(option + " must be", Assert.Throws<ArgumentException>(() => generator.TryNext(options, out _)).Message);
        Assert.StartsWith(option + " must be", Assert.Throws<ArgumentException>(() => generator.Sample(1, 5, options)).Message);
        Assert.StartsWith(option + " must be", Assert.Throws<ArgumentException>(() => generator.TryGenerateUtf8(options, 5, new byte[32], out _)).Message);
        Assert.Equal(state, generator.HiddenState.ToArray()); // nothing was fed
    }

    [Fact]
    public void An_ended_sample_still_refuses_invalid_options()
    {
        var model = new InferenceModel(Trainer.NewModel(Vocabulary.FromText("ab\n"), 8, new TrainingOptions(), sequenceMode: true));
        var generator = new Generator(model);
        generator.Start(1);
        while (generator.TryNext(new SamplingOptions(), out _)) { }
        Assert.Throws<ArgumentException>(() => generator.TryNext(new SamplingOptions(-1), out _));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-2.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Probabilities_refuse_a_temperature_that_is_not_positive_and_finite(double temperature)
    {
        var generator = NewGenerator();
        var p = new float[generator.Model.VocabularySize];
        Assert.StartsWith("temperature must be", Assert.Throws<ArgumentException>(() => generator.Probabilities(p, temperature)).Message);
    }

    [Fact]
    public void A_temperature_too_small_for_a_float_scale_gives_the_argmax_not_NaN()
    {
        var generator = NewGenerator();
        var p = new float[generator.Model.VocabularySize];
        generator.Probabilities(p);
        int argmax = Array.IndexOf(p, p.Max());
        generator.Probabilities(p, 1e-300);
        Assert.Equal(1f, p[argmax]);
        Assert.Equal(1f, p.Sum());
        for (int i = 0; i < 20; i++) Assert.Equal(argmax, generator.SampleNext(new SamplingOptions(1e-300)));
    }

    [Fact]
    public void Valid_edge_options_are_accepted()
    {
        var generator = NewGenerator();
        foreach (var options in new[] { new SamplingOptions(0), new SamplingOptions(1, 0, 1), new SamplingOptions(2, 100, 1e-9), new SamplingOptions(Greedy: true) })
            Assert.InRange(generator.Next(options), 0, generator.Model.VocabularySize - 1);
    }

    [Fact]
    public void A_model_whose_outputs_overflow_refuses_to_draw_and_feeds_nothing()
    {
        // saturated hidden units read by output weights near float's limit: every logit overflows
        var model = Trainer.NewModel(Vocabulary.FromText("abc \n"), 16, new TrainingOptions());
        model.Parameters.Bias(0).Fill(100);
        model.Parameters.Why.Fill(3e38f);
        var generator = new Generator(new InferenceModel(model), seed: 3);
        generator.Prime("ab");
        var state = generator.HiddenState.ToArray();
        foreach (var options in new SamplingOptions[] { new(1.0), new(Greedy: true), new(0.8, 2, 0.9) })
        {
            Assert.Throws<NonFiniteOutputException>(() => generator.Next(options));
            Assert.Equal(state, generator.HiddenState.ToArray());
        }
        var batch = new BatchGenerator(new InferenceModel(model), 2);
        batch.Start(0, 1, "a");
        batch.Start(1, 2, "b");
        Assert.Throws<NonFiniteOutputException>(() => batch.Next([new SamplingOptions(1.0)], new int[2]));
    }
}
