using System.Diagnostics;
using System.Globalization;
using CharRnn.Cli.Arguments;
using CharRnn.Cli.Output;

namespace CharRnn.Cli.Commands;

/// <summary><c>charrnn prepare</c>: tokenize a corpus into its token store ahead of training (torch-rnn's preprocess step).</summary>
internal static class PrepareCommand
{
    public static readonly Option[] Options =
    [
        new("input", "PATH", "a UTF-8 file or a directory (its files in ordinal order of their relative paths); repeat for several, concatenated in order (required)") { Repeatable = true },
        new("lines", null, "the store of --lines training: every non-empty line framed by \\n (a line ends at \\n, \\r\\n or a lone \\r)"),
        new("replace-invalid", null, "replace invalid UTF-8 with U+FFFD instead of stopping"),
        new("verify", null, "before reusing a store, read the inputs again and compare their SHA-256 with the store's (catches edits that kept size and time)"),
        new("rebuild", null, "build the store again even if a valid one exists"),
        new("json", null, "print {\"event\":\"prepared\",\"store\":…,\"characters\":…,\"vocabulary\":…,\"bytes_per_token\":…,\"files\":…,\"input_bytes\":…,\"reused\":…,\"rebuild_reason\":…,\"text_hash\":…,\"seconds\":…}"),
    ];

    public static string HelpText => Help.For("charrnn prepare --input PATH [--input PATH …] [--lines] [--replace-invalid] [--verify] [--rebuild] [--json]",
        "Tokenizes the inputs into a token store, as train and eval do on first use, so that training starts at once: the\n" +
        "corpus is streamed twice (its characters, then their ids), in bounded memory, into a file of 1 byte a\n" +
        "character for up to 256 distinct characters, 2 for up to 65,536, else 4 (at most 1,048,576, the most a model\n" +
        "holds). The store goes beside the input (FILE.charrnn-tokens; FILE.<key>.charrnn-tokens for several inputs;\n" +
        ".lines.charrnn-tokens for --lines), or to $XDG_CACHE_HOME/charrnn/tokens (default ~/.cache/charrnn/tokens) when\n" +
        "that folder cannot be written. It is reused while every input keeps its size and last-write time, and rebuilt\n" +
        "when one changes or the store is damaged. A terminal shows progress on stderr; Ctrl+C (or SIGTERM, or\n" +
        "a hang-up) stops it, leaving no partial store.", Options, CorpusText.InputOrderHelp);

    public static int Run(ParsedArguments a)
    {
        var inputs = a.Strings("input");
        if (inputs.Count == 0) throw new UsageException("--input PATH is required");
        if (inputs.Contains(Inputs.StandardInput)) throw new UsageException("--input - cannot be prepared: standard input has no file to keep a token store beside");
        bool json = a.Has("json");
        var clock = Stopwatch.StartNew();
        using var corpus = CorpusText.Open(inputs, a.Has("lines"), a.Has("replace-invalid"), mb => TaskProgress.OnTerminal(json, "tokenizing", mb, "MB/s"),
            verify: a.Has("verify"), rebuild: a.Has("rebuild"));
        double seconds = clock.Elapsed.TotalSeconds;
        var prepared = corpus.Prepared!;
        var store = prepared.Store;
        long bytes = store.Inputs.Sum(i => i.Size);
        if (json)
            JsonLine.Write(w =>
            {
                w.WriteString("event", "prepared"); w.WriteString("store", store.Path); w.WriteNumber("characters", store.Length);
                w.WriteNumber("vocabulary", store.VocabularySize); w.WriteNumber("bytes_per_token", store.BytesPerToken); w.WriteNumber("files", store.Inputs.Count);
                w.WriteNumber("input_bytes", bytes); w.WriteBoolean("reused", prepared.Reused);
                if (prepared.RebuildReason is null) w.WriteNull("rebuild_reason"); else w.WriteString("rebuild_reason", prepared.RebuildReason);
                w.WriteString("text_hash", store.TextHash); w.WriteNumber("seconds", seconds);
            });
        else
        {
            if (prepared.RebuildReason is { } reason) Console.Error.WriteLine($"charrnn: rebuilding the token store: {reason}");
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{store.Path}: {store.Length:N0} characters, vocabulary {store.VocabularySize} ({store.BytesPerToken} byte(s) a character), from {store.Inputs.Count} file(s) of {bytes:N0} bytes; ") +
                (prepared.Reused ? "up to date, reused" : string.Create(CultureInfo.InvariantCulture, $"built in {seconds:F1} s ({bytes / 1e6 / Math.Max(seconds, 1e-9):F0} MB/s)")));
        }
        return 0;
    }
}
