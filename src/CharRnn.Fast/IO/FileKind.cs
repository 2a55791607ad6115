using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace CharRnn.Fast.IO;

/// <summary>What a path names, following symbolic links.</summary>
internal enum FileKind
{
    Missing,
    Regular,
    Directory,
    CharacterDevice,
    BlockDevice,
    Fifo,
    Socket,
}

/// <summary>
/// The kind of file at a path. .NET reports devices, FIFOs and sockets as ordinary files, so on Linux the type bits
/// come from statx (whose result layout, unlike stat's, is the same on every architecture); elsewhere, or where the C
/// library lacks statx, only directories are told apart.
/// </summary>
internal static partial class FileKinds
{
    public static FileKind Of(string path)
    {
        if (Directory.Exists(path)) return FileKind.Directory;
        if (!File.Exists(path)) return FileKind.Missing;
        return OperatingSystem.IsLinux() && TypeBits(path) is { } mode ? FromMode(mode) : FileKind.Regular;
    }

    /// <summary>
    /// Whether following the links of <paramref name="path"/> reaches a file (statx on Linux), or null where that cannot
    /// be asked. Unlike resolving the link's text, this also holds for /dev/fd/N and /dev/stdin on a pipe, whose target
    /// ("pipe:[…]") is no path.
    /// </summary>
    public static bool? Reaches(string path) => OperatingSystem.IsLinux() && HasStatx ? TypeBits(path) is not null : null;

    /// <summary>"a character device", "a FIFO" …, for messages.</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a directory",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Fifo => "a FIFO (named pipe)",
        FileKind.Socket => "a socket",
        _ => "missing",
    };

    // st_mode's file-type field (S_IFMT) and its values
    private const int TypeMask = 0xF000, DirectoryBits = 0x4000, CharacterBits = 0x2000, BlockBits = 0x6000,
        FifoBits = 0x1000, SocketBits = 0xC000;

    private static FileKind FromMode(int mode) => (mode & TypeMask) switch
    {
        DirectoryBits => FileKind.Directory,
        CharacterBits => FileKind.CharacterDevice,
        BlockBits => FileKind.BlockDevice,
        FifoBits => FileKind.Fifo,
        SocketBits => FileKind.Socket,
        _ => FileKind.Regular, // statx follows links, so the rest is S_IFREG
    };

    // struct statx: stx_mode is a u16 at byte 28, stx_ino a u64 at byte 32, stx_dev_major and stx_dev_minor u32s at 136
    private const int AtCurrentDirectory = -100, StatxType = 0x1, StatxInode = 0x100, StatxSize = 256, ModeOffset = 28,
        InodeOffset = 32, DeviceOffset = 136;

    [SupportedOSPlatform("linux")]
    private static bool HasStatx => s_hasStatx ??= TypeBits("/") is not null;
    private static bool? s_hasStatx;

    [SupportedOSPlatform("linux")]
    private static unsafe int? TypeBits(string path)
    {
        byte* buffer = stackalloc byte[StatxSize];
        return Stat(path, StatxType, buffer) ? *(ushort*)(buffer + ModeOffset) : null;
    }

    /// <summary>
    /// The file <paramref name="path"/> reaches through every link, as its inode number and device (statx), or null
    /// where there is none (missing, unreadable) or the C library cannot tell (not Linux, no statx).
    /// </summary>
    public static unsafe (ulong Inode, ulong Device)? Identity(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        byte* buffer = stackalloc byte[StatxSize];
        return Stat(path, StatxInode, buffer) ? (*(ulong*)(buffer + InodeOffset), *(ulong*)(buffer + DeviceOffset)) : null;
    }

    [SupportedOSPlatform("linux")]
    private static unsafe bool Stat(string path, uint mask, byte* buffer)
    {
        try { return Statx(AtCurrentDirectory, path, 0, mask, buffer) == 0; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }

    [SupportedOSPlatform("linux")]
    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int directory, string path, int flags, uint mask, byte* result);
}
