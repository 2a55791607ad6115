using CharRnn.Fast.IO;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;
using static CharRnn.Cli.Tests.CliRunner;

namespace CharRnn.Cli.Tests;

/// <summary>What the tool says when something is wrong or unusual: each fact said once, in a form a terminal shows.</summary>
public sealed class MessageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("charrnn-msg-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static int Count(string text, string part)
    {
        int n = 0;
        for (int at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    [Theory]
    [InlineData("sample --lenght 5")]
    [InlineData("sample stray")]
    [InlineData("info --model")]
    [InlineData("bench --hidden 99999999999")]
    public void A_usage_error_points_to_the_commands_help_once(string args)
    {
        var r = Run(_dir, args.Split(' '));
        Assert.Equal(2, r.ExitCode);
        Assert.Equal(1, Count(r.Stderr, "--help"));
        Assert.Contains($"charrnn {args.Split(' ')[0]} --help", r.Stderr);
    }

    [Theory]
    [InlineData("--cell lstm --relu", "--relu applies to rnn cells", "--relu")]
    [InlineData("--cell gru --forget-bias 1", "--forget-bias applies to lstm cells", "--cell lstm --forget-bias 1")]
    [InlineData("--forget-bias 1", "--forget-bias applies to lstm cells", "--cell lstm --forget-bias 1")]
    [InlineData("--optimizer sgd --beta1 0.5", "--beta1 applies to adam; sgd does not use it", "--beta1 0.5")]
    [InlineData("--optimizer rmsprop --beta2 0.9", "--beta2 applies to adam; rmsprop does not use it", "--beta2 0.9")]
    [InlineData("--alpha 0.9", "--alpha applies to rmsprop (its decay rate); adam does not use it", "--optimizer rmsprop --alpha 0.9")]
    [InlineData("--optimizer sgd --eps 1e-6", "--eps applies to adam, adagrad and rmsprop; sgd does not use it", "--eps 1e-6")]
    public void A_training_flag_the_model_or_optimizer_would_ignore_is_refused(string flags, string message, string fitting)
    {
        File.WriteAllText(Path.Combine(_dir, "t.txt"), string.Concat(Enumerable.Repeat("abcabcabc abc ", 10)));
        var r = Run(_dir, $"train --input t.txt --hidden 8 --seq-len 4 --batch 1 --steps 2 --checkpoint t.safetensors {flags}".Split(' '));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.False(File.Exists(Path.Combine(_dir, "t.safetensors")));
        // the same flag where it applies trains
        var ok = Run(_dir, $"train --input t.txt --hidden 8 --seq-len 4 --batch 1 --steps 2 --eval-every 0 --sample-length 0 --checkpoint t.safetensors {fitting}".Split(' '));
        Assert.True(ok.ExitCode == 0, $"{fitting}: exit {ok.ExitCode}: {ok.Stderr}");
    }

    [Theory]
    [InlineData("--init xavier", "--init sets a new model's starting weights")]
    [InlineData("--init-bias normal:1", "--init-bias sets a new model's starting weights")]
    [InlineData("--cell lstm --forget-bias 1", "--forget-bias sets a new model's starting weights")]
    public void A_flag_that_shapes_new_weights_is_refused_with_init_from(string flags, string message)
    {
        File.WriteAllText(Path.Combine(_dir, "t.txt"), string.Concat(Enumerable.Repeat("abcabcabc abc ", 10)));
        var cell = flags.StartsWith("--cell", StringComparison.Ordinal) ? "--cell lstm " : "";
        Assert.Equal(0, Run(_dir, $"train --input t.txt --hidden 8 --seq-len 4 --batch 1 --steps 2 --eval-every 0 --sample-length 0 {cell}--checkpoint w.safetensors".Split(' ', StringSplitOptions.RemoveEmptyEntries)).ExitCode);
        var r = Run(_dir, $"train --input t.txt --init-from w.safetensors --seq-len 4 --batch 1 --steps 2 --checkpoint n.safetensors {flags}".Split(' '));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.False(File.Exists(Path.Combine(_dir, "n.safetensors")));
    }

    [Theory]
    [InlineData("bench --hidden 50000 --seconds 0.1", 2)]
    [InlineData("bench --cell gru --layers 64 --hidden 65536 --seconds 0.1", 2)]
    [InlineData("train --hidden 65536 --steps 1 --checkpoint big.safetensors", 1)]
    public void A_model_too_large_for_one_array_is_one_line_naming_its_size(string args, int exitCode)
    {
        var r = Run(_dir, args.Split(' '));
        Assert.Equal(exitCode, r.ExitCode);
        var first = r.Stderr.Split('\n')[0];
        Assert.Matches(@"^charrnn: error: a model of \d+ (rnn|gru) layers? of \d+ units over \d+ symbols has [\d,]+ parameters; at most 2,147,483,591 fit one array", first);
        Assert.DoesNotContain("Actual value", r.Stderr);
        Assert.DoesNotContain("\n   at ", r.Stderr); // no stack trace
    }

    [Theory]
    [InlineData("--temperature 0.5")]
    [InlineData("--top-k 3")]
    [InlineData("--top-p 0.9")]
    [InlineData("--seed 4")]
    public void Greedy_sampling_refuses_the_flags_of_random_sampling(string flag)
    {
        File.WriteAllText(Path.Combine(_dir, "t.txt"), string.Concat(Enumerable.Repeat("abcabcabc abc ", 10)));
        Assert.Equal(0, Run(_dir, "train --input t.txt --hidden 8 --seq-len 4 --batch 1 --steps 2 --eval-every 0 --sample-length 0 --checkpoint g.safetensors".Split(' ')).ExitCode);
        var r = Run(_dir, $"sample --model g.safetensors --length 5 --greedy {flag}".Split(' '));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{flag.Split(' ')[0]} shapes random sampling; --greedy always takes the most likely character", r.Stderr);
        Assert.Equal("", r.Stdout);
        Assert.Equal(0, Run(_dir, $"sample --model g.safetensors --length 5 {flag}".Split(' ')).ExitCode);
    }

    [Fact]
    public void An_integer_too_large_for_the_option_is_reported_with_the_range()
    {
        var r = Run(_dir, "sample", "--model", "m.safetensors", "--length", "99999999999");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--length must be in 0..2147483647, got 99999999999", r.Stderr);
    }

    [Fact]
    public void An_unreadable_input_names_the_file_once()
    {
        // a dangling link exists as a directory entry but cannot be opened: the read itself fails
        File.CreateSymbolicLink(Path.Combine(_dir, "gone.txt"), Path.Combine(_dir, "nowhere.txt"));
        var r = Run(_dir, "train", "--input", "gone.txt");
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("charrnn: error: cannot read 'gone.txt': ", r.Stderr);
        Assert.Equal(1, Count(r.Stderr, "gone.txt"));
        Assert.DoesNotContain("nowhere", r.Stderr);
    }

    [Fact]
    public void A_model_file_too_large_to_read_is_named_once()
    {
        using (var file = File.Create(Path.Combine(_dir, "huge.safetensors"))) file.SetLength(3L << 30); // sparse: no disk used
        var r = Run(_dir, "info", "--model", "huge.safetensors");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("3221225472 bytes", r.Stderr);
        Assert.Equal(1, Count(r.Stderr, "huge.safetensors"));
    }

    [Fact]
    public void Info_escapes_invisible_and_combining_characters_of_the_vocabulary()
    {
        // e + combining acute, a zero-width joiner, a no-break space, a bell, a right-to-left mark and a line separator
        const string text = "ae\u0301 \u200D\u00A0\u0007\u200F\u2028z";
        var model = Trainer.NewModel(Vocabulary.FromText(text), 4, new TrainingOptions());
        Checkpoint.Save(Path.Combine(_dir, "odd.safetensors"), model);
        var r = Run(_dir, "info", "--model", "odd.safetensors");
        Assert.Equal(0, r.ExitCode);
        string line = r.Stdout.Split('\n').Single(l => l.StartsWith("vocabulary", StringComparison.Ordinal));
        Assert.EndsWith(": U+0007 aezU+00A0U+0301U+200DU+200FU+2028", line);
    }

    [Fact]
    public void Unknown_characters_in_an_error_are_escaped_the_same_way()
    {
        var model = Trainer.NewModel(Vocabulary.FromText("abc"), 4, new TrainingOptions());
        Checkpoint.Save(Path.Combine(_dir, "abc.safetensors"), model);
        var r = Run(_dir, "sample", "--model", "abc.safetensors", "--prime", "a\u0301\u200D");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("'U+0301' 'U+200D'", r.Stderr);
    }

    [Fact]
    public void A_bad_vector_path_setting_is_a_clear_error()
    {
        foreach (var args in new[] { new[] { "--version" }, ["bench", "--seconds", "0.05"] })
        {
            var r = RunWith(new Dictionary<string, string> { ["CHARRNN_ISA"] = "avx9" }, _dir, args);
            Assert.Equal(2, r.ExitCode);
            Assert.StartsWith("charrnn: error: CHARRNN_ISA: 'avx9' is not a vector path; use 512, 256, 128 or scalar", r.Stderr);
            Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)); // one line, no stack trace
        }
    }
}
