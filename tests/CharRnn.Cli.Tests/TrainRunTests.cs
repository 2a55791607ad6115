using System.Diagnostics;
using System.Text.Json;
using CharRnn.Fast.IO;
using Xunit;
using static CharRnn.Cli.Tests.CliRunner;

namespace CharRnn.Cli.Tests;

/// <summary>`charrnn train` end to end: where checkpoints go, what a resume accepts, what is reported, how it stops.</summary>
public sealed class TrainRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("charrnn-train-").FullName;
    private readonly string _text;
    private const string Small = "--hidden 24 --seq-len 10 --batch 2 --val-frac 0.1 --eval-every 20 --print-every 10";

    public TrainRunTests()
    {
        _text = Path.Combine(_dir, "input.txt");
        File.WriteAllText(_text, string.Concat(Enumerable.Repeat("the cat sat on the mat. the dog ate the log. ", 80)));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);
    private Result Charrnn(string args) => Run(_dir, args.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    private static void AssertOk(Result r)
        => Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\nstdout: {r.Stdout}\nstderr: {r.Stderr}");

    private static void AssertFailedBeforeTraining(Result r, params string[] messages)
    {
        Assert.Equal(1, r.ExitCode);
        foreach (var m in messages) Assert.Contains(m, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.DoesNotContain("\nstep ", "\n" + r.Stderr); // not one progress line: nothing was trained
    }

    // ---- checkpoint targets (issue 9, items 1 and 3)

    [Fact]
    public void An_unwritable_checkpoint_fails_before_the_first_step()
    {
        AssertFailedBeforeTraining(Charrnn($"train --input {_text} {Small} --steps 300 --checkpoint no/such/dir/m.safetensors"),
            "cannot write checkpoint 'no/such/dir/m.safetensors'", $"the folder '{PathOf("no/such/dir")}' does not exist");
        AssertFailedBeforeTraining(Charrnn($"train --input {_text} {Small} --steps 300 --checkpoint input.txt/m.safetensors"),
            "cannot write checkpoint 'input.txt/m.safetensors'", "is a file, not a folder");
        if (!OperatingSystem.IsWindows() && Environment.UserName != "root") // root writes into read-only folders
        {
            Directory.CreateDirectory(PathOf("locked"));
            File.SetUnixFileMode(PathOf("locked"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
            AssertFailedBeforeTraining(Charrnn($"train --input {_text} {Small} --steps 300 --checkpoint locked/m.safetensors"),
                "cannot write checkpoint 'locked/m.safetensors'", "no permission");
        }
    }

    [Fact]
    public void A_checkpoint_through_a_symlink_replaces_the_target_and_keeps_the_link()
    {
        Directory.CreateDirectory(PathOf("runs"));
        File.CreateSymbolicLink(PathOf("latest.safetensors"), "runs/first.safetensors");
        AssertOk(Charrnn($"train --input {_text} {Small} --steps 20 --checkpoint latest.safetensors"));
        Assert.Equal("runs/first.safetensors", new FileInfo(PathOf("latest.safetensors")).LinkTarget);
        Assert.Equal(20, Checkpoint.Load(PathOf("runs/first.safetensors")).Training!.Step);

        AssertOk(Charrnn("train --resume latest.safetensors --steps 30 --checkpoint latest.safetensors"));
        Assert.Equal("runs/first.safetensors", new FileInfo(PathOf("latest.safetensors")).LinkTarget);
        Assert.Equal(30, Checkpoint.Load(PathOf("runs/first.safetensors")).Training!.Step);
        Assert.Equal(["first.safetensors"], Directory.GetFiles(PathOf("runs")).Select(Path.GetFileName));
    }

    [Fact]
    public void A_checkpoint_path_that_is_not_a_regular_file_is_refused()
    {
        Directory.CreateDirectory(PathOf("folder"));
        AssertFailedBeforeTraining(Charrnn($"train --input {_text} {Small} --steps 300 --checkpoint folder"),
            "cannot write checkpoint 'folder'", "is a directory, not a regular file");
        Assert.True(Directory.Exists(PathOf("folder")));
        if (!OperatingSystem.IsLinux()) return;

        // as root a private null device (a test must never risk replacing /dev/null), otherwise /dev/null itself
        string device = Environment.UserName == "root" ? PathOf("null") : "/dev/null";
        if (device != "/dev/null")
        {
            using var mknod = Process.Start("mknod", ["-m", "666", device, "c", "1", "3"])!;
            mknod.WaitForExit();
            if (mknod.ExitCode != 0) return; // a container that may not make device nodes
        }
        File.CreateSymbolicLink(PathOf("device-link"), device);
        AssertFailedBeforeTraining(Charrnn($"train --input {_text} {Small} --steps 300 --checkpoint device-link"),
            "cannot write checkpoint 'device-link'", $"links to '{device}', which is a character device, not a regular file");
        Assert.NotNull(new FileInfo(PathOf("device-link")).LinkTarget);
        Assert.Equal(0, new FileInfo(device).Length);
    }

    // ---- checkpoint metadata (item 13)

    /// <summary>A checkpoint of a short run, rewritten with one metadata entry changed.</summary>
    private void CheckpointWith(string name, string key, string value)
    {
        AssertOk(Charrnn($"train --input {_text} {Small} --steps 5 --checkpoint {name}"));
        var file = SafetensorsReader.Read(PathOf(name));
        var metadata = file.Metadata.ToDictionary();
        metadata[key] = value;
        SafetensorsWriter.Write(PathOf(name), file.Tensors, metadata);
    }

    [Theory]
    [InlineData("cli.val_frac", "abc")]
    [InlineData("cli.val_frac", "0.9")]
    [InlineData("rng_state", "0123")]
    [InlineData("lr_decay_every", "4294967297")]
    public void A_corrupt_number_in_checkpoint_metadata_is_bad_input_naming_key_and_file(string key, string value)
    {
        CheckpointWith("bad.safetensors", key, value);
        var r = Charrnn("train --resume bad.safetensors --steps 10");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("'bad.safetensors'", r.Stderr);
        Assert.Contains($"\"{key}\"", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }
}
