using System.Diagnostics;
using System.Text;

namespace CharRnn.Cli.Tests;

/// <summary>Runs the built charrnn tool as a process, the way users and scripts do.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static string ToolPath { get; } = Path.Combine(AppContext.BaseDirectory, "charrnn.dll");

    public static ProcessStartInfo StartInfo(string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(ToolPath);
        foreach (var a in args) info.ArgumentList.Add(a);
        return info;
    }

    public static Result Run(string workingDirectory, params string[] args) => Run(StartInfo(workingDirectory, args));

    /// <summary>Runs with <paramref name="environment"/> added to this process's environment variables.</summary>
    public static Result RunWith(IReadOnlyDictionary<string, string> environment, string workingDirectory, params string[] args)
    {
        var info = StartInfo(workingDirectory, args);
        foreach (var (name, value) in environment) info.Environment[name] = value;
        return Run(info);
    }

    private static Result Run(ProcessStartInfo info)
    {
        var args = info.ArgumentList.Skip(1);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"charrnn {string.Join(' ', args)} did not finish in 120 s");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
