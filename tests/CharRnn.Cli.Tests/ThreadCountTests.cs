using Xunit;
using static CharRnn.Cli.Tests.CliRunner;

namespace CharRnn.Cli.Tests;

/// <summary>--threads beyond the processor count is allowed but warned about, in every command that takes it.</summary>
public sealed class ThreadCountTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("charrnn-threads-").FullName;

    public ThreadCountTests()
        => File.WriteAllText(Path.Combine(_dir, "input.txt"), string.Concat(Enumerable.Repeat("threads take turns on a busy machine. ", 40)));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Result Charrnn(string args) => Run(_dir, args.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    [Fact]
    public void More_threads_than_processors_run_with_a_warning_and_as_many_without()
    {
        int processors = Environment.ProcessorCount;
        var commands = new Func<int, string>[]
        {
            n => $"train --input input.txt --hidden 16 --seq-len 10 --batch 4 --steps 3 --checkpoint m{n}.safetensors --threads {n}",
            n => $"sample --model m{n}.safetensors --length 20 --threads {n}",
            n => $"bench --hidden 16 --seconds 0.05 --threads {n}",
        };
        foreach (int n in new[] { processors, processors + 1 })
        {
            foreach (var command in commands)
            {
                var r = Charrnn(command(n));
                Assert.True(r.ExitCode == 0, $"{command(n)}: exit {r.ExitCode}\n{r.Stderr}");
                string warning = $"charrnn: warning: --threads {n} is more than the {processors} processor(s) available";
                if (n > processors) Assert.Contains(warning, r.Stderr);
                else Assert.DoesNotContain("warning", r.Stderr);
            }
        }
    }
}
