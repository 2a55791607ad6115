using System.Reflection;
using System.Text;
using CharRnn.Fast.IO;
using CharRnn.Fast.Text;

namespace CharRnn.Cli.Commands;

/// <summary>Reading what commands consume: model files, the embedded default corpus (texts: <see cref="CorpusText"/>).</summary>
internal static class Inputs
{
    /// <summary>Loads a model or checkpoint, turning every file problem into a <see cref="CommandError"/>.</summary>
    public static LoadedCheckpoint LoadModel(string path)
    {
        if (Directory.Exists(path)) throw new CommandError($"'{path}' is a directory, not a model file");
        try { return Checkpoint.Load(path); }
        catch (FileNotFoundException) { throw new CommandError($"model file '{path}' does not exist"); }
        catch (CheckpointFormatException e)
        {
            // the loader names its source, the path, first; the error names it once
            string reason = e.Message.StartsWith(path + ": ", StringComparison.Ordinal) ? e.Message[(path.Length + 2)..] : e.Message;
            throw new CommandError($"'{path}' is not a valid model file: {reason}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CommandError($"cannot read '{path}': {e.Message}"); }
    }

    /// <summary>The path that means standard input (<c>--input -</c>).</summary>
    public const string StandardInput = "-";

    /// <summary>How messages name an input: "standard input", or the path in quotes.</summary>
    public static string NameOf(string path) => path == StandardInput ? "standard input" : $"'{path}'";

    /// <summary>
    /// A lines corpus as the token stream sequence models train on: every non-empty line framed by the boundary
    /// <c>\n</c> ("\nanna\nbob\n"); <c>\n</c>, <c>\r\n</c> and a lone <c>\r</c> each end a line.
    /// </summary>
    public static string FrameLines(string text)
    {
        var lines = text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries); // "\r\n" leaves an empty line between, skipped
        if (lines.Length == 0) throw new CommandError("the input has no non-empty lines");
        return "\n" + string.Join('\n', lines) + "\n";
    }

    /// <summary>Token ids of <paramref name="text"/> in <paramref name="vocabulary"/>; unknown characters are an error naming them.</summary>
    public static int[] Encode(Vocabulary vocabulary, string text, string what)
    {
        try { return vocabulary.Encode(text); }
        catch (UnknownCharactersException e) { throw new CommandError($"{what}: {e.Message}"); }
    }

    /// <summary>
    /// The embedded default corpus: this project's README, then its source files in name order (so the validation tail
    /// is source code like most of the training text).
    /// </summary>
    public static string DefaultCorpus()
    {
        var assembly = Assembly.GetExecutingAssembly();
        var sb = new StringBuilder();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("corpus/", StringComparison.Ordinal))
                     .OrderBy(n => n != "corpus/README.md").ThenBy(n => n, StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream, Encoding.UTF8);
            sb.Append(reader.ReadToEnd().Replace("\r", "", StringComparison.Ordinal)).Append('\n');
        }
        return sb.ToString();
    }
}
