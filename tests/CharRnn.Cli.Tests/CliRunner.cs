using System.Diagnostics;
using System.Runtime.InteropServices;
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

    /// <summary>
    /// Sends SIGINT to <paramref name="process"/> at once, as Ctrl+C at a terminal does (starting kill(1) for it took long
    /// enough on a loaded machine for a training step to finish between two signals a test meant to land in one).
    /// </summary>
    public static void Interrupt(Process process)
    {
        const int SigInt = 2;
        if (IgnoresSigInt(process.Id))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException("charrnn ignores SIGINT, inherited from this test run (started with '&' from a script?): run the tests in the foreground");
        }
        if (Kill(process.Id, SigInt) != 0) throw new InvalidOperationException($"kill({process.Id}, SIGINT) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    // Whether process pid ignores SIGINT (bit 1 of SigIgn in /proc/<pid>/status). A process started with '&' by a
    // non-interactive shell ignores it, so does every child it starts, and the runtime keeps an inherited SIG_IGN as
    // shells do: a test run started that way could never interrupt the tool, and would wait for it forever.
    private static bool IgnoresSigInt(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & (1UL << 1)) != 0;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>Runs with <paramref name="environment"/> added to this process's environment variables.</summary>
    public static Result RunWith(IReadOnlyDictionary<string, string> environment, string workingDirectory, params string[] args)
    {
        var info = StartInfo(workingDirectory, args);
        foreach (var (name, value) in environment) info.Environment[name] = value;
        return Run(info);
    }

    /// <summary>
    /// Runs the tool with stdin, stdout and stderr on a pseudo-terminal (util-linux's script(1)), as a user at a terminal
    /// does; returns everything the terminal showed, or null where script(1) is not installed.
    /// </summary>
    public static string? RunOnTerminal(string workingDirectory, params string[] args)
    {
        if (OnTerminal(workingDirectory, args) is not { } info) return null;
        var r = Run(info);
        return r.ExitCode == 0 ? r.Stdout : throw new InvalidOperationException($"charrnn {string.Join(' ', args)} on a terminal: exit {r.ExitCode}\n{r.Stdout}{r.Stderr}");
    }

    /// <summary>
    /// How to start the tool on a pseudo-terminal of its own: script(1), whose standard output is everything the terminal
    /// shows and whose end hangs the terminal up; null where script(1) is not installed.
    /// </summary>
    public static ProcessStartInfo? OnTerminal(string workingDirectory, params string[] args)
    {
        if (!File.Exists("/usr/bin/script")) return null;
        static string Quoted(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
        var info = new ProcessStartInfo("/usr/bin/script")
        {
            WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, StandardOutputEncoding = Encoding.UTF8, UseShellExecute = false,
        };
        foreach (var a in new[] { "-qec", string.Join(' ', new[] { "dotnet", ToolPath }.Concat(args).Select(Quoted)), "/dev/null" }) info.ArgumentList.Add(a);
        return info;
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
