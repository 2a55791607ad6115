using CharRnn.Fast.IO;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.IO;

/// <summary>Loading a resumable checkpoint treats every field as untrusted: each bad value is a format error that names it.</summary>
public sealed class CheckpointValidationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("charrnn-ckptval-").FullName;
    private readonly string _path;
    private readonly SafetensorsContents _good;

    public CheckpointValidationTests()
    {
        _path = Path.Combine(_dir, "c.safetensors");
        const string text = "abcde abcde abcde abcde abcde abcde";
        var options = new TrainingOptions { Optimizer = OptimizerKind.Adam, BatchSize = 2, SequenceLength = 4 };
        var model = Trainer.NewModel(Vocabulary.FromText(text), 7, options); // V = 6, H = 7
        using (var trainer = new Trainer(model, model.Vocabulary.Encode(text), options))
        {
            trainer.TrainStep();
            Checkpoint.Save(_path, model, trainer, rngState: new Rng(3).SaveState());
        }
        _good = SafetensorsReader.Read(_path);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string LoadError(Func<SafetensorsTensor, SafetensorsTensor>? tensor = null, (string Key, string Value)? meta = null)
    {
        var metadata = _good.Metadata.ToDictionary();
        if (meta is { } m) metadata[m.Key] = m.Value;
        SafetensorsWriter.Write(_path, _good.Tensors.Select(tensor ?? (t => t)).ToList(), metadata);
        return Assert.Throws<CheckpointFormatException>(() => Checkpoint.Load(_path)).Message;
    }

    private static Func<SafetensorsTensor, SafetensorsTensor> Poison(string name, float value)
        => t => t.Name != name ? t : new SafetensorsTensor(t.Name, t.Shape, [value, .. t.Data[1..]]);

    private static Func<SafetensorsTensor, SafetensorsTensor> Reshape(string name, int[] shape)
        => t => t.Name != name ? t : new SafetensorsTensor(t.Name, shape, new float[shape.Aggregate(1, (a, d) => a * d)]);

    [Fact]
    public void The_good_checkpoint_loads() => Assert.Equal(1, Checkpoint.Load(_path).Training!.Step);

    [Theory]
    [InlineData("adam.m.rnn.weight_hh_l0", float.NaN)]
    [InlineData("adam.v.fc.bias", float.PositiveInfinity)]
    [InlineData("train.hidden", float.NegativeInfinity)]
    public void Non_finite_optimizer_moments_and_hidden_state_are_refused(string tensor, float value)
    {
        var message = LoadError(Poison(tensor, value));
        Assert.Contains(tensor == "train.hidden" ? "'train.hidden'" : $"'{tensor}'", message);
        Assert.Contains("NaN or infinite", message);
    }

    [Fact]
    public void A_negative_second_moment_is_refused() // Adam's v is a running mean of squares: its square root is taken
        => Assert.Contains("'adam.v.rnn.weight_ih_l0' has negative values", LoadError(Poison("adam.v.rnn.weight_ih_l0", -1)));

    [Theory]
    [InlineData("adam.m.rnn.weight_hh_l0", new[] { 6, 6 }, "must be [G·H,H] = [7,7] (G·H = 7, one gate block of H, from rnn.weight_hh_l0; H = 7, from rnn.weight_hh_l0)")]
    [InlineData("rnn.bias_ih_l0", new[] { 6 }, "must be [G·H] = [7] (G·H = 7, one gate block of H, from rnn.weight_hh_l0)")]
    [InlineData("rnn.bias_hh_l0", new[] { 8 }, "must be [G·H] = [7]")]
    [InlineData("rnn.weight_ih_l0", new[] { 7, 7 }, "must be [G·H,V] = [7,6] (G·H = 7, one gate block of H, from rnn.weight_hh_l0; V = 6, the vocabulary's size)")]
    [InlineData("adam.v.fc.weight", new[] { 7, 6 }, "must be [V,H] = [6,7] (V = 6, the vocabulary's size; H = 7, from rnn.weight_hh_l0)")]
    [InlineData("fc.bias", new[] { 5 }, "must be [V] = [6] (V = 6, the vocabulary's size)")]
    public void A_shape_error_names_the_dimensions_the_tensor_has(string tensor, int[] shape, string message)
    {
        var error = LoadError(Reshape(tensor, shape));
        Assert.Contains($"tensor '{tensor}' is [{string.Join(",", shape)}] but {message}", error);
    }

    [Theory]
    [InlineData("charrnn-fast/3", "written by a newer version (format 'charrnn-fast/3'")]
    [InlineData("charrnn-fast/17", "written by a newer version (format 'charrnn-fast/17'")]
    [InlineData("charrnn-fast/0", "unknown format 'charrnn-fast/0'")]
    [InlineData("charrnn-fast/01", "unknown format 'charrnn-fast/01'")]
    [InlineData("charrnn-fast/beta", "unknown format 'charrnn-fast/beta'")]
    [InlineData("pytorch", "unknown format 'pytorch'")]
    public void A_format_tag_is_either_a_newer_version_or_unknown(string format, string message)
        => Assert.Contains(message, LoadError(meta: ("format", format)));

    [Theory]
    [InlineData("lr", "0.0.1")]
    [InlineData("lr_decay_every", "4294967297")]   // 2³² + 1: wraps to 1 in an int
    [InlineData("batch", "99999999999")]
    [InlineData("cursor", "-3")]
    [InlineData("rng_state", "not-a-state")]
    [InlineData("text_length", "-5")]
    [InlineData("text_hash", "sha256:0123")]
    [InlineData("rng_state", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")]
    public void A_corrupt_metadata_value_is_a_format_error_naming_its_key(string key, string value)
        => Assert.Contains($"\"{key}\"", LoadError(meta: (key, value)));

    [Theory]
    [InlineData("\\ud800")] // a high surrogate with no low one after it
    [InlineData("\\udc00")] // a low surrogate with no high one before it
    public void A_vocabulary_entry_escaping_a_lone_surrogate_is_a_format_error(string escape)
    {
        // the vocabulary's own JSON, held in the metadata value: V = 6 entries, the last no Unicode character
        string message = LoadError(meta: ("vocab", $"[\" \",\"a\",\"b\",\"c\",\"d\",\"{escape}\"]"));
        Assert.Contains("bad \"vocab\"", message);
        Assert.Contains("escapes a lone surrogate", message);
    }
}
