using CharRnn.Fast.IO;

namespace CharRnn.Fast.Data;

/// <summary>The files a corpus is read from, in the order their texts are concatenated.</summary>
public static class CorpusFiles
{
    /// <summary>The extension of token store files; directory expansion never reads them as text.</summary>
    public const string StoreExtension = ".charrnn-tokens";

    /// <summary>
    /// Full paths of the files named by <paramref name="inputs"/>, in order: a file stands for itself; a directory
    /// for every regular file below it, recursively, sorted by relative path ('/'-separated) in ordinal (byte) order,
    /// skipping hidden entries (names starting with '.'), symbolic links, token stores (*.charrnn-tokens), model files
    /// (<see cref="SafetensorsReader.HasSafetensorsHeader"/>, whatever their name: a run's checkpoint saved into its
    /// corpus directory must not change the text its resume reads) and anything that is not a regular file (pipes,
    /// devices, sockets). An empty, missing or unreachable input (permission denied), a dangling link, a named input that
    /// is not a regular file or is a model file, a directory that cannot be listed or a directory without such files
    /// throws <see cref="TextInputException"/>.
    /// </summary>
    public static IReadOnlyList<string> Expand(IEnumerable<string> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var files = new List<string>();
        foreach (var input in inputs)
        {
            if (string.IsNullOrEmpty(input)) throw new TextInputException("an input path is empty");
            string full = Path.GetFullPath(input);
            if (IsDanglingLink(full)) throw new TextInputException($"cannot read '{input}': it is a symbolic link to nothing");
            if (File.Exists(full))
            {
                var kind = FileKinds.Of(full);
                if (kind != FileKind.Regular)
                    throw new TextInputException($"input '{input}' is {FileKinds.Describe(kind)}, not a regular file (a corpus is read twice, so pipes and devices cannot be used; --input - reads standard input)");
                if (SafetensorsReader.HasSafetensorsHeader(full)) throw new TextInputException($"input '{input}' is a model file (safetensors), not text");
                files.Add(full);
            }
            else if (Directory.Exists(full))
            {
                var found = new List<string>();
                Walk(new DirectoryInfo(full), input, found);
                if (found.Count == 0) throw new TextInputException($"input directory '{input}' has no text files (hidden files, links, {StoreExtension} files and model files are skipped)");
                int prefix = Path.TrimEndingDirectorySeparator(full).Length + 1;
                found.Sort((a, b) => string.CompareOrdinal(Relative(a, prefix), Relative(b, prefix)));
                files.AddRange(found);
            }
            else throw new TextInputException(Unreachable(input, full));
        }
        if (files.Count == 0) throw new TextInputException("no input files were given");
        return files;
    }

    private static bool IsDanglingLink(string path)
    {
        var link = new FileInfo(path);
        if (link.LinkTarget is null) return false;
        // /dev/fd/N and /dev/stdin on a pipe lead to "pipe:[…]", no path, yet reach the pipe (which is then refused as a FIFO)
        if (FileKinds.Reaches(path) is { } reaches) return !reaches;
        try { return link.ResolveLinkTarget(returnFinalTarget: true) is { Exists: false } target && !Directory.Exists(target.FullName); }
        catch (IOException) { return true; } // a loop of links
    }

    // File.Exists and Directory.Exists say false also for a path they may not look at (a folder on the way that cannot
    // be entered); reading its attributes tells the two apart.
    private static string Unreachable(string input, string full)
    {
        try { File.GetAttributes(full); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { return $"input '{input}' does not exist"; }
        catch (UnauthorizedAccessException) { return $"cannot read '{input}': permission denied (a folder on its path cannot be entered)"; }
        catch (IOException e) { return $"cannot read '{input}': {FileErrors.Reason(e, full)}"; }
        return $"input '{input}' does not exist";
    }

    private static string Relative(string path, int prefix) => path[prefix..].Replace(Path.DirectorySeparatorChar, '/');

    /// <summary>Adds the files below <paramref name="directory"/>; <paramref name="shown"/> is how messages name it (the input, then the path below it).</summary>
    private static void Walk(DirectoryInfo directory, string shown, List<string> found)
    {
        List<FileSystemInfo> entries;
        try { entries = directory.EnumerateFileSystemInfos().ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // FileErrors.Reason reads access denied on a directory as "opened a directory as a file"; here it is permission
            throw new TextInputException($"cannot list input directory '{shown}': {(e is UnauthorizedAccessException ? "permission denied" : FileErrors.Reason(e, directory.FullName))}");
        }
        foreach (var entry in entries)
        {
            if (entry.Name.StartsWith('.') || entry.Attributes.HasFlag(FileAttributes.ReparsePoint)) continue;
            if (entry is DirectoryInfo sub) Walk(sub, Path.Combine(shown, sub.Name), found);
            else if (!entry.Name.EndsWith(StoreExtension, StringComparison.Ordinal) && FileKinds.Of(entry.FullName) == FileKind.Regular
                && !SafetensorsReader.HasSafetensorsHeader(entry.FullName)) found.Add(entry.FullName);
        }
    }

    /// <summary>Size and last-write time of <paramref name="path"/> now (of the file a symbolic link leads to: the bytes read are its).</summary>
    internal static CorpusFileStamp Stamp(string path)
    {
        var info = new FileInfo(path);
        var target = info;
        try { if (info.LinkTarget is not null) target = info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info; }
        catch (IOException) { } // a loop of links: reading it fails with its own message
        if (!target.Exists) throw new TextInputException($"input file '{path}' does not exist");
        return new CorpusFileStamp(info.FullName, target.Length, target.LastWriteTimeUtc);
    }
}

/// <summary>What a token store is keyed by before any byte is read: a file's full path, size and last-write time.</summary>
internal readonly record struct CorpusFileStamp(string Path, long Size, DateTime LastWriteTimeUtc);
