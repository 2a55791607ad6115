using System.Text;
using CharRnn.Fast.Inference;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.Engine;

public class VocabularyTests
{
    [Fact]
    public void Tokens_are_distinct_scalar_values_sorted_by_code_point()
    {
        var v = Vocabulary.FromText("ba😀中a\n😀");
        Assert.Equal(["\n", "a", "b", "中", "😀"], v.Symbols.Select(r => r.ToString()));
        Assert.Equal([2, 1, 4, 3, 1, 0, 4], v.Encode("ba😀中a\n😀")); // the emoji (two UTF-16 units) is one token
        Assert.Equal("ba😀中a\n😀", v.Decode(v.Encode("ba😀中a\n😀")));
        Assert.Equal(v.Symbols, Vocabulary.FromJson(v.ToJson()).Symbols);
    }

    [Fact]
    public void Bad_text_and_bad_vocabularies_are_clear_errors()
    {
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => Vocabulary.FromText("")).Message);
        var e = Assert.Throws<UnknownCharactersException>(() => Vocabulary.FromText("abc").Encode("abxcy☃x"));
        Assert.Equal(["x", "y", "☃"], e.Characters);
        Assert.Contains("'☃'", e.Message);
        Assert.Throws<FormatException>(() => Vocabulary.FromJson("[\"b\",\"a\"]"));   // not sorted
        Assert.Throws<FormatException>(() => Vocabulary.FromJson("[\"ab\"]"));        // not one character
        Assert.Throws<FormatException>(() => Vocabulary.FromJson("{}"));
        Assert.Throws<FormatException>(() => Vocabulary.FromJson("[\"a\",\"\\ud800\"]")); // an escaped lone surrogate: no character
        Assert.Throws<FormatException>(() => Vocabulary.FromJson("[\"\\udc00\"]"));
    }

    [Fact]
    public void Priming_with_unknown_characters_names_them_and_feeds_nothing()
    {
        var model = Trainer.NewModel(Vocabulary.FromText("hello world"), 8, new TrainingOptions());
        var generator = new Generator(new InferenceModel(model));
        var e = Assert.Throws<UnknownCharactersException>(() => generator.Prime("hello Zürich"));
        Assert.Contains("'Z'", e.Message);
        Assert.Contains("'ü'", e.Message);
        Assert.True(generator.Logits.IsEmpty);
    }

    [Fact]
    public void Text_too_short_for_one_step_is_a_clear_error()
    {
        var text = "short text";
        var model = Trainer.NewModel(Vocabulary.FromText(text), 8, new TrainingOptions());
        var e = Assert.Throws<ArgumentException>(() => new Trainer(model, model.Vocabulary.Encode(text), new TrainingOptions { SequenceLength = 25 }));
        Assert.Contains("needs at least 26", e.Message);
    }

    [Fact]
    public void A_non_finite_loss_stops_training_before_the_weights_change()
    {
        var text = string.Concat(Enumerable.Repeat("abcabcabd", 40));
        var options = new TrainingOptions { Optimizer = OptimizerKind.Sgd, LearningRate = 1e37, ClipValue = 0, SequenceLength = 8 };
        var model = Trainer.NewModel(Vocabulary.FromText(text), 16, options with { WeightInit = new Model.InitScheme(Model.InitKind.Normal, 1) });
        using var trainer = new Trainer(model, model.Vocabulary.Encode(text), options);
        float[] before = [];
        var error = Assert.Throws<NonFiniteTrainingException>(() =>
        {
            for (int i = 0; i < 100; i++)
            {
                before = model.Parameters.All.ToArray();
                trainer.TrainStep();
            }
        });
        Assert.Contains("lower the learning rate", error.Message);
        Assert.Equal(before, model.Parameters.All.ToArray()); // the failing step changed nothing
    }
}
