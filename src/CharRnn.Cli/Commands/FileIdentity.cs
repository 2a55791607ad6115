using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using CharRnn.Fast.IO;

namespace CharRnn.Cli.Commands;

/// <summary>
/// Whether two paths name one file. Comparing paths misses a symbolic link anywhere along one of them (a linked file,
/// or a linked directory: <c>here/m.safetensors</c> with <c>here → .</c>), so on Linux the file's device and inode
/// number decide (statx follows every link); elsewhere, the paths once a link at their end is followed.
/// </summary>
internal static partial class FileIdentity
{
    public static bool Same(string a, string b)
    {
        if (OperatingSystem.IsLinux() && Of(a) is { } x && Of(b) is { } y) return x == y;
        return Target(a) is { } t && t == Target(b);
    }

    /// <summary>The full path a write to <paramref name="path"/> replaces, or null where none could be (a directory: the command then says why).</summary>
    public static string? Target(string path)
    {
        try { return SafetensorsWriter.ResolveTarget(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    // struct statx: stx_ino is a u64 at byte 32, stx_dev_major and stx_dev_minor u32s at bytes 136 and 140
    private const int AtCurrentDirectory = -100, StatxInode = 0x100, StatxSize = 256, InodeOffset = 32, DeviceOffset = 136;

    [SupportedOSPlatform("linux")]
    private static unsafe (ulong Inode, ulong Device)? Of(string path)
    {
        byte* buffer = stackalloc byte[StatxSize];
        try
        {
            if (Statx(AtCurrentDirectory, path, 0, StatxInode, buffer) != 0) return null; // missing (or unreadable): no file to be the same
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
        return (*(ulong*)(buffer + InodeOffset), *(ulong*)(buffer + DeviceOffset));
    }

    [SupportedOSPlatform("linux")]
    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int directory, string path, int flags, uint mask, byte* result);
}
