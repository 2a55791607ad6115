using System.Text.RegularExpressions;
using Xunit;
using static CharRnn.Cli.Tests.CliRunner;

namespace CharRnn.Cli.Tests;

/// <summary>Every sample the tool prints, from <c>sample</c> and during <c>train</c>, follows one start-and-stop protocol.</summary>
public sealed partial class SamplingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("charrnn-sampling-").FullName;

    public SamplingTests()
    {
        File.WriteAllText(Path.Combine(_dir, "prose.txt"), string.Concat(Enumerable.Repeat("the cat sat on the mat. the dog ate the log. ", 60)));
        File.WriteAllLines(Path.Combine(_dir, "names.txt"), Enumerable.Repeat(new[] { "anna", "bob", "carl", "dora", "emil", "fay" }, 30).SelectMany(x => x));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Result Charrnn(string args) => Run(_dir, args.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    private Result Ok(string args)
    {
        var r = Charrnn(args);
        Assert.True(r.ExitCode == 0, $"charrnn {args}: exit {r.ExitCode}\nstdout: {r.Stdout}\nstderr: {r.Stderr}");
        return r;
    }

    [Fact]
    public async Task Sample_stops_when_its_reader_goes_away()
    {
        Ok("train --input prose.txt --hidden 16 --seq-len 8 --batch 2 --steps 20 --sample-length 0 --checkpoint pipe.safetensors");
        // two billion characters would take many minutes; `| head -c 10` stops reading after ten
        using var process = System.Diagnostics.Process.Start(StartInfo(_dir, "sample", "--model", "pipe.safetensors", "--length", "2000000000"))!;
        var stderr = process.StandardError.ReadToEndAsync();
        var first = new char[10];
        process.StandardOutput.ReadBlock(first, 0, first.Length);
        process.StandardOutput.Close();
        bool ended = process.WaitForExit(120_000);
        if (!ended) process.Kill(entireProcessTree: true);
        Assert.True(ended, "sample went on generating after its reader closed the pipe");
        Assert.Equal(0, process.ExitCode);
        Assert.Equal("", await stderr);
    }

    [Fact]
    public void Samples_of_two_commands_sharing_one_output_file_follow_each_other()
    {
        Ok("train --input prose.txt --hidden 16 --seq-len 8 --batch 2 --steps 20 --sample-length 0 --checkpoint share.safetensors");
        string one = Ok("sample --model share.safetensors --length 20 --seed 1").Stdout, two = Ok("sample --model share.safetensors --length 5 --seed 2").Stdout;
        // the shell opens out.txt once; both commands write through that one descriptor
        string tool = $"dotnet '{ToolPath}' sample --model share.safetensors";
        var shell = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", $"{{ {tool} --length 20 --seed 1; {tool} --length 5 --seed 2; }} > out.txt"]) { WorkingDirectory = _dir })!;
        Assert.True(shell.WaitForExit(120_000));
        Assert.Equal(0, shell.ExitCode);
        Assert.Equal(one + two, File.ReadAllText(Path.Combine(_dir, "out.txt")));
    }

    [GeneratedRegex(@"--- sample at step (\d+) ---\n(.*?)\n---\n", RegexOptions.Singleline)]
    private static partial Regex TrainingSample();

    [Fact]
    public void Samples_printed_while_training_a_lines_model_are_single_lines()
    {
        var r = Ok("train --input names.txt --lines --hidden 32 --seq-len 8 --batch 2 --steps 300 --sample-every 100 --sample-length 300 --checkpoint names.safetensors");
        var samples = TrainingSample().Matches(r.Stderr.ReplaceLineEndings("\n"));
        Assert.Equal(["100", "200", "300"], samples.Select(m => m.Groups[1].Value));
        foreach (Match m in samples)
            Assert.DoesNotContain('\n', m.Groups[2].Value);
        // the closing sample: one line, like `charrnn sample` prints
        string closing = r.Stdout.ReplaceLineEndings("\n");
        Assert.EndsWith("\n", closing);
        Assert.DoesNotContain('\n', closing[..^1]);
        // a prime cannot break that line
        var broken = Run(_dir, "sample", "--model", "names.safetensors", "--prime", "an\nbo", "--length", "5");
        Assert.Equal(2, broken.ExitCode);
        Assert.Contains("its prime cannot hold a line break", broken.Stderr);
        Assert.Equal("", broken.Stdout);
    }

    [Fact]
    public void Samples_printed_while_training_a_stream_model_have_the_requested_length()
    {
        var r = Ok("train --input prose.txt --hidden 24 --seq-len 10 --batch 2 --steps 40 --sample-every 40 --sample-length 77 --checkpoint prose.safetensors");
        var sample = Assert.Single(TrainingSample().Matches(r.Stderr.ReplaceLineEndings("\n")));
        Assert.Equal(77, sample.Groups[2].Value.EnumerateRunes().Count());
        Assert.Equal(77, r.Stdout.ReplaceLineEndings("\n").TrimEnd('\n').EnumerateRunes().Count());
    }

    [Fact]
    public void Stream_samples_are_separated_by_a_line_naming_the_sample_and_its_seed()
    {
        Ok("train --input prose.txt --hidden 24 --seq-len 10 --batch 2 --steps 40 --checkpoint prose.safetensors");
        var three = Ok("sample --model prose.safetensors --prime the --length 40 --seed 5 --count 3").Stdout;
        var parts = three.Split("\n--- sample ");
        Assert.Equal(3, parts.Length);
        Assert.StartsWith("2 (seed 6) ---\n", parts[1]);
        Assert.StartsWith("3 (seed 7) ---\n", parts[2]);
        // each sample is the one --count 1 gives with its seed
        Assert.Equal(Ok("sample --model prose.safetensors --prime the --length 40 --seed 5").Stdout, parts[0] + "\n");
        Assert.Equal(Ok("sample --model prose.safetensors --prime the --length 40 --seed 6").Stdout, parts[1]["2 (seed 6) ---\n".Length..] + "\n");
        Assert.Contains("'--- sample I (seed S) ---'", Ok("sample --help").Stdout);
    }

    [Fact]
    public void Lines_samples_stay_one_per_line_without_separators()
    {
        Ok("train --input names.txt --lines --hidden 32 --seq-len 8 --batch 2 --steps 300 --checkpoint names.safetensors");
        var r = Ok("sample --model names.safetensors --count 5 --temperature 0.5 --length 30");
        var lines = r.Stdout.Split('\n');
        Assert.Equal(6, lines.Length); // five lines and the final newline
        Assert.DoesNotContain(lines, l => l.StartsWith("---", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("names.txt --lines", "--temperature 1.3 --length 30")]
    [InlineData("prose.txt", "--prime the --length 25 --top-k 5")]
    [InlineData("prose.txt", "--length 12 --json")]
    public void Samples_generated_together_print_what_samples_generated_one_by_one_print(string input, string options)
    {
        Ok($"train --input {input} --hidden 32 --seq-len 8 --batch 2 --steps 200 --checkpoint m.safetensors");
        // 70 samples: a group of 64 and one of 6; a lines model's samples end at different steps. --threads 2 generates
        // them one by one on a generator (H = 32: on one thread, as no thread takes fewer than 128 units).
        var together = Ok($"sample --model m.safetensors --count 70 --seed 9 {options}").Stdout;
        Assert.Equal(Ok($"sample --model m.safetensors --count 70 --seed 9 --threads 2 {options}").Stdout, together);
        if (input.Contains("--lines", StringComparison.Ordinal))
            Assert.True(together.Split('\n').Select(l => l.Length).Distinct().Count() > 2, "the lines end at different lengths");
    }

    [Theory]
    [InlineData("--temperature -1", "--temperature must be")]
    [InlineData("--top-k -2", "--top-k must be")]
    [InlineData("--top-p 0", "--top-p must be")]
    [InlineData("--top-p 1.5", "--top-p must be")]
    public void Invalid_sampling_options_are_command_line_mistakes(string option, string message)
    {
        Ok("train --input prose.txt --hidden 8 --seq-len 10 --batch 2 --steps 2 --checkpoint tiny.safetensors");
        var r = Charrnn($"sample --model tiny.safetensors {option}");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.Equal("", r.Stdout);
    }
}
