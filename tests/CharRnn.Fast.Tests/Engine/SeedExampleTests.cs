using CharRnn.Fast.Inference;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.Engine;

/// <summary>The numpy tutorials' examples, run on the engine.</summary>
public class SeedExampleTests
{
    private static string Greedy(CharRnnModel model, string prime, int count)
    {
        var generator = new Generator(new InferenceModel(model));
        generator.Prime(prime);
        var ids = new int[count];
        for (int i = 0; i < count; i++) ids[i] = generator.Next(new SamplingOptions(Greedy: true));
        return prime + model.Vocabulary.Decode(ids);
    }

    [Fact]
    public void Hello_trains_to_greedy_hellohello()
    {
        // seed 003: "hello", hidden 16, N(0, 0.01²) weights, zero biases, SGD lr 0.1, clip ±5; seed 001: predict('h') == "hellohello".
        // The stream is "hello" repeated so the o → h transition is in the data too.
        const string text = "hellohellohello";
        var options = new TrainingOptions { SequenceLength = 4, Optimizer = OptimizerKind.Adagrad, LearningRate = 0.1, Seed = 42 };
        var model = Trainer.NewModel(Vocabulary.FromText(text), 16, options);
        var trainer = new Trainer(model, model.Vocabulary.Encode(text), options);
        for (int i = 0; i < 600; i++) trainer.TrainStep();
        Assert.True(trainer.LastLoss < 0.05, $"loss {trainer.LastLoss}");
        Assert.Equal("hellohello", Greedy(model, "h", 9));
    }

    [Fact]
    public void Hello_as_in_seeds_001_and_003_predicts_ello_from_h()
    {
        // The seeds' exact set-up: the text "hello" (inputs "hell", targets "ello"), hidden 16, N(0, 0.01²) weights,
        // SGD lr 0.1, clip ±5; predict('h', n_chars=4) gives "hello" (the transition o → h is not in that text).
        const string text = "hello";
        var options = new TrainingOptions { SequenceLength = 4, Optimizer = OptimizerKind.Sgd, LearningRate = 0.1, Seed = 42 };
        var model = Trainer.NewModel(Vocabulary.FromText(text), 16, options);
        var trainer = new Trainer(model, model.Vocabulary.Encode(text), options);
        for (int i = 0; i < 2000; i++) trainer.TrainStep();
        Assert.True(trainer.LastLoss < 0.01, $"loss {trainer.LastLoss}");
        Assert.Equal("hello", Greedy(model, "h", 4));
    }

    [Fact]
    public void Hello_world_is_reproduced_from_h()
    {
        // seed 004: "hello world", hidden 64; greedy generation from "h" gives back the text.
        const string text = "hello world";
        var options = new TrainingOptions { SequenceLength = 10, Optimizer = OptimizerKind.Adam, LearningRate = 0.01, Seed = 7 };
        var model = Trainer.NewModel(Vocabulary.FromText(text), 64, options);
        var trainer = new Trainer(model, model.Vocabulary.Encode(text), options);
        for (int i = 0; i < 300; i++) trainer.TrainStep();
        Assert.Equal("hello world", Greedy(model, "h", 10));
    }

    [Fact]
    public void Sequence_mode_learns_names_and_stops_at_the_boundary()
    {
        // seed 000: names generated from a start token until the end token.
        string[] names = ["anna", "bob", "carl", "dora", "emil", "fay", "gus", "hana"];
        string text = "\n" + string.Join("\n", names) + "\n";
        var options = new TrainingOptions { SequenceLength = 8, Optimizer = OptimizerKind.Adam, LearningRate = 0.01, Beta1 = 0.9, Beta2 = 0.999, Seed = 3, WeightInit = new InitScheme(InitKind.ScaledNormal, 1) };
        var model = Trainer.NewModel(Vocabulary.FromText(text), 48, options, sequenceMode: true);
        var trainer = new Trainer(model, model.Vocabulary.Encode(text), options);
        for (int i = 0; i < 1500; i++) trainer.TrainStep();
        Assert.True(trainer.SmoothLoss < 1.2, $"smooth loss {trainer.SmoothLoss}");

        var generator = new Generator(new InferenceModel(model), seed: 11);
        int ended = 0, known = 0;
        for (int sample = 0; sample < 20; sample++)
        {
            generator.Reset();
            generator.Feed(model.BoundaryToken);
            var chars = new List<int>();
            for (int i = 0; i < 30; i++)
            {
                int id = generator.Next(new SamplingOptions(Temperature: 0.5));
                if (id == model.BoundaryToken) { ended++; break; }
                chars.Add(id);
            }
            if (names.Contains(model.Vocabulary.Decode(chars.ToArray()))) known++;
        }
        Assert.True(ended >= 18, $"{ended} of 20 samples ended at the boundary token");
        Assert.True(known >= 10, $"{known} of 20 samples are training names");
    }
}

public class SamplingOptionsTests
{
    [Fact]
    public void Default_options_sample_at_temperature_one()
    {
        var options = new SamplingOptions();
        Assert.Equal(1.0, options.Temperature);
        Assert.Equal(1.0, options.TopP);
        Assert.False(options.IsGreedy);
    }
}
