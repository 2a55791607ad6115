using System.Diagnostics;
using System.Text;
using Xunit;
using static CharRnn.Cli.Tests.CliRunner;

namespace CharRnn.Cli.Tests;

/// <summary>
/// Inputs that go wrong outside the text itself: an empty path, a pipe named by path, standard input closed or cut
/// short by Ctrl+C, a build stopped by a signal, folders that cannot be entered.
/// </summary>
public sealed class CorpusInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("charrnn-inputs-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    /// <summary>Where the tool puts standard input's temporary folder (TMPDIR), empty before each run.</summary>
    private string TemporaryFolder => Directory.CreateDirectory(PathOf("tmp")).FullName;

    private static void AssertOneLineError(Result r, int exitCode, string message)
    {
        Assert.True(r.ExitCode == exitCode, $"exit {r.ExitCode}\nstdout: {r.Stdout}\nstderr: {r.Stderr}");
        Assert.StartsWith($"charrnn: error: {message}", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Theory]
    [InlineData("prepare")]
    [InlineData("train")]
    public void An_empty_input_path_is_a_usage_error(string command)
    {
        var r = Run(_dir, command, "--input", "");
        AssertOneLineError(r, 2, "--input needs a path; an empty one was given\n");
    }

    [Fact]
    public async Task A_pipe_named_through_dev_stdin_gets_the_pipe_refusal()
    {
        foreach (var path in new[] { "/dev/stdin", "/proc/self/fd/0" })
        {
            var info = StartInfo(_dir, "prepare", "--input", path);
            info.RedirectStandardInput = true; // a pipe
            using var process = Process.Start(info)!;
            var stderr = process.StandardError.ReadToEndAsync();
            process.StandardInput.Write("some text\n");
            process.StandardInput.Close();
            Assert.True(process.WaitForExit(60_000));
            string error = await stderr;
            AssertOneLineError(new Result(process.ExitCode, await process.StandardOutput.ReadToEndAsync(), error), 1, $"input '{path}' is a FIFO (named pipe), not a regular file");
            Assert.Contains("--input - reads standard input", error);
        }
    }

    [Fact]
    public async Task Standard_input_closed_is_an_error_not_a_wait()
    {
        // exec with descriptor 0 closed, as `charrnn train --input - <&-` does
        var info = new ProcessStartInfo("/bin/sh") { WorkingDirectory = _dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec dotnet \"$0\" train --input - --steps 1 <&-");
        info.ArgumentList.Add(ToolPath);
        info.Environment["TMPDIR"] = TemporaryFolder;
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill();
            Assert.Fail("charrnn waited on a closed standard input");
        }
        AssertOneLineError(new Result(process.ExitCode, "", await stderr), 1, "standard input is closed");
        Assert.Empty(Directory.GetFileSystemEntries(TemporaryFolder));
    }

    [Fact]
    public async Task Ctrl_c_while_standard_input_is_copied_removes_the_copy()
    {
        var info = StartInfo(_dir, "train", "--input", "-", "--steps", "1");
        info.RedirectStandardInput = true;
        info.Environment["TMPDIR"] = TemporaryFolder;
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write("the first part of a text that never ends\n");
        process.StandardInput.Flush(); // and the pipe stays open: the copy waits for more
        var clock = Stopwatch.StartNew();
        while (!Directory.EnumerateFiles(TemporaryFolder, "stdin.txt", SearchOption.AllDirectories).Any())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(60)) process.Kill();
            Assert.False(process.HasExited, "standard input's copy never appeared");
            Thread.Sleep(10);
        }
        Interrupt(process);
        Assert.True(process.WaitForExit(60_000));
        Assert.Equal(130, process.ExitCode);
        Assert.Equal("charrnn: stopped while reading standard input; its temporary files were removed\n", await stderr);
        Assert.Empty(Directory.GetFileSystemEntries(TemporaryFolder));
    }

    [Fact]
    public async Task A_signal_while_the_store_is_written_removes_its_temporary_file()
    {
        // large enough that the encoding pass takes a while even on a fast machine
        var line = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog; ", 20)) + "\n");
        using (var file = File.Create(PathOf("big.txt")))
            for (long written = 0; written < 64 << 20; written += line.Length) file.Write(line);

        foreach (var signal in new[] { 2, 15, 1 }) // SIGINT, SIGTERM, SIGHUP
        {
            using var process = Process.Start(StartInfo(_dir, "prepare", "--input", "big.txt", "--rebuild"))!;
            var stderr = process.StandardError.ReadToEndAsync();
            while (!Directory.EnumerateFiles(_dir, ".big.txt.charrnn-tokens.*.tmp").Any())
            {
                Assert.False(process.HasExited, "prepare finished before its temporary file was seen: make big.txt larger");
                Thread.Sleep(2);
            }
            if (signal == 2) Interrupt(process);
            else Assert.Equal(0, Kill(process.Id, signal));
            Assert.True(process.WaitForExit(60_000));
            Assert.Equal(130, process.ExitCode);
            Assert.Equal("charrnn: stopped while reading 'big.txt'; its temporary files were removed\n", await stderr);
            Assert.Equal(["big.txt"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Where(n => n != "tmp"));
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    [Fact]
    public async Task Permission_problems_are_reported_as_such()
    {
        if (!OperatingSystem.IsLinux()) return;
        // root reads anything: run the tool as nobody then (where setpriv is installed)
        bool root = Environment.UserName == "root";
        Assert.True(!root || File.Exists("/usr/bin/setpriv"), "as root this test runs the tool as nobody, with setpriv (util-linux)");
        File.SetUnixFileMode(_dir, (UnixFileMode)0b111_101_101);
        Directory.CreateDirectory(PathOf("home"));
        File.SetUnixFileMode(PathOf("home"), (UnixFileMode)0b111_111_111);
        foreach (var d in new[] { "books/sub", "locked" }) Directory.CreateDirectory(PathOf(d));
        foreach (var f in new[] { "books/a.txt", "books/sub/b.txt", "locked/x.txt" }) File.WriteAllText(PathOf(f), "abc\n");
        File.SetUnixFileMode(PathOf("books/sub"), UnixFileMode.None);
        File.SetUnixFileMode(PathOf("locked"), UnixFileMode.None);
        try
        {
            async Task<Result> Prepare(string input)
            {
                var info = root ? new ProcessStartInfo("/usr/bin/setpriv") : new ProcessStartInfo("dotnet");
                if (root)
                    foreach (var a in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "env", $"HOME={PathOf("home")}", $"DOTNET_CLI_HOME={PathOf("home")}", "dotnet" })
                        info.ArgumentList.Add(a);
                foreach (var a in new[] { ToolPath, "prepare", "--input", input }) info.ArgumentList.Add(a);
                (info.WorkingDirectory, info.RedirectStandardOutput, info.RedirectStandardError, info.UseShellExecute) = (_dir, true, true, false);
                using var process = Process.Start(info)!;
                var stdout = process.StandardOutput.ReadToEndAsync();
                var stderr = process.StandardError.ReadToEndAsync();
                Assert.True(process.WaitForExit(60_000));
                return new Result(process.ExitCode, await stdout, await stderr);
            }
            AssertOneLineError(await Prepare("books"), 1, "cannot list input directory 'books/sub': permission denied\n");
            AssertOneLineError(await Prepare("locked"), 1, "cannot list input directory 'locked': permission denied\n");
            AssertOneLineError(await Prepare("locked/x.txt"), 1, "cannot read 'locked/x.txt': permission denied (a folder on its path cannot be entered)\n");
        }
        finally
        {
            File.SetUnixFileMode(PathOf("books/sub"), (UnixFileMode)0b111_101_101);
            File.SetUnixFileMode(PathOf("locked"), (UnixFileMode)0b111_101_101);
        }
    }
}
