using System.Diagnostics;
using CharRnn.Fast.IO;
using Xunit;

namespace CharRnn.Fast.Tests.IO;

/// <summary>Where an atomic write lands: through symbolic links to their target, never over a directory, device or FIFO.</summary>
public sealed class SafetensorsTargetTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("charrnn-target-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);
    private string PathOf(string name) => Path.Combine(_dir, name);

    private static readonly Dictionary<string, string> NoMetadata = [];
    private static SafetensorsTensor Values(params float[] data) => new("w", [data.Length], data);

    [Fact]
    public void A_write_through_a_link_chain_replaces_the_final_target_and_keeps_the_links()
    {
        Directory.CreateDirectory(PathOf("real"));
        string target = PathOf("real/model.safetensors");
        SafetensorsWriter.Write(target, [Values(1)], NoMetadata);
        File.CreateSymbolicLink(PathOf("inner"), "real/model.safetensors"); // relative, as `ln -s` makes them
        File.CreateSymbolicLink(PathOf("outer"), PathOf("inner"));

        SafetensorsWriter.Write(PathOf("outer"), [Values(2, 3)], NoMetadata);

        Assert.Equal("real/model.safetensors", new FileInfo(PathOf("inner")).LinkTarget);
        Assert.Equal(PathOf("inner"), new FileInfo(PathOf("outer")).LinkTarget);
        Assert.Equal([2f, 3f], SafetensorsReader.Read(target).Get("w").Data);
        Assert.Equal(target, SafetensorsWriter.ResolveTarget(PathOf("outer")));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void A_dangling_link_gets_its_target_created()
    {
        Directory.CreateDirectory(PathOf("later"));
        File.CreateSymbolicLink(PathOf("link"), PathOf("later/new.safetensors"));
        SafetensorsWriter.Write(PathOf("link"), [Values(4)], NoMetadata);
        Assert.NotNull(new FileInfo(PathOf("link")).LinkTarget);
        Assert.Equal([4f], SafetensorsReader.Read(PathOf("later/new.safetensors")).Get("w").Data);
    }

    [Fact]
    public void Directories_devices_and_fifos_are_refused_and_left_alone()
    {
        Directory.CreateDirectory(PathOf("folder"));
        Assert.Contains("is a directory", Assert.Throws<IOException>(() => SafetensorsWriter.Write(PathOf("folder"), [Values(1)], NoMetadata)).Message);
        Assert.True(Directory.Exists(PathOf("folder")));

        if (!OperatingSystem.IsLinux()) return; // device nodes and FIFOs below are made with Linux tools
        if (DeviceNode(PathOf("null")) is { } device)
        {
            File.CreateSymbolicLink(PathOf("device-link"), device);
            var e = Assert.Throws<IOException>(() => SafetensorsWriter.Write(PathOf("device-link"), [Values(1)], NoMetadata));
            Assert.Contains($"'{device}', which is a character device", e.Message);
            Assert.NotNull(new FileInfo(PathOf("device-link")).LinkTarget);
            Assert.Contains("character device", Assert.Throws<IOException>(() => SafetensorsWriter.CheckWritable(device)).Message);
        }

        Assert.Equal(0, Tool("mkfifo", PathOf("pipe")));
        Assert.Contains("FIFO", Assert.Throws<IOException>(() => SafetensorsWriter.Write(PathOf("pipe"), [Values(1)], NoMetadata)).Message);
        Assert.Contains("FIFO", Assert.Throws<IOException>(() => SafetensorsWriter.CheckWritable(PathOf("pipe"))).Message);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void The_writability_check_names_the_folder_and_leaves_nothing_behind()
    {
        SafetensorsWriter.CheckWritable(PathOf("fine.safetensors"), bytes: 1 << 20);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));

        var missing = Assert.Throws<DirectoryNotFoundException>(() => SafetensorsWriter.CheckWritable(PathOf("no/such/x.safetensors")));
        Assert.Contains($"the folder '{PathOf("no/such")}' does not exist", missing.Message);
        File.WriteAllText(PathOf("plain.txt"), "text");
        Assert.Contains("is a file, not a folder", Assert.Throws<DirectoryNotFoundException>(() => SafetensorsWriter.CheckWritable(PathOf("plain.txt/x.safetensors"))).Message);
    }

    /// <summary>
    /// A character device to aim writes at. A test must never risk replacing a real one: as root (who could) it is a
    /// private null device made in the test folder; otherwise /dev/null, which only root can replace. Null when root
    /// may not make device nodes here.
    /// </summary>
    internal static string? DeviceNode(string path)
        => Environment.UserName != "root" ? "/dev/null" : Tool("mknod", "-m", "666", path, "c", "1", "3") == 0 ? path : null;

    private static int Tool(string name, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(name, args) { RedirectStandardError = true })!;
        process.WaitForExit();
        return process.ExitCode;
    }
}
