using System.Text;
using CharRnn.Fast.IO;

namespace CharRnn.Cli.Commands;

/// <summary>
/// What an output option may replace: a file of the kind the command writes, never another (a corpus, a model given
/// to the wrong option), nor a run's training state with a model alone. The kind checks read only the file's first bytes,
/// so a large file costs nothing.
/// </summary>
internal static class ReplaceCheck
{
    /// <summary>Refuses (<see cref="CommandError"/>) when <paramref name="path"/> holds a non-empty file that is not a safetensors file.</summary>
    public static void OnlyModel(string path, string option)
    {
        if (Head(path, 1) is null) return; // nothing to keep
        if (!SafetensorsReader.HasSafetensorsHeader(path)) throw Refusal(path, "a model file", option);
    }

    /// <summary>
    /// Refuses (<see cref="CommandError"/>) when <paramref name="path"/> holds a checkpoint with a run's training state
    /// (its step, optimizer state and sampling RNG), which a write of a model alone would lose. Reads the whole file.
    /// </summary>
    public static void NoTrainingState(string path, string option)
    {
        IReadOnlyDictionary<string, string> metadata;
        try { metadata = SafetensorsReader.Read(SafetensorsWriter.ResolveTarget(path)).Metadata; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CheckpointFormatException) { return; } // missing, or no model to keep
        if (metadata.TryGetValue(CheckpointKeys.Step, out var step))
            throw new CommandError($"'{path}' holds a training run's checkpoint (step {step}), which {option} would replace with a model alone; choose another {option}, or remove the file if it may be replaced");
    }

    /// <summary>Refuses (<see cref="CommandError"/>) when <paramref name="path"/> holds a non-empty file that is not an SVG.</summary>
    public static void OnlySvg(string path, string option)
    {
        var head = Head(path, 512);
        if (head is null) return;
        if (!Encoding.UTF8.GetString(head).Contains("<svg", StringComparison.Ordinal))
            throw Refusal(path, "an SVG", option);
    }

    /// <summary>The error for an existing file at <paramref name="path"/> that is not <paramref name="kind"/> ("a model file").</summary>
    public static CommandError Refusal(string path, string kind, string option)
        => new($"'{path}' exists and is not {kind}; choose another {option}, or remove the file if it may be replaced");

    // the first bytes of an existing non-empty regular file (through symlinks), else null
    private static byte[]? Head(string path, int count)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target) info = target;
        if (!info.Exists || info.Length == 0) return null;
        try
        {
            using var stream = info.OpenRead();
            var head = new byte[Math.Min(count, info.Length)];
            stream.ReadExactly(head);
            return head;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; } // the write will say why
    }
}
