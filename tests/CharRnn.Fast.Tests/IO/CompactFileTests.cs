using CharRnn.Fast.IO;
using CharRnn.Fast.Inference;
using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.IO;

/// <summary>Compact model files: BF16 and I8 (+ scale) weight matrices, read back as the float values they stand for, checked like any file.</summary>
public sealed class CompactFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("charrnn-compact-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static CharRnnModel Model(CellKind cell = CellKind.Lstm, int layers = 2)
        => Trainer.NewModel(Vocabulary.FromText("compact files!"), 9, new TrainingOptions { WeightInit = new InitScheme(InitKind.Uniform, 0.7), BiasInit = new InitScheme(InitKind.Uniform, 0.3) },
            cell: cell, layers: layers);

    [Fact]
    public void A_compact_copy_keeps_the_dropout_its_model_was_trained_with()
    {
        var path = Path.Combine(_dir, "d.safetensors");
        Checkpoint.SaveCompact(path, Model(), WeightFormat.Int8, new Dictionary<string, string> { ["dropout"] = "0.25" });
        Assert.Equal("0.25", SafetensorsReader.Read(path).Metadata["dropout"]);
        Checkpoint.SaveCompact(path, Model(), WeightFormat.Int8);
        Assert.Equal("0", SafetensorsReader.Read(path).Metadata["dropout"]);
    }

    [Theory]
    [InlineData(WeightFormat.Bf16)]
    [InlineData(WeightFormat.Int8)]
    public void Compact_weights_read_back_as_the_values_they_stand_for(WeightFormat format)
    {
        var model = Model();
        var path = Path.Combine(_dir, "c.safetensors");
        Checkpoint.SaveCompact(path, model, format);
        var file = SafetensorsReader.Read(path);
        Assert.Equal(format.Name(), file.Metadata["weights"]);
        Assert.Equal(format == WeightFormat.Bf16 ? "BF16" : "I8", file.Get("rnn.weight_hh_l1").DType);
        Assert.Equal("F32", file.Get("rnn.weight_ih_l0").DType);  // layer 0's gathered table
        Assert.Equal("F32", file.Get("rnn.bias_ih_l1").DType);
        var loaded = Checkpoint.Load(path).Model;
        foreach (var t in model.Parameters.Table.Tensors)
        {
            var original = model.Parameters[t].ToArray();
            var read = loaded.Parameters[t].ToArray();
            bool compact = ModelTensors.IsCompactable(t);
            for (int i = 0; i < original.Length; i++)
            {
                if (!compact) Assert.Equal(original[i], read[i]);
                else if (format == WeightFormat.Bf16) Assert.Equal(BFloat16.Widen(BFloat16.Round(original[i])), read[i]);
                else
                {
                    // per row r of W [rows, cols] (stored transposed for W_ih): within half a step of max|row|/127
                    int rows = t.Shape[0], cols = t.Shape[1], r = t.StoredTransposed ? i % rows : i / cols;
                    float max = 0;
                    for (int c = 0; c < cols; c++) max = Math.Max(max, Math.Abs(original[t.StoredTransposed ? c * rows + r : r * cols + c]));
                    Assert.True(Math.Abs(read[i] - original[i]) <= max / 127 * 0.5001 + 1e-7, $"{t.Name}[{i}]: {read[i]} vs {original[i]}");
                }
            }
        }
        // a second pass through the format gives the same values: compact files are a fixed point
        var again = Path.Combine(_dir, "again.safetensors");
        Checkpoint.SaveCompact(again, loaded, format);
        Assert.Equal(loaded.Parameters.All.ToArray(), Checkpoint.Load(again).Model.Parameters.All.ToArray());
    }

    [Theory]
    [InlineData("drop scale", "has no 'fc.weight.scale'")]
    [InlineData("short scale", "must be F32 [")]
    [InlineData("negative scale", "scales are finite and ≥ 0")]
    [InlineData("I8 bias", "not a matrix")]
    public void A_broken_compact_file_is_refused(string damage, string message)
    {
        var path = Path.Combine(_dir, "broken.safetensors");
        Checkpoint.SaveCompact(path, Model(CellKind.Rnn, 1), WeightFormat.Int8);
        var file = SafetensorsReader.Read(path);
        var tensors = file.Tensors.ToList();
        int at(string name) => tensors.FindIndex(t => t.Name == name);
        switch (damage)
        {
            case "drop scale": tensors.RemoveAt(at("fc.weight.scale")); break;
            case "short scale": tensors[at("fc.weight.scale")] = new SafetensorsTensor("fc.weight.scale", [2], [1f, 1f]); break;
            case "negative scale": tensors[at("fc.weight.scale")] = tensors[at("fc.weight.scale")] with { Data = tensors[at("fc.weight.scale")].Data.Select(_ => -1f).ToArray() }; break;
            default: tensors[at("fc.bias")] = tensors[at("fc.bias")] with { Data = new float[tensors[at("fc.bias")].Data.Length], DType = "I8" }; break;
        }
        SafetensorsWriter.Write(path, tensors, file.Metadata);
        Assert.Contains(message, Assert.Throws<CheckpointFormatException>(() => Checkpoint.Load(path)).Message);
    }

    /// <summary>
    /// A file names the format it stores, and an inference model in that format holds the file's weights: bf16 exactly;
    /// int8 the same codes, each row's scale found again from the read floats (code × scale, rounded) as max|row| / 127,
    /// within a float rounding of the stored one: 2⁻²² relative with the rounding of the read value.
    /// </summary>
    [Theory]
    [InlineData(WeightFormat.F32)]
    [InlineData(WeightFormat.Bf16)]
    [InlineData(WeightFormat.Int8)]
    public void A_loaded_file_generates_with_the_weights_it_stores(WeightFormat format)
    {
        var path = Path.Combine(_dir, $"{format}.safetensors");
        if (format == WeightFormat.F32) Checkpoint.Save(path, Model());
        else Checkpoint.SaveCompact(path, Model(), format);
        var loaded = Checkpoint.Load(path);
        Assert.Equal(format, loaded.StoredWeights);
        var inference = new InferenceModel(loaded.Model, weights: loaded.StoredWeights);
        Assert.Equal(format, inference.Weights);
        var p = loaded.Model.Parameters;
        int h = p.Shape.HiddenSize, gh = p.Shape.GateWidth;
        void Same(float stored, double packed, string what)
        {
            if (format == WeightFormat.Int8) Assert.True(Math.Abs(packed - stored) <= Math.Abs(stored) * Math.Pow(2, -22), $"{what}: {packed} vs {stored}");
            else Assert.Equal(stored, packed);
        }
        for (int k = 0; k < h; k++)
            for (int j = 0; j < gh; j++)
            {
                Same(p.RecurrentWeights(1)[j * h + k], inference.RecurrentT(1).Value(k, j), $"W_hh l1 ({j},{k})");
                Same(p.InputWeights(1)[k * gh + j], inference.InputT(1).Value(k, j), $"W_ih l1 ({j},{k})");
            }
        for (int k = 0; k < h; k++)
            for (int j = 0; j < p.Shape.OutputSize; j++) Same(p.OutputWeights[j * h + k], inference.OutputT.Value(k, j), $"fc ({j},{k})");
    }

    [Fact]
    public void The_writer_refuses_values_its_dtype_cannot_hold()
    {
        var path = Path.Combine(_dir, "bad.safetensors");
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [new SafetensorsTensor("x", [1], [0.1f]) { DType = "BF16" }], new Dictionary<string, string>()));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [new SafetensorsTensor("x", [1], [128f]) { DType = "I8" }], new Dictionary<string, string>()));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [new SafetensorsTensor("x", [1], [1f]) { DType = "Q4" }], new Dictionary<string, string>()));
        Assert.False(File.Exists(path));
    }
}
