namespace CharRnn.Fast.IO;

/// <summary>
/// Whether two paths name one file, as a command that writes one file from another must know. Comparing paths misses
/// a symbolic link anywhere along one of them (a linked file, or a linked directory: <c>here/m.safetensors</c> with
/// <c>here → .</c>), so on Linux the file's inode and device decide (statx follows every link); elsewhere, the paths once
/// a link at their end is followed.
/// </summary>
public static class FileIdentity
{
    public static bool Same(string a, string b)
    {
        if (FileKinds.Identity(a) is { } x && FileKinds.Identity(b) is { } y) return x == y;
        return Target(a) is { } t && t == Target(b);
    }

    /// <summary>
    /// The full path a write to <paramref name="path"/> replaces (<see cref="SafetensorsWriter.ResolveTarget"/>), or null
    /// where none could be (a directory, a device: the write then says why).
    /// </summary>
    public static string? Target(string path)
    {
        try { return SafetensorsWriter.ResolveTarget(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}
