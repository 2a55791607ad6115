using System.Text.Json;
using Xunit;
using static CharRnn.Cli.Tests.CliRunner;

namespace CharRnn.Cli.Tests;

/// <summary>A small trained LSTM and its text, made once for the compact-weights tests.</summary>
public sealed class TrainedModelFixture : IDisposable
{
    public TrainedModelFixture()
    {
        Text = Path.Combine(Dir, "input.txt");
        File.WriteAllText(Text, string.Concat(Enumerable.Repeat("the cat sat on the mat. the dog ate the log. ", 80)));
        var train = Run(Dir, "train", "--input", Text, "--cell", "lstm", "--hidden", "24", "--seq-len", "10", "--batch", "2", "--steps", "80", "--checkpoint", "m.safetensors");
        if (train.ExitCode != 0) throw new InvalidOperationException($"training the fixture failed: {train.Stderr}");
    }

    public string Dir { get; } = Directory.CreateTempSubdirectory("charrnn-compact-cli-").FullName;
    public string Text { get; }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

/// <summary><c>charrnn quantize</c> and the <c>--weights</c> option of sample, eval and bench.</summary>
public sealed class CompactWeightsTests(TrainedModelFixture fixture) : IClassFixture<TrainedModelFixture>
{
    private Result Charrnn(params string[] args) => Run(fixture.Dir, args);

    private static void AssertOk(Result r) => Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\nstdout: {r.Stdout}\nstderr: {r.Stderr}");

    private static JsonElement Json(Result r)
    {
        AssertOk(r);
        using var doc = JsonDocument.Parse(r.Stdout);
        return doc.RootElement.Clone();
    }

    [Theory]
    [InlineData("int8")]
    [InlineData("bf16")]
    public void A_quantized_file_generates_and_evaluates_in_the_format_it_stores(string format)
    {
        string compact = $"q-{format}.safetensors";
        var quantize = Charrnn("quantize", "m.safetensors", "-o", compact, "--weights", format);
        AssertOk(quantize);
        Assert.StartsWith($"wrote {compact}: {format} weights", quantize.Stdout);

        // eval: the stored format by default; the f32 model evaluated with --weights FORMAT on the same path
        var stored = Json(Charrnn("eval", "--model", compact, "--input", fixture.Text, "--json"));
        Assert.Equal(format, stored.GetProperty("weights").GetString());
        var asked = Json(Charrnn("eval", "--model", "m.safetensors", "--input", fixture.Text, "--weights", format, "--json"));
        Assert.Equal(format, asked.GetProperty("weights").GetString());
        var f32 = Json(Charrnn("eval", "--model", "m.safetensors", "--input", fixture.Text, "--json"));
        Assert.Equal("f32", f32.GetProperty("weights").GetString());
        double bits = stored.GetProperty("bits_per_char").GetDouble(), reference = f32.GetProperty("bits_per_char").GetDouble();
        // the file's values are what quantizing the f32 model gives (int8 scales found again to within a rounding)
        Assert.True(Math.Abs(asked.GetProperty("bits_per_char").GetDouble() - bits) <= 1e-5 * bits, $"{asked} vs {stored}");
        Assert.NotEqual(reference, bits); // compact weights are measured, not the floats
        Assert.True(Math.Abs(bits - reference) <= 0.05 * reference, $"{format} {bits} vs f32 {reference} bits/char");
        Assert.Equal(f32.GetProperty("predictions").GetInt64(), stored.GetProperty("predictions").GetInt64());

        // sample: the stored format by default, the same text as asking for it
        var byDefault = Charrnn("sample", "--model", compact, "--seed", "5", "--length", "60", "--prime", "the ");
        AssertOk(byDefault);
        Assert.Equal(byDefault.Stdout, Charrnn("sample", "--model", compact, "--seed", "5", "--length", "60", "--prime", "the ", "--weights", format).Stdout);
        var asF32 = Charrnn("sample", "--model", compact, "--seed", "5", "--length", "60", "--prime", "the ", "--weights", "f32");
        AssertOk(asF32);
        Assert.StartsWith("the ", asF32.Stdout);

        var latency = Json(Charrnn("bench", "--latency", compact, "--chars", "1000", "--json"));
        Assert.Equal(format, latency.GetProperty("weights").GetString());
        Assert.Equal("f32", Json(Charrnn("bench", "--latency", compact, "--chars", "1000", "--weights", "f32", "--json")).GetProperty("weights").GetString());
    }

    [Fact]
    public void The_long_name_of_the_output_works_too()
    {
        AssertOk(Charrnn("quantize", "m.safetensors", "--out", "long.safetensors", "--weights", "int8", "--json"));
        Assert.True(File.Exists(Path.Combine(fixture.Dir, "long.safetensors")));
    }

    [Theory]
    [InlineData("int8")]
    [InlineData("bf16")]
    public void Bench_measures_generation_with_the_weights_asked_for(string format)
    {
        var bench = Json(Charrnn("bench", "--hidden", "16", "--seconds", "0.1", "--streams", "3", "--weights", format, "--json"));
        Assert.Equal(format, bench.GetProperty("weights").GetString());
        Assert.True(bench.GetProperty("generate_us_per_char").GetDouble() > 0);
        Assert.True(bench.GetProperty("streams_chars_per_s").GetDouble() > 0);
        var text = Charrnn("bench", "--hidden", "16", "--seconds", "0.1", "--weights", format);
        AssertOk(text);
        Assert.Matches($@"generate [0-9.]+ µs/char \({format} weights, [0-9.]+ GB/s: [0-9]+% of one core's [0-9.]+ reading [0-9,]+ KiB\)", text.Stdout);
    }

    [Theory]
    [InlineData("sample --model m.safetensors --weights int4", "--weights must be f32, bf16 or int8, got 'int4'")]
    [InlineData("eval --model m.safetensors --input input.txt --weights fp16", "--weights must be f32, bf16 or int8, got 'fp16'")]
    [InlineData("bench --hidden 8 --weights int16", "--weights must be f32, bf16 or int8, got 'int16'")]
    [InlineData("bench --latency m.safetensors --weights q4", "--weights must be f32, bf16 or int8, got 'q4'")]
    [InlineData("quantize m.safetensors -o x.safetensors --weights f32", "--weights must be bf16 or int8, got 'f32'")]
    [InlineData("quantize m.safetensors -o x.safetensors", "--weights bf16|int8 is required")]
    [InlineData("quantize m.safetensors --weights int8", "-o OUT is required")]
    [InlineData("quantize -o x.safetensors --weights int8", "give the model to quantize: charrnn quantize MODEL -o OUT")]
    [InlineData("quantize m.safetensors other.safetensors -o x.safetensors --weights int8", "unexpected argument 'other.safetensors'")]
    [InlineData("quantize m.safetensors -o m.safetensors --weights int8", "the output would replace the model")]
    public void Bad_command_lines_exit_2_with_a_message(string args, string message)
    {
        var r = Charrnn(args.Split(' '));
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("charrnn: error: ", r.Stderr);
        Assert.Contains(message, r.Stderr);
        Assert.DoesNotContain(" at ", r.Stderr); // no stack trace
        Assert.False(File.Exists(Path.Combine(fixture.Dir, "x.safetensors")));
    }

    [Fact]
    public void The_output_never_replaces_a_file_that_is_not_a_model()
    {
        var corpus = Path.Combine(fixture.Dir, "corpus-copy.txt");
        File.WriteAllText(corpus, "a corpus someone needs\n");
        var r = Charrnn("quantize", "m.safetensors", "-o", "corpus-copy.txt", "--weights", "int8");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("'corpus-copy.txt' exists and is not a model file", r.Stderr);
        Assert.Equal("a corpus someone needs\n", File.ReadAllText(corpus));
        // a model file may be replaced
        AssertOk(Charrnn("quantize", "m.safetensors", "-o", "replace-me.safetensors", "--weights", "bf16"));
        AssertOk(Charrnn("quantize", "m.safetensors", "-o", "replace-me.safetensors", "--weights", "int8"));
        Assert.Equal("int8", CharRnn.Fast.IO.SafetensorsReader.Read(Path.Combine(fixture.Dir, "replace-me.safetensors")).Metadata["weights"]);
    }

    [Fact]
    public void The_output_never_replaces_the_model_through_a_symbolic_link()
    {
        File.Copy(Path.Combine(fixture.Dir, "m.safetensors"), Path.Combine(fixture.Dir, "linked.safetensors"), overwrite: true);
        var before = File.ReadAllBytes(Path.Combine(fixture.Dir, "linked.safetensors"));
        File.Delete(Path.Combine(fixture.Dir, "link.safetensors"));
        File.CreateSymbolicLink(Path.Combine(fixture.Dir, "link.safetensors"), "linked.safetensors");
        var r = Charrnn("quantize", "linked.safetensors", "-o", "link.safetensors", "--weights", "bf16");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("the output would replace the model", r.Stderr);
        // a linked directory on the way: here → .
        if (!Directory.Exists(Path.Combine(fixture.Dir, "here"))) Directory.CreateSymbolicLink(Path.Combine(fixture.Dir, "here"), ".");
        var through = Charrnn("quantize", "linked.safetensors", "-o", "here/linked.safetensors", "--weights", "bf16");
        Assert.Equal(2, through.ExitCode);
        Assert.Contains("the output would replace the model", through.Stderr);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(fixture.Dir, "linked.safetensors")));
    }

    [Fact]
    public void The_output_never_replaces_a_training_runs_checkpoint()
    {
        var run = Path.Combine(fixture.Dir, "other-run.safetensors");
        File.Copy(Path.Combine(fixture.Dir, "m.safetensors"), run, overwrite: true);
        var before = File.ReadAllBytes(run);
        var r = Charrnn("quantize", "m.safetensors", "-o", "other-run.safetensors", "--weights", "int8");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("'other-run.safetensors' holds a training run's checkpoint (step 80)", r.Stderr);
        Assert.Equal(before, File.ReadAllBytes(run));
    }

    [Fact]
    public void A_missing_model_exits_1()
    {
        var r = Charrnn("quantize", "missing.safetensors", "-o", "y.safetensors", "--weights", "int8");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("model file 'missing.safetensors' does not exist", r.Stderr);
    }

    [Theory]
    [InlineData("sample")]
    [InlineData("eval")]
    [InlineData("bench")]
    public void Help_says_what_the_default_weights_are(string command)
    {
        var help = Charrnn(command, "--help");
        AssertOk(help);
        Assert.Contains("--weights FORMAT", help.Stdout);
        Assert.Contains(command == "bench" ? "(default: f32; with --latency, the format the model file stores" : "(default: the format the model file stores", help.Stdout);
    }

    [Fact]
    public void Quantize_help_shows_the_positional_form()
    {
        var help = Charrnn("quantize", "--help");
        AssertOk(help);
        Assert.StartsWith("usage: charrnn quantize MODEL -o OUT --weights bf16|int8", help.Stdout);
        Assert.Contains("-o, --out FILE", help.Stdout);
    }
}
