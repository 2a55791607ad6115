using CharRnn.Fast.Inference;
using CharRnn.Fast.IO;
using CharRnn.Fast.Model;
using CharRnn.Fast.Tests.Engine;
using CharRnn.Fast.Tests.Reference;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.IO;

/// <summary>
/// Checkpoint format 2 (PyTorch's state_dict names and layouts) for every cell and depth: round trips, exact resume,
/// bias_hh and embedding folding on load, format-1 files, and what a file may not say.
/// </summary>
public sealed class Format2Tests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("charrnn-format2-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);
    private static readonly string Text = string.Concat(Enumerable.Repeat("format two keeps every tensor.\n", 40));

    public static TheoryData<CellKind, int, OptimizerKind> Models => new()
    {
        { CellKind.Rnn, 2, OptimizerKind.Adam }, { CellKind.Lstm, 1, OptimizerKind.RmsProp }, { CellKind.Lstm, 3, OptimizerKind.Adagrad },
        { CellKind.Gru, 2, OptimizerKind.Adam }, { CellKind.Gru, 1, OptimizerKind.Sgd },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Every_cell_and_depth_resumes_bit_identically(CellKind cell, int layers, OptimizerKind optimizer)
    {
        var options = new TrainingOptions { Optimizer = optimizer, BatchSize = 3, SequenceLength = 8, LearningRate = 0.01, Seed = 6, Dropout = layers > 1 ? 0.25 : 0, ForgetBias = 1 };
        var tokens = Vocabulary.FromText(Text).Encode(Text);
        CharRnnModel New() => Trainer.NewModel(Vocabulary.FromText(Text), 12, options, cell: cell, layers: layers);
        var straight = New();
        using (var t = new Trainer(straight, tokens, options)) for (int i = 0; i < 20; i++) t.TrainStep();

        var first = New();
        var path = Path.Combine(_dir, "c.safetensors");
        using (var t = new Trainer(first, tokens, options))
        {
            for (int i = 0; i < 9; i++) t.TrainStep();
            Checkpoint.Save(path, first, t);
        }
        var file = SafetensorsReader.Read(path);
        Assert.Equal(cell.Name(), file.Metadata["cell"]);
        Assert.Equal(layers.ToString(System.Globalization.CultureInfo.InvariantCulture), file.Metadata["layers"]);
        Assert.Equal([layers, 3, 12], file.Get("train.hidden").Shape);
        Assert.Equal(cell == CellKind.Lstm, file.TryGet("train.cell", out _));
        var loaded = Checkpoint.Load(path);
        Assert.Equal((cell, layers), (loaded.Model.Cell, loaded.Model.Layers));
        Assert.Equal(options.Dropout, loaded.Training!.Options.Dropout);
        using (var t = loaded.Training.CreateTrainer(tokens))
            for (int i = 9; i < 20; i++) t.TrainStep();
        Assert.Equal(straight.Parameters.All.ToArray(), loaded.Model.Parameters.All.ToArray());
    }

    [Theory]
    [InlineData(NaiveCell.Rnn, 2)]
    [InlineData(NaiveCell.Lstm, 2)]
    [InlineData(NaiveCell.Gru, 3)]
    public void A_pytorch_state_dict_with_both_biases_loads_as_the_same_model(NaiveCell cell, int layers)
    {
        // PyTorch keeps bias_ih and bias_hh; the engine folds them wherever that is exact (GRU's b_hn stays apart)
        var rng = new Random(3);
        var reference = StackedEngineVsReferenceTests.RandomReference(cell, layers, 7, 9, Nonlinearity.Tanh, rng);
        var path = Path.Combine(_dir, "torch.safetensors");
        var tensors = reference.P.All.Zip(reference.P.Names)
            .Select(p => new SafetensorsTensor(p.Second, ShapeOf(reference, p.Second), p.First.Select(x => (float)x).ToArray())).ToList();
        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["vocab"] = Vocabulary.FromText("abcdefg").ToJson() });
        var model = Checkpoint.Load(path).Model;
        Assert.Equal((cell.ToEngine(), layers), (model.Cell, model.Layers));
        AssertSameLogits(reference, model);
    }

    [Theory]
    [InlineData(NaiveCell.Rnn)]
    [InlineData(NaiveCell.Lstm)]
    [InlineData(NaiveCell.Gru)]
    public void An_embedding_folds_into_layer_0s_table(NaiveCell cell)
    {
        // nn.Embedding(V, E) then weight_ih_l0 [G·H, E]: the same as a one-hot layer 0 whose W_ih is W·embᵀ
        var rng = new Random(4);
        int v = 6, e = 5, h = 8, gh = cell.Gates() * h;
        var reference = StackedEngineVsReferenceTests.RandomReference(cell, 1, v, h, Nonlinearity.Tanh, rng);
        var embedding = Enumerable.Range(0, v * e).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var wih = Enumerable.Range(0, gh * e).Select(_ => rng.NextDouble() - 0.5).ToArray();
        for (int r = 0; r < gh; r++)
            for (int x = 0; x < v; x++)
                reference.P.Layers[0].WeightIh[r * v + x] = Enumerable.Range(0, e).Sum(k => wih[r * e + k] * embedding[x * e + k]);
        var tensors = reference.P.All.Zip(reference.P.Names).Where(p => p.Second != "rnn.weight_ih_l0")
            .Select(p => new SafetensorsTensor(p.Second, ShapeOf(reference, p.Second), p.First.Select(x => (float)x).ToArray())).ToList();
        tensors.Add(new SafetensorsTensor("rnn.weight_ih_l0", [gh, e], wih.Select(x => (float)x).ToArray()));
        tensors.Add(new SafetensorsTensor("embedding.weight", [v, e], embedding.Select(x => (float)x).ToArray()));
        var path = Path.Combine(_dir, "embedding.safetensors");
        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["vocab"] = Vocabulary.FromText("abcdef").ToJson() });
        AssertSameLogits(reference, Checkpoint.Load(path).Model);
    }

    [Fact]
    public void A_format_1_checkpoint_still_resumes()
    {
        // written as format 1 wrote it: min-char-rnn's names, moments under them, train.hidden [B,H]
        var options = new TrainingOptions { Optimizer = OptimizerKind.Adam, BatchSize = 2, SequenceLength = 7, LearningRate = 0.01, Seed = 2 };
        var tokens = Vocabulary.FromText(Text).Encode(Text);
        var model = Trainer.NewModel(Vocabulary.FromText(Text), 10, options);
        using var trainer = new Trainer(model, tokens, options);
        for (int i = 0; i < 5; i++) trainer.TrainStep();
        var path = Path.Combine(_dir, "v1.safetensors");
        Checkpoint.Save(path, model, trainer);
        var file = SafetensorsReader.Read(path);
        string Old(string name) => name.Replace("rnn.weight_ih_l0", "Wxh").Replace("rnn.weight_hh_l0", "Whh").Replace("rnn.bias_ih_l0", "bh")
            .Replace("fc.weight", "Why").Replace("fc.bias", "by");
        var old = file.Tensors.Where(t => !t.Name.EndsWith("rnn.bias_hh_l0", StringComparison.Ordinal))
            .Select(t => t.Name == "train.hidden" ? new SafetensorsTensor(t.Name, [2, 10], t.Data) : t with { Name = Old(t.Name) }).ToList();
        var metadata = file.Metadata.Where(kv => kv.Key is not ("cell" or "layers" or "dropout" or "alpha" or "forget_bias")).ToDictionary();
        metadata["format"] = "charrnn-fast/1";
        SafetensorsWriter.Write(path, old, metadata);

        var loaded = Checkpoint.Load(path);
        Assert.Equal(model.Parameters.All.ToArray(), loaded.Model.Parameters.All.ToArray());
        using var resumed = loaded.Training!.CreateTrainer(tokens);
        trainer.TrainStep();
        resumed.TrainStep();
        Assert.Equal(model.Parameters.All.ToArray(), loaded.Model.Parameters.All.ToArray());
    }

    [Theory]
    [InlineData("cell", "lstm", "gate blocks")]
    [InlineData("cell", "transformer", "not rnn, lstm or gru")]
    [InlineData("layers", "3", "layers says 3")]
    [InlineData("hidden_size", "11", "hidden_size says 11")]
    [InlineData("nonlinearity", "relu", "nonlinearity 'relu'")] // a gated model's nonlinearities are fixed
    [InlineData("dropout", "1.5", "not a probability")]
    [InlineData("dropout", "abc", "not a probability")]
    public void Metadata_that_contradicts_the_tensors_is_refused(string key, string value, string message)
    {
        var model = Trainer.NewModel(Vocabulary.FromText("abcde"), 6, new TrainingOptions(), cell: CellKind.Gru, layers: 2);
        var path = Path.Combine(_dir, "m.safetensors");
        Checkpoint.Save(path, model);
        var file = SafetensorsReader.Read(path);
        var metadata = file.Metadata.ToDictionary();
        metadata[key] = value;
        SafetensorsWriter.Write(path, file.Tensors, metadata);
        Assert.Contains(message, Assert.Throws<CheckpointFormatException>(() => Checkpoint.Load(path)).Message);
    }

    [Fact]
    public void A_missing_layer_tensor_is_named()
    {
        var model = Trainer.NewModel(Vocabulary.FromText("abcde"), 6, new TrainingOptions(), cell: CellKind.Lstm, layers: 2);
        var path = Path.Combine(_dir, "l.safetensors");
        Checkpoint.Save(path, model);
        var file = SafetensorsReader.Read(path);
        SafetensorsWriter.Write(path, file.Tensors.Where(t => t.Name != "rnn.weight_ih_l1").ToList(), file.Metadata);
        Assert.Contains("no tensor 'rnn.weight_ih_l1'", Assert.Throws<CheckpointFormatException>(() => Checkpoint.Load(path)).Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_middle_layer_missing_is_refused_not_read_as_a_shallower_model(bool withLayersMetadata)
    {
        var model = Trainer.NewModel(Vocabulary.FromText("abcde"), 6, new TrainingOptions(), cell: CellKind.Gru, layers: 3);
        var path = Path.Combine(_dir, "gap.safetensors");
        Checkpoint.Save(path, model);
        var file = SafetensorsReader.Read(path);
        var metadata = withLayersMetadata ? file.Metadata : new Dictionary<string, string> { ["vocab"] = file.Metadata["vocab"] };
        SafetensorsWriter.Write(path, file.Tensors.Where(t => t.Name != "rnn.weight_hh_l1").ToList(), metadata);
        Assert.Contains("no rnn.weight_hh_l1", Assert.Throws<CheckpointFormatException>(() => Checkpoint.Load(path)).Message);
    }

    [Theory]
    [InlineData("foo", false)]
    [InlineData("rnn.weight_ih_l0_reverse", false)]
    [InlineData("fc.weight.scale", false)]
    [InlineData("adam.m.fc.weight", false)]
    [InlineData("rmsprop.ms.fc.weight", true)]
    public void A_tensor_the_model_does_not_account_for_is_refused(string name, bool withTraining)
    {
        var options = new TrainingOptions { BatchSize = 2, SequenceLength = 4 };
        var model = Trainer.NewModel(Vocabulary.FromText("abcde"), 6, options, cell: CellKind.Lstm, layers: 2);
        var path = Path.Combine(_dir, "extra.safetensors");
        using (var trainer = new Trainer(model, [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2], options))
            Checkpoint.Save(path, model, withTraining ? trainer : null);
        Assert.Null(Record.Exception(() => Checkpoint.Load(path)));
        var file = SafetensorsReader.Read(path);
        SafetensorsWriter.Write(path, [.. file.Tensors, new SafetensorsTensor(name, [5], new float[5])], file.Metadata);
        Assert.Contains($"tensor '{name}' is no part of a 2-layer lstm model", Assert.Throws<CheckpointFormatException>(() => Checkpoint.Load(path)).Message);
    }

    [Theory]
    [InlineData("rnn.bias_ih_l0")]
    [InlineData("rnn.bias_hh_l1")]
    [InlineData("fc.bias")]
    public void An_int8_bias_is_refused(string name)
    {
        var model = Trainer.NewModel(Vocabulary.FromText("abcde"), 6, new TrainingOptions(), cell: CellKind.Gru, layers: 2);
        var path = Path.Combine(_dir, "i8.safetensors");
        Checkpoint.Save(path, model);
        var file = SafetensorsReader.Read(path);
        var tensors = file.Tensors.Select(t => t.Name == name ? t with { DType = "I8", Data = t.Data.Select(_ => 3f).ToArray() } : t).ToList();
        SafetensorsWriter.Write(path, tensors, file.Metadata);
        Assert.Contains($"'{name}' is I8 but not a matrix", Assert.Throws<CheckpointFormatException>(() => Checkpoint.Load(path)).Message);
    }

    private static int[] ShapeOf(NaiveStackedRnn reference, string name)
    {
        if (name.StartsWith("fc.weight", StringComparison.Ordinal)) return [reference.O, reference.H];
        if (name.StartsWith("fc.bias", StringComparison.Ordinal)) return [reference.O];
        int layer = int.Parse(name[(name.LastIndexOf('l') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        int rows = reference.Cell.Gates() * reference.H;
        if (name.Contains("bias", StringComparison.Ordinal)) return [rows];
        return [rows, name.Contains("weight_ih", StringComparison.Ordinal) && layer == 0 ? reference.I : reference.H];
    }

    private static void AssertSameLogits(NaiveStackedRnn reference, CharRnnModel model)
    {
        using var generator = new Generator(new InferenceModel(model));
        int[] tokens = [0, 3, 1, 5, 2, 2, 4];
        var expected = reference.Forward(tokens, tokens.Length, 1, NaiveState.Zero(reference.Cell, reference.Layers, 1, reference.H)).Outputs;
        for (int t = 0; t < tokens.Length; t++)
        {
            generator.Feed(tokens[t]);
            ReferenceMapping.Assert(generator.Logits, expected.AsSpan(t * reference.O, reference.O).ToArray(), 1e-4, 1e-5, $"logits at {t}");
        }
    }
}
