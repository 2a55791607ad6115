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
    /// skipping hidden entries (names starting with '.'), symbolic links, token stores (*.charrnn-tokens) and anything
    /// that is not a regular file (pipes, devices, sockets). A missing input, a dangling link, a named input that is not
    /// a regular file or a directory without such files throws <see cref="TextInputException"/>.
    /// </summary>
    public static IReadOnlyList<string> Expand(IEnumerable<string> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var files = new List<string>();
        foreach (var input in inputs)
        {
            string full = Path.GetFullPath(input);
            if (IsDanglingLink(full)) throw new TextInputException($"cannot read '{input}': it is a symbolic link to nothing");
            if (File.Exists(full))
            {
                var kind = FileKinds.Of(full);
                if (kind != FileKind.Regular)
                    throw new TextInputException($"input '{input}' is {FileKinds.Describe(kind)}, not a regular file (a corpus is read twice, so pipes and devices cannot be used; --input - reads standard input)");
                files.Add(full);
            }
            else if (Directory.Exists(full))
            {
                var found = new List<string>();
                try { Walk(new DirectoryInfo(full), found); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new TextInputException($"cannot list input directory '{input}': {FileErrors.Reason(e, full)}"); }
                if (found.Count == 0) throw new TextInputException($"input directory '{input}' has no text files (hidden files, links and {StoreExtension} files are skipped)");
                int prefix = Path.TrimEndingDirectorySeparator(full).Length + 1;
                found.Sort((a, b) => string.CompareOrdinal(Relative(a, prefix), Relative(b, prefix)));
                files.AddRange(found);
            }
            else throw new TextInputException($"input '{input}' does not exist");
        }
        if (files.Count == 0) throw new TextInputException("no input files were given");
        return files;
    }

    private static bool IsDanglingLink(string path)
    {
        var link = new FileInfo(path);
        if (link.LinkTarget is null) return false;
        try { return link.ResolveLinkTarget(returnFinalTarget: true) is { Exists: false } target && !Directory.Exists(target.FullName); }
        catch (IOException) { return true; } // a loop of links
    }

    private static string Relative(string path, int prefix) => path[prefix..].Replace(Path.DirectorySeparatorChar, '/');

    private static void Walk(DirectoryInfo directory, List<string> found)
    {
        foreach (var entry in directory.EnumerateFileSystemInfos())
        {
            if (entry.Name.StartsWith('.') || entry.Attributes.HasFlag(FileAttributes.ReparsePoint)) continue;
            if (entry is DirectoryInfo sub) Walk(sub, found);
            else if (!entry.Name.EndsWith(StoreExtension, StringComparison.Ordinal) && FileKinds.Of(entry.FullName) == FileKind.Regular) found.Add(entry.FullName);
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
