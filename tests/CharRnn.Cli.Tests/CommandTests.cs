using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CharRnn.Fast.IO;
using Xunit;
using static CharRnn.Cli.Tests.CliRunner;

namespace CharRnn.Cli.Tests;

public sealed class CommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("charrnn-cli-").FullName;
    private readonly string _text;
    private const string Small = "--hidden 24 --seq-len 10 --batch 2 --val-frac 0.1 --eval-every 20 --print-every 10";

    public CommandTests()
    {
        _text = Path.Combine(_dir, "input.txt");
        File.WriteAllText(_text, string.Concat(Enumerable.Repeat("the cat sat on the mat. the dog ate the log. ", 80)));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Result Charrnn(string args) => Run(_dir, Split(args));
    private static string[] Split(string args) => args.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static void AssertOk(Result r)
        => Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\nstdout: {r.Stdout}\nstderr: {r.Stderr}");

    [Theory]
    [InlineData("train")]
    [InlineData("sample")]
    [InlineData("eval")]
    [InlineData("info")]
    [InlineData("bench")]
    [InlineData("prepare")]
    [InlineData("plot")]
    [InlineData("quantize")]
    public void Every_command_has_help_listing_its_options(string command)
    {
        var r = Charrnn($"{command} --help");
        AssertOk(r);
        Assert.StartsWith($"usage: charrnn {command}", r.Stdout);
        Assert.Contains("--json", r.Stdout);
        var asked = Charrnn($"help {command}");
        AssertOk(asked);
        Assert.Equal(r.Stdout, asked.Stdout);
        var top = Charrnn("--help");
        AssertOk(top);
        // listed under "commands:" (the summary's prose alone contains "train", "sample", "eval…" and "bench…")
        Assert.Matches($@"\ncommands:\n(  \S+ .*\n)*  {command} +\S", top.Stdout);
    }

    [Fact]
    public void Train_sample_eval_info_work_together()
    {
        var train = Charrnn($"train --input {_text} {Small} --steps 60 --checkpoint m.safetensors");
        AssertOk(train);
        // every --eval-every 20 steps and at the end (the header's "N validation" characters is not a report)
        Assert.Equal(3, Regex.Count(train.Stderr, @"validation \d+\.\d+ bits/char"));
        Assert.Contains("kernels", train.Stderr);
        Assert.True(File.Exists(Path.Combine(_dir, "m.safetensors")));
        Assert.False(string.IsNullOrWhiteSpace(train.Stdout)); // the closing sample

        var sample = Charrnn("sample --model m.safetensors --prime the --length 40 --seed 5");
        AssertOk(sample);
        Assert.StartsWith("the", sample.Stdout);
        Assert.Equal(sample.Stdout, Charrnn("sample --model m.safetensors --prime the --length 40 --seed 5").Stdout); // seeded
        var greedy = Charrnn("sample --model m.safetensors --prime the --length 30 --greedy --count 3");
        AssertOk(greedy);
        // the text has no newline: each sample is one line, "the" + 30 characters (the separator lines are SamplingTests')
        var lines = greedy.Stdout.Split('\n').Where(l => !l.StartsWith("--- sample ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(4, lines.Length);
        Assert.Equal("", lines[3]);
        Assert.All(lines[..3], l => Assert.Matches("^the.{30}$", l));
        Assert.Equal(lines[0], lines[1]); // greedy: the seed S+i of sample i plays no part
        Assert.Equal(lines[0], lines[2]);

        var eval = Charrnn($"eval --model m.safetensors --input {_text} --json");
        AssertOk(eval);
        using var doc = JsonDocument.Parse(eval.Stdout);
        var e = doc.RootElement;
        double nats = e.GetProperty("nats_per_char").GetDouble();
        Assert.Equal(File.ReadAllText(_text).Length - 1, e.GetProperty("predictions").GetInt64());
        Assert.Equal(nats / Math.Log(2), e.GetProperty("bits_per_char").GetDouble(), 9);
        Assert.Equal(Math.Exp(nats), e.GetProperty("perplexity").GetDouble(), 6);
        Assert.True(nats < Math.Log(14), $"trained model should beat uniform over 14 symbols: {nats}"); // the text has 14 distinct characters
        AssertHelpNamesEveryField("eval", e);

        var info = Charrnn("info --model m.safetensors --json");
        AssertOk(info);
        using var infoDoc = JsonDocument.Parse(info.Stdout);
        Assert.Equal(24, infoDoc.RootElement.GetProperty("hidden_size").GetInt32());
        Assert.Equal(60, infoDoc.RootElement.GetProperty("training").GetProperty("step").GetInt64());
    }

    [Theory]
    [InlineData("rnn", 1)]
    [InlineData("lstm", 2)]
    [InlineData("gru", 2)]
    public void Info_lists_the_tensors_the_file_holds_in_its_shapes(string cell, int layers)
    {
        AssertOk(Charrnn($"train --input {_text} {Small} --cell {cell} --layers {layers} --dropout 0.25 --steps 2 --checkpoint t.safetensors"));
        var file = SafetensorsReader.Read(Path.Combine(_dir, "t.safetensors"));
        // the model's tensors: PyTorch's rnn.* and fc.* (the rest are optimizer moments and the carried state)
        var saved = file.Tensors.Where(t => t.Name.StartsWith("rnn.", StringComparison.Ordinal) || t.Name.StartsWith("fc.", StringComparison.Ordinal))
            .Select(t => $"{t.Name} [{string.Join(",", t.Shape)}]").ToArray();
        Assert.Equal(4 * layers + 2, saved.Length);

        var json = Charrnn("info --model t.safetensors --json");
        AssertOk(json);
        using var doc = JsonDocument.Parse(json.Stdout);
        var listed = doc.RootElement.GetProperty("shapes").EnumerateObject()
            .Select(p => $"{p.Name} [{string.Join(",", p.Value.EnumerateArray().Select(d => d.GetInt32()))}]").ToArray();
        Assert.Equal(saved, listed);
        Assert.Equal(0.25, doc.RootElement.GetProperty("training").GetProperty("dropout").GetDouble());

        var text = Charrnn("info --model t.safetensors");
        AssertOk(text);
        Assert.All(saved, line => Assert.Matches($@"\n  {Regex.Escape(line.Split(' ')[0])} +{Regex.Escape(line.Split(' ')[1])}\n", text.Stdout));
        Assert.Contains("dropout 0.25", text.Stdout);
    }

    [Fact]
    public void Sampling_on_several_threads_prints_the_same_text()
    {
        AssertOk(Charrnn($"train --input {_text} --hidden 256 --seq-len 10 --steps 3 --checkpoint wide.safetensors"));
        var one = Charrnn("sample --model wide.safetensors --prime the --length 200 --seed 4");
        var two = Charrnn("sample --model wide.safetensors --prime the --length 200 --seed 4 --threads 2");
        AssertOk(one);
        AssertOk(two);
        Assert.Equal(one.Stdout, two.Stdout);
        Assert.NotEqual(one.Stdout, Charrnn("sample --model wide.safetensors --prime the --length 200 --seed 5").Stdout);
        Assert.Equal(2, Charrnn("sample --model wide.safetensors --threads 0").ExitCode);
    }

    [Fact]
    public void Json_training_reports_are_one_object_per_line()
    {
        var r = Charrnn($"train --input {_text} {Small} --steps 30 --json --checkpoint j.safetensors");
        AssertOk(r);
        var objects = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Contains(objects, o => o.TryGetProperty("loss", out _) && o.TryGetProperty("chars_per_s", out _));
        Assert.Contains(objects, o => o.TryGetProperty("val_bits_per_char", out _));
        Assert.Equal("done", objects[^1].GetProperty("event").GetString());
    }

    [Fact]
    public void Interrupted_and_resumed_training_ends_bit_identical()
    {
        AssertOk(Charrnn($"train --input {_text} {Small} --steps 40 --checkpoint straight.safetensors"));
        AssertOk(Charrnn($"train --input {_text} {Small} --steps 20 --checkpoint part.safetensors"));
        AssertOk(Charrnn($"train --resume part.safetensors --steps 40 --checkpoint part.safetensors"));
        var a = SafetensorsReader.Read(Path.Combine(_dir, "straight.safetensors"));
        var b = SafetensorsReader.Read(Path.Combine(_dir, "part.safetensors"));
        Assert.Equal(a.Tensors.Select(t => t.Name), b.Tensors.Select(t => t.Name));
        foreach (var t in a.Tensors) Assert.Equal(t.Data, b.Get(t.Name).Data); // weights, moments, hidden state
        Assert.Equal(a.Metadata["step"], b.Metadata["step"]);
        Assert.Equal(a.Metadata["rng_state"], b.Metadata["rng_state"]);
    }

    [Fact]
    public void A_resumed_run_validates_on_the_sample_its_checkpoint_did()
    {
        // the first run sets --eval-every 10; the resume gives none (its default would be 500, a sample 50 times longer)
        string Validations(string stdout) => string.Join(";", stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement).Where(o => o.GetProperty("event").GetString() == "validation" && o.GetProperty("step").GetInt32() > 20)
            .Select(o => $"{o.GetProperty("step")}:{o.GetProperty("val_nats_per_char").GetRawText()}"));
        const string Flags = "--hidden 24 --seq-len 10 --batch 2 --val-frac 0.1 --print-every 10 --eval-every 10 --keep-best";
        var straight = Charrnn($"train --input {_text} {Flags} --steps 40 --json --checkpoint vs.safetensors");
        AssertOk(straight);
        AssertOk(Charrnn($"train --input {_text} {Flags} --steps 20 --checkpoint vp.safetensors"));
        var resumed = Charrnn($"train --resume vp.safetensors --steps 40 --json");
        AssertOk(resumed);
        Assert.Equal("30:", Validations(straight.Stdout)[..3]);
        Assert.Equal(Validations(straight.Stdout), Validations(resumed.Stdout));
        var a = SafetensorsReader.Read(Path.Combine(_dir, "vs.safetensors")).Metadata;
        var b = SafetensorsReader.Read(Path.Combine(_dir, "vp.safetensors")).Metadata;
        foreach (var key in new[] { "cli.best_val_nats", "cli.best_step", "cli.validation_length", "cli.eval_every" }) Assert.Equal(a[key], b[key]);
        var full = Charrnn("train --resume vp.safetensors --steps 50 --val-full");
        Assert.Equal(2, full.ExitCode);
        Assert.Contains("--val-full differs from the checkpoint's validation sample", full.Stderr);
    }

    [Fact]
    public void Init_from_a_hand_written_model_file()
    {
        // what a numpy user writes: five tensors in math shapes and the vocabulary, nothing else
        var vocab = File.ReadAllText(_text).EnumerateRunes().Distinct().OrderBy(r => r.Value).Select(r => r.ToString()).ToArray();
        int v = vocab.Length, h = 8;
        var rng = new Random(1);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5) * 0.2f).ToArray();
        var tensors = new (string Name, int[] Shape, float[] Data)[] { ("Wxh", [h, v], R(h * v)), ("Whh", [h, h], R(h * h)), ("bh", [h], R(h)), ("Why", [v, h], R(v * h)), ("by", [v], R(v)) };
        var header = new StringBuilder("{\"__metadata__\":{\"vocab\":" + JsonSerializer.Serialize(JsonSerializer.Serialize(vocab)) + "}");
        long offset = 0;
        foreach (var t in tensors)
        {
            header.Append($",\"{t.Name}\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(",", t.Shape)}],\"data_offsets\":[{offset},{offset + t.Data.Length * 4}]}}");
            offset += t.Data.Length * 4;
        }
        header.Append('}');
        var headerBytes = Encoding.UTF8.GetBytes(header.ToString());
        using (var file = File.Create(Path.Combine(_dir, "numpy.safetensors")))
        {
            file.Write(BitConverter.GetBytes((ulong)headerBytes.Length));
            file.Write(headerBytes);
            foreach (var t in tensors) foreach (var x in t.Data) file.Write(BitConverter.GetBytes(x));
        }

        AssertOk(Charrnn("sample --model numpy.safetensors --length 20"));
        var info = Charrnn("info --model numpy.safetensors");
        AssertOk(info);
        Assert.Contains("weights-only", info.Stdout);
        AssertOk(Charrnn($"train --input {_text} --init-from numpy.safetensors --seq-len 10 --batch 2 --steps 15 --checkpoint from-numpy.safetensors"));
        var loaded = Checkpoint.Load(Path.Combine(_dir, "from-numpy.safetensors"));
        Assert.Equal(8, loaded.Model.HiddenSize);
        Assert.Equal(15, loaded.Training!.Step);
    }

    [Fact]
    public void Lines_models_generate_one_line_per_sample()
    {
        var names = Path.Combine(_dir, "names.txt");
        File.WriteAllLines(names, Enumerable.Repeat(new[] { "anna", "bob", "carl", "dora", "emil", "fay" }, 30).SelectMany(x => x));
        AssertOk(Charrnn($"train --input {names} --lines --hidden 32 --seq-len 8 --batch 2 --steps 400 --checkpoint names.safetensors"));
        var r = Charrnn("sample --model names.safetensors --count 6 --temperature 0.5 --length 30");
        AssertOk(r);
        var lines = r.Stdout.Split('\n');
        Assert.Equal(7, lines.Length); // six lines and the final newline
        // each sample stopped at the boundary token after one name, well before the 30-character limit
        Assert.All(lines[..6], l => Assert.Contains(l, new[] { "anna", "bob", "carl", "dora", "emil", "fay" }));
    }

    [Fact]
    public async Task Ctrl_c_saves_a_checkpoint_and_exits_130()
    {
        var info = StartInfo(_dir, Split($"train --input {_text} --hidden 32 --seq-len 10 --batch 2 --steps 100000000 --print-every 20 --checkpoint interrupted.safetensors"));
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        // wait for the first progress line: training is under way
        string? line;
        do line = process.StandardError.ReadLine(); while (line is not null && !line.StartsWith("step ", StringComparison.Ordinal));
        Assert.NotNull(line);
        Interrupt(process);
        var rest = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("training went on for 60 s after SIGINT");
        }
        Assert.Equal(130, process.ExitCode);
        Assert.Contains("interrupted at step", await rest);
        var loaded = Checkpoint.Load(Path.Combine(_dir, "interrupted.safetensors"));
        Assert.True(loaded.Training!.Step > 0);
        AssertOk(Charrnn("train --resume interrupted.safetensors --steps " + (loaded.Training.Step + 5) + " --checkpoint interrupted.safetensors"));
    }

    public static TheoryData<string, int, string> BadInputs => new()
    {
        { "frobnicate", 2, "unknown command" },
        { "help frobnicate", 2, "unknown command 'frobnicate'" },
        { "train --hiden 3", 2, "unknown option --hiden" },
        { "train --hidden abc", 2, "--hidden expects an integer" },
        { "train --hidden 0", 2, "--hidden must be" },
        { "train --steps 5 --epochs 1", 2, "not both" },
        { "train --optimizer lbfgs", 2, "--optimizer must be" },
        { "train --init gaussian", 2, "not an initialisation" },
        { "train --lr -1", 2, "--lr must be" },
        { "train --input missing.txt", 1, "does not exist" },
        { "train --input empty.txt", 1, "is empty" },
        { "train --input short.txt", 1, "needs at least" },
        { "train --input invalid.txt", 1, "byte offset 3" },
        { "sample", 2, "--model FILE is required" },
        { "sample --model missing.safetensors", 1, "does not exist" },
        { "sample --model corrupt.safetensors", 1, "not a valid model file" },
        { "info --model surrogate.safetensors", 1, "not a valid model file" },
        { "sample --model truncated.safetensors", 1, "truncated" },
        { "sample --model nan.safetensors", 1, "NaN" },
        { "sample --model good.safetensors --prime 日本", 1, "not in the model's vocabulary: '日' '本'" },
        { "sample --model good.safetensors --top-p 0", 2, "--top-p must be" },
        { "eval --model good.safetensors", 2, "--input FILE is required" },
        { "eval --model good.safetensors --input other.txt", 1, "not in the model's vocabulary" },
        { "eval --model good.safetensors --input good.safetensors", 1, "'good.safetensors' is a model file (safetensors), not text" },
        { "train --resume good-weights.safetensors", 1, "no training state" },
        { "train --resume good.safetensors --hidden 64", 2, "cannot change on --resume" },
        { "bench --peak --hidden 999", 2, "--peak measures one core's FMA peak: --hidden does not apply" },
        { "bench --peak --threads 2", 2, "--peak measures one core's FMA peak: --threads does not apply" },
        { "bench --latency good.safetensors --vocab 7", 2, "--latency measures the model file it names: --vocab does not apply" },
        { "bench --latency good.safetensors --streams 4", 2, "--latency measures the model file it names: --streams does not apply" },
        { "bench --chars 5000", 2, "--chars applies to --latency" },
        { "bench --streams 0", 2, "--streams must be" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Bad_input_is_a_clear_error_without_a_stack_trace(string args, int exitCode, string message)
    {
        File.WriteAllText(Path.Combine(_dir, "empty.txt"), "");
        File.WriteAllText(Path.Combine(_dir, "short.txt"), "tiny");
        File.WriteAllBytes(Path.Combine(_dir, "invalid.txt"), [(byte)'a', (byte)'b', (byte)'c', 0xFF, (byte)'d']);
        File.WriteAllText(Path.Combine(_dir, "other.txt"), "xyz€");
        File.WriteAllBytes(Path.Combine(_dir, "corrupt.safetensors"), Encoding.UTF8.GetBytes("this is not a model at all, just some text"));
        // JSON that parses, with a string that is no Unicode text: an escaped lone surrogate
        byte[] surrogate = Encoding.UTF8.GetBytes("{\"__metadata__\":{\"vocab\":\"[\\\"a\\\"]\",\"cell\":\"\\ud800\"}}");
        File.WriteAllBytes(Path.Combine(_dir, "surrogate.safetensors"), [.. BitConverter.GetBytes((ulong)surrogate.Length), .. surrogate]);
        if (args.Contains("good", StringComparison.Ordinal) || args.Contains("truncated", StringComparison.Ordinal) || args.Contains("nan", StringComparison.Ordinal))
        {
            AssertOk(Charrnn($"train --input {_text} --hidden 8 --seq-len 5 --batch 1 --steps 3 --checkpoint good.safetensors"));
            var good = Checkpoint.Load(Path.Combine(_dir, "good.safetensors"));
            Checkpoint.Save(Path.Combine(_dir, "good-weights.safetensors"), good.Model);
            var bytes = File.ReadAllBytes(Path.Combine(_dir, "good-weights.safetensors"));
            File.WriteAllBytes(Path.Combine(_dir, "truncated.safetensors"), bytes[..(bytes.Length - 10)]);
            var file = SafetensorsReader.Read(Path.Combine(_dir, "good-weights.safetensors"));
            file.Tensors.Single(t => t.Name == "rnn.weight_hh_l0").Data[0] = float.NaN;
            SafetensorsWriter.Write(Path.Combine(_dir, "nan.safetensors"), file.Tensors, file.Metadata);
        }
        var r = Charrnn(args);
        Assert.Equal(exitCode, r.ExitCode);
        Assert.Contains("charrnn: error:", r.Stderr);
        Assert.Contains(message, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void A_non_finite_loss_stops_training_and_keeps_the_last_good_checkpoint()
    {
        const string diverging = "--hidden 24 --seq-len 10 --batch 2 --optimizer sgd --lr 1e30 --clip 0 --init normal:1 --steps 200";
        string keep = Path.Combine(_dir, "keep.safetensors");
        AssertOk(Charrnn($"train --input {_text} {Small} --steps 10 --checkpoint keep.safetensors"));
        var before = File.ReadAllBytes(keep);

        // a run that diverges before its first save leaves the file it would have replaced byte for byte
        var r = Charrnn($"train --input {_text} {diverging} --checkpoint keep.safetensors");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("lower the learning rate", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.Equal(before, File.ReadAllBytes(keep));

        // saving every step, the file holds the last step before the non-finite one: loadable, finite, that step
        r = Charrnn($"train --input {_text} {diverging} --checkpoint-every 1 --checkpoint keep.safetensors");
        Assert.Equal(1, r.ExitCode);
        long failed = long.Parse(Regex.Match(r.Stderr, @"non-finite at step (\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(failed > 1, r.Stderr); // so a checkpoint of this run was written before it
        var after = Checkpoint.Load(keep);
        Assert.True(after.Model.Parameters.AllFinite());
        Assert.Equal(failed - 1, after.Training!.Step);
    }

    [Fact]
    public void A_diverged_model_is_reported_without_breaking_the_json_and_its_overflowing_update_is_never_saved()
    {
        AssertOk(Charrnn($"train --input {_text} {Small} --steps 10 --checkpoint base.safetensors"));
        var loaded = Checkpoint.Load(Path.Combine(_dir, "base.safetensors"));
        var p = loaded.Model.Parameters;

        // logits (3000, 0, 0, …): a loss of 3000 nats for every target but token 0, finite, but its perplexity overflows
        p.Why.Clear();
        p.By.Clear();
        p.By[0] = 3000;
        Checkpoint.Save(Path.Combine(_dir, "huge.safetensors"), loaded.Model);
        var r = Charrnn("train --init-from huge.safetensors --input " + _text + " --hidden 24 --seq-len 10 --batch 2 --val-frac 0.1 --optimizer sgd --lr 1e-30 --steps 2 --eval-every 1 --keep-best --sample-length 0 --json --checkpoint huge-run.safetensors");
        AssertOk(r);
        var passes = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(o => o.GetProperty("event").GetString() == "validation").ToList();
        Assert.Equal(2, passes.Count);
        Assert.All(passes, p => Assert.Equal(JsonValueKind.Null, p.GetProperty("val_perplexity").ValueKind));
        Assert.All(passes, p => Assert.True(p.GetProperty("val_nats_per_char").GetDouble() > 710));
        var measured = JsonDocument.Parse(Charrnn($"eval --model huge.safetensors --input {_text} --json").Stdout).RootElement;
        Assert.Equal(JsonValueKind.Null, measured.GetProperty("perplexity").ValueKind);

        // saturated hidden units (h = 1) and output weights near the top of float: every logit overflows to +∞, the
        // softmax is NaN, and there is nothing to measure
        p.Bias(0).Fill(100);
        p.Why.Fill(3e38f);
        Checkpoint.Save(Path.Combine(_dir, "overflow.safetensors"), loaded.Model);
        var nan = Charrnn($"eval --model overflow.safetensors --input {_text}");
        Assert.Equal(1, nan.ExitCode);
        Assert.Contains("its outputs overflow", nan.Stderr);
        foreach (var how in new[] { "", "--greedy", "--count 3" }) // nor can anything be sampled from it
        {
            var drawn = Charrnn($"sample --model overflow.safetensors --length 5 {how}");
            Assert.Equal(1, drawn.ExitCode);
            Assert.Contains("the model's outputs overflow", drawn.Stderr);
            Assert.DoesNotContain("   at ", drawn.Stderr);
        }

        // an update that overflows the weights (finite, clipped gradients; RMSprop's first step is about 4.5 lr) fails before it is saved
        var before = File.ReadAllBytes(Path.Combine(_dir, "base.safetensors"));
        var over = Charrnn($"train --init-from base.safetensors --input {_text} --hidden 24 --seq-len 10 --batch 2 --optimizer rmsprop --lr 1e38 --steps 5 --checkpoint-every 1 --sample-length 0 --json --checkpoint base.safetensors");
        Assert.Equal(1, over.ExitCode);
        Assert.Contains("made the weights or the optimizer's state NaN or infinite", over.Stderr);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(_dir, "base.safetensors")));
        var error = JsonDocument.Parse(over.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]).RootElement;
        Assert.Equal("error", error.GetProperty("event").GetString());
        Assert.Contains($"step {error.GetProperty("step").GetInt64()}", error.GetProperty("message").GetString());

        // relu units at 1e21 read by output weights of 1e-21: a finite loss, finite gradients of about 1e21 that Adam's
        // second moment (their squares) cannot hold; unclipped, the update runs, and that state is not saved either
        AssertOk(Charrnn($"train --input {_text} {Small} --relu --steps 10 --checkpoint relu.safetensors"));
        var relu = Checkpoint.Load(Path.Combine(_dir, "relu.safetensors"));
        relu.Model.Parameters.Bias(0).Fill(1e21f);
        relu.Model.Parameters.Why.Fill(1e-21f);
        Checkpoint.Save(Path.Combine(_dir, "relu-huge.safetensors"), relu.Model);
        before = File.ReadAllBytes(Path.Combine(_dir, "relu-huge.safetensors"));
        var moments = Charrnn($"train --init-from relu-huge.safetensors --input {_text} --hidden 24 --seq-len 10 --batch 2 --relu --clip 0 --steps 5 --checkpoint-every 1 --sample-length 0 --checkpoint relu-huge.safetensors");
        Assert.Equal(1, moments.ExitCode);
        Assert.Contains("the update of step 1 made the weights or the optimizer's state NaN or infinite", moments.Stderr);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(_dir, "relu-huge.safetensors")));
    }

    [Fact]
    public void Invalid_utf8_is_replaced_only_when_asked()
    {
        var path = Path.Combine(_dir, "latin1.txt");
        File.WriteAllBytes(path, [.. Encoding.UTF8.GetBytes(File.ReadAllText(_text)), 0xE9, (byte)'!']);
        var refused = Charrnn($"train --input {path} {Small} --steps 5");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("byte offset", refused.Stderr);
        AssertOk(Charrnn($"train --input {path} {Small} --steps 5 --replace-invalid --checkpoint replaced.safetensors"));
        using var info = JsonDocument.Parse(Charrnn("info --model replaced.safetensors --json").Stdout);
        Assert.Contains("\uFFFD", info.RootElement.GetProperty("vocab").EnumerateArray().Select(e => e.GetString()));
        // the checkpoint records the replacement, so a resume reads the text as the run did
        AssertOk(Charrnn("train --resume replaced.safetensors --steps 10"));
    }

    [Fact]
    public void The_embedded_corpus_is_the_projects_own_text_and_large_enough()
    {
        string corpus = CharRnn.Cli.Commands.Inputs.DefaultCorpus();
        Assert.True(corpus.Length >= 100_000, $"{corpus.Length} characters");
        Assert.Contains("class Gemm", corpus);
        Assert.Contains("# CharRnn.Fast", corpus);
    }

    [Fact]
    public void Bench_json_has_the_documented_fields()
    {
        var r = Charrnn("bench --hidden 16 --batch 2 --seconds 0.2 --json");
        AssertOk(r);
        using var doc = JsonDocument.Parse(r.Stdout);
        var o = doc.RootElement;
        Assert.True(o.GetProperty("train_chars_per_s").GetDouble() > 0);
        Assert.True(o.GetProperty("generate_us_per_char").GetDouble() > 0);
        // generation's traffic: the weight bytes of a character over its time, beside one core's read rate
        double us = o.GetProperty("generate_us_per_char").GetDouble(), gbps = o.GetProperty("generate_gbps").GetDouble(), read = o.GetProperty("read_gbps").GetDouble();
        long bytes = o.GetProperty("generate_weight_bytes_per_char").GetInt64();
        Assert.InRange(bytes, 4L * (16 * 16 + 16 * 65), 4L * (16 * 16 + 16 * 80 + 80 + 16 + 3 * 16 + 1));
        Assert.Equal(bytes / (us * 1e3), gbps, 1e-9 * gbps);
        Assert.True(read > 0, $"read_gbps {read}");
        Assert.Equal(gbps / read, o.GetProperty("generate_fraction_of_read").GetDouble(), 1e-12);
        Assert.Equal(16, o.GetProperty("hidden").GetInt32());
        Assert.Equal(2, o.GetProperty("batch").GetInt32());
        Assert.Equal(1, o.GetProperty("threads").GetInt32());
        Assert.False(string.IsNullOrEmpty(o.GetProperty("vector_path").GetString()));
        AssertHelpNamesEveryField("bench", o);
    }

    [Fact]
    public void Bench_latency_times_a_model_and_prints_the_documented_fields()
    {
        AssertOk(Charrnn($"train --input {_text} --hidden 8 --seq-len 5 --batch 1 --steps 3 --checkpoint lat.safetensors"));
        var r = Charrnn("bench --latency lat.safetensors --chars 1000 --json");
        AssertOk(r);
        using var doc = JsonDocument.Parse(r.Stdout);
        var o = doc.RootElement;
        Assert.Equal("dotnet", o.GetProperty("api").GetString());
        Assert.Equal(1000, o.GetProperty("chars").GetInt32());
        double p50 = o.GetProperty("p50_us").GetDouble(), p99 = o.GetProperty("p99_us").GetDouble(), max = o.GetProperty("max_us").GetDouble();
        Assert.True(p50 <= p99 && p99 <= max, $"p50 {p50} p99 {p99} max {max}");
        Assert.InRange(o.GetProperty("mean_us").GetDouble(), 0, max);
        AssertHelpNamesEveryField("bench", o);
        Assert.Matches(@"^p50 [0-9.]+ µs  p99 [0-9.]+ µs  max [0-9.]+ µs  mean [0-9.]+ µs over 1000 characters \(f32 weights\)\n$", Charrnn("bench --latency lat.safetensors --chars 1000").Stdout);
        var tooFew = Charrnn("bench --latency lat.safetensors --chars 999");
        Assert.Equal(2, tooFew.ExitCode);
        Assert.Contains("--chars N", Charrnn("bench --help").Stdout);
        Assert.Contains("at least 1000", Charrnn("bench --help").Stdout); // the bound the parser enforces
    }

    private void AssertHelpNamesEveryField(string command, JsonElement printed)
    {
        var help = Charrnn($"{command} --help").Stdout;
        foreach (var field in printed.EnumerateObject()) Assert.Contains($"\"{field.Name}\"", help);
    }
}
