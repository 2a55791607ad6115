using System.Buffers.Binary;
using System.Text;

namespace CharRnn.Cli.Commands;

/// <summary>
/// What an output option may replace: a file of the kind the command writes, never another (a corpus, a model given
/// to the wrong option). Each check reads only the file's first bytes, so a large file costs nothing.
/// </summary>
internal static class ReplaceCheck
{
    /// <summary>Refuses (<see cref="CommandError"/>) when <paramref name="path"/> holds a non-empty file that is not a safetensors file.</summary>
    public static void OnlyModel(string path, string option)
    {
        var head = Head(path, 9, out long length);
        if (head is null) return;
        // safetensors: an 8-byte little-endian header length, then the JSON header
        bool model = head.Length == 9 && head[8] == (byte)'{' && BinaryPrimitives.ReadUInt64LittleEndian(head) is var n && n >= 2 && n <= (ulong)(length - 8);
        if (!model) throw Refusal(path, "a model file", option);
    }

    /// <summary>Refuses (<see cref="CommandError"/>) when <paramref name="path"/> holds a non-empty file that is not an SVG.</summary>
    public static void OnlySvg(string path, string option)
    {
        var head = Head(path, 512, out _);
        if (head is null) return;
        if (!Encoding.UTF8.GetString(head).Contains("<svg", StringComparison.Ordinal))
            throw Refusal(path, "an SVG", option);
    }

    /// <summary>The error for an existing file at <paramref name="path"/> that is not <paramref name="kind"/> ("a model file").</summary>
    public static CommandError Refusal(string path, string kind, string option)
        => new($"'{path}' exists and is not {kind}; choose another {option}, or remove the file if it may be replaced");

    // the first bytes of an existing non-empty regular file (through symlinks), else null
    private static byte[]? Head(string path, int count, out long length)
    {
        length = 0;
        var info = new FileInfo(path);
        if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target) info = target;
        if (!info.Exists || info.Length == 0) return null;
        length = info.Length;
        try
        {
            using var stream = info.OpenRead();
            var head = new byte[Math.Min(count, length)];
            stream.ReadExactly(head);
            return head;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; } // the write will say why
    }
}
