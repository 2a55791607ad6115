using CharRnn.Fast.IO;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.IO;

public sealed class CheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("charrnn-ckpt-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);
    private static readonly string Text = string.Concat(Enumerable.Repeat("checkpoints keep everything. ", 50));

    [Theory]
    [InlineData(OptimizerKind.Adam, false)]
    [InlineData(OptimizerKind.Adagrad, true)]
    [InlineData(OptimizerKind.Sgd, false)]
    public void A_resumed_trainer_continues_bit_identically(OptimizerKind optimizer, bool lines)
    {
        var text = lines ? Text.Replace(". ", ".\n", StringComparison.Ordinal) : Text;
        var options = new TrainingOptions { Optimizer = optimizer, BatchSize = 3, SequenceLength = 9, LearningRate = 0.01, Seed = 5 };
        var tokens = Vocabulary.FromText(text).Encode(text);
        var straight = Trainer.NewModel(Vocabulary.FromText(text), 20, options, sequenceMode: lines);
        using (var t = new Trainer(straight, tokens, options)) for (int i = 0; i < 30; i++) t.TrainStep();

        var first = Trainer.NewModel(Vocabulary.FromText(text), 20, options, sequenceMode: lines);
        var path = Path.Combine(_dir, "c.safetensors");
        using (var t = new Trainer(first, tokens, options))
        {
            for (int i = 0; i < 13; i++) t.TrainStep();
            Checkpoint.Save(path, first, t);
        }
        var loaded = Checkpoint.Load(path);
        Assert.Equal(lines, loaded.Model.SequenceMode);
        using (var t = loaded.Training!.CreateTrainer(tokens))
        {
            Assert.Equal(13, t.Step);
            for (int i = 13; i < 30; i++) t.TrainStep();
        }
        Assert.Equal(straight.Parameters.All.ToArray(), loaded.Model.Parameters.All.ToArray());
    }

    [Fact]
    public void Weights_only_files_round_trip_in_math_shapes()
    {
        var model = Trainer.NewModel(Vocabulary.FromText("abcde"), 6, new TrainingOptions { WeightInit = new InitScheme(InitKind.Uniform, 0.5) }, Nonlinearity.Relu);
        var path = Path.Combine(_dir, "w.safetensors");
        Checkpoint.Save(path, model);
        var file = SafetensorsReader.Read(path);
        Assert.Equal("charrnn-fast/2", file.Metadata["format"]);
        Assert.Equal([6, 5], file.Get("rnn.weight_ih_l0").Shape);
        Assert.Equal(model.Parameters.WxhT[1 * 6 + 2], file.Get("rnn.weight_ih_l0").Data[2 * 5 + 1]); // W_ih[h=2, v=1] = stored [v=1, h=2]
        Assert.All(file.Get("rnn.bias_hh_l0").Data, b => Assert.Equal(0f, b)); // one bias per gate row, in bias_ih
        var loaded = Checkpoint.Load(path);
        Assert.Null(loaded.Training);
        Assert.Equal(Nonlinearity.Relu, loaded.Model.Nonlinearity);
        Assert.Equal(model.Parameters.All.ToArray(), loaded.Model.Parameters.All.ToArray());
        Assert.Equal(model.Parameters.All.ToArray(), Checkpoint.Load(File.ReadAllBytes(path)).Model.Parameters.All.ToArray());
    }

    [Theory]
    [InlineData("rnn.weight_hh_l0", new[] { 6, 5 }, "G = 1, 4 or 3")]
    [InlineData("fc.weight", new[] { 4, 6 }, "must be [V,H] = [5,6]")]
    [InlineData("fc.bias", new[] { 6 }, "must be [V] = [5]")]
    public void Shapes_that_disagree_are_rejected(string tensor, int[] shape, string message)
    {
        var model = Trainer.NewModel(Vocabulary.FromText("abcde"), 6, new TrainingOptions());
        var path = Path.Combine(_dir, "s.safetensors");
        Checkpoint.Save(path, model);
        var file = SafetensorsReader.Read(path);
        var tensors = file.Tensors.Select(t => t.Name == tensor ? new SafetensorsTensor(t.Name, shape, new float[shape.Aggregate(1, (a, d) => a * d)]) : t).ToList();
        SafetensorsWriter.Write(path, tensors, file.Metadata);
        Assert.Contains(message, Assert.Throws<CheckpointFormatException>(() => Checkpoint.Load(path)).Message);
    }

    [Fact]
    public void Optimizer_moments_that_overflowed_are_never_saved_and_the_trainer_says_so()
    {
        var options = new TrainingOptions { SequenceLength = 4, Optimizer = OptimizerKind.Adam };
        var model = Trainer.NewModel(Vocabulary.FromText("abcde"), 6, options);
        using var trainer = new Trainer(model, model.Vocabulary.Encode("abcdeabcdeabcde"), options);
        trainer.TrainStep();
        trainer.ThrowIfNotFinite();
        var path = Path.Combine(_dir, "moments.safetensors");
        Checkpoint.Save(path, model, trainer);
        var saved = File.ReadAllBytes(path);

        trainer.Optimizer.SecondMoment!.All[3] = float.PositiveInfinity;
        Assert.Contains("step 1 made the weights or the optimizer's state NaN or infinite", Assert.Throws<NonFiniteTrainingException>(trainer.ThrowIfNotFinite).Message);
        Assert.Contains("optimizer's state", Assert.Throws<ArgumentException>(() => Checkpoint.Save(path, model, trainer)).Message);
        Assert.Equal(saved, File.ReadAllBytes(path));
    }

    [Fact]
    public void Missing_tensors_vocabulary_and_nan_weights_are_rejected()
    {
        var model = Trainer.NewModel(Vocabulary.FromText("abcde"), 6, new TrainingOptions());
        var path = Path.Combine(_dir, "m.safetensors");
        Checkpoint.Save(path, model);
        var file = SafetensorsReader.Read(path);
        SafetensorsWriter.Write(path, file.Tensors.Where(t => t.Name != "fc.bias").ToList(), file.Metadata);
        Assert.Contains("no tensor 'fc.bias'", Assert.Throws<CheckpointFormatException>(() => Checkpoint.Load(path)).Message);
        SafetensorsWriter.Write(path, file.Tensors, file.Metadata.Where(kv => kv.Key != "vocab").ToDictionary());
        Assert.Contains("\"vocab\"", Assert.Throws<CheckpointFormatException>(() => Checkpoint.Load(path)).Message);
        file.Tensors.Single(t => t.Name == "fc.bias").Data[2] = float.PositiveInfinity;
        SafetensorsWriter.Write(path, file.Tensors, file.Metadata);
        Assert.Contains("NaN or infinite", Assert.Throws<CheckpointFormatException>(() => Checkpoint.Load(path)).Message);

        // nor is such a model written: the file already there stays
        Checkpoint.Save(path, model);
        var saved = File.ReadAllBytes(path);
        model.Parameters.By[2] = float.NaN;
        Assert.Contains("NaN or infinite", Assert.Throws<ArgumentException>(() => Checkpoint.Save(path, model)).Message);
        Assert.Equal(saved, File.ReadAllBytes(path));
    }
}
