using System.Runtime.InteropServices;
using CharRnn.Cli.Output;
using CharRnn.Fast.Data;
using CharRnn.Fast.IO;
using CharRnn.Fast.Text;

namespace CharRnn.Cli.Commands;

/// <summary>
/// The text a command trains on or evaluates, as tokens in the text's own vocabulary, never as one string: files and
/// directories through their token store (reused while they are unchanged, else built: <see cref="TokenStoreCache"/>),
/// standard input copied to a temporary file and tokenized into a temporary store (both deleted once the store is
/// opened), the embedded default corpus (small) in memory.
/// </summary>
internal sealed partial class CorpusText : IDisposable
{
    private readonly PreparedCorpus? _prepared;

    private CorpusText(ITokenSource tokens, Vocabulary vocabulary, string textHash, string name, PreparedCorpus? prepared, string? store)
        => (Tokens, Vocabulary, TextHash, Name, _prepared, StorePath) = (tokens, vocabulary, textHash, name, prepared, store);

    /// <summary>The order in which inputs are read (<see cref="CorpusFiles.Expand"/>), for the --help of every command that reads a corpus.</summary>
    public const string InputOrderHelp =
        "Inputs: a directory stands for the regular files below it, in ordinal (byte) order of their relative paths,\n" +
        "skipping hidden entries, symbolic links, *.charrnn-tokens files and model files (a checkpoint saved there);\n" +
        "several inputs are concatenated in the order given, nothing between them (in lines mode each file ends a line).";

    /// <summary>The tokens, ids in <see cref="Vocabulary"/>.</summary>
    public ITokenSource Tokens { get; }

    /// <summary>The text's own vocabulary (its distinct characters).</summary>
    public Vocabulary Vocabulary { get; }

    /// <summary>The text's <see cref="TextFingerprint"/> (checkpoints' <c>text_hash</c>), after framing.</summary>
    public string TextHash { get; }

    /// <summary>How messages name the text: "the embedded corpus", "standard input", "'a.txt'", "'a.txt' and 2 more inputs".</summary>
    public string Name { get; }

    /// <summary>The token store kept for the inputs, or null (embedded corpus, standard input).</summary>
    public string? StorePath { get; }

    /// <summary>The token store (the inputs' own, or standard input's temporary one), or null for the embedded corpus.</summary>
    public PreparedCorpus? Prepared => _prepared;

    /// <summary>Why an existing store was not used (it was rebuilt), or null.</summary>
    public string? RebuildReason => _prepared?.RebuildReason;

    public long Length => Tokens.Length;

    /// <summary>
    /// The tokens in <paramref name="vocabulary"/> (a model's, which must hold every character of the text);
    /// otherwise a <see cref="CommandError"/> starting with <paramref name="what"/>.
    /// </summary>
    public ITokenSource In(Vocabulary vocabulary, string what)
    {
        try { return VocabularyMappedSource.Map(Tokens, Vocabulary, vocabulary); }
        catch (UnknownCharactersException e) { throw new CommandError($"{what}: {e.Message}"); }
    }

    /// <summary>
    /// Opens the text of <paramref name="inputs"/>: files and directories (in the order given, a directory's files in
    /// <see cref="CorpusFiles.Expand"/>'s order), or <c>-</c> alone for standard input, or none for the embedded corpus;
    /// <paramref name="lines"/> frames every non-empty line. <paramref name="progress"/> makes the live line of a
    /// tokenization (null: none). Problems are <see cref="CommandError"/>s (exit 1), or <see cref="Arguments.UsageException"/>
    /// for <c>-</c> among other inputs or an empty path. Ctrl+C, SIGTERM or a hang-up meanwhile throws <see cref="StoppedException"/>
    /// once the temporary files are removed.
    /// </summary>
    public static CorpusText Open(IReadOnlyList<string> inputs, bool lines, bool replaceInvalid, Func<double, TaskProgress?>? progress = null, bool verify = false, bool rebuild = false)
    {
        if (inputs.Count == 0) return Embedded(lines);
        if (inputs.Any(string.IsNullOrEmpty)) throw new Arguments.UsageException("--input needs a path; an empty one was given");
        bool standardInput = inputs.Contains(Inputs.StandardInput);
        if (standardInput && inputs.Count > 1) throw new Arguments.UsageException("--input - (standard input) cannot be combined with other inputs");
        string name = standardInput ? "standard input" : inputs.Count == 1 ? $"'{inputs[0]}'" : $"'{inputs[0]}' and {inputs.Count - 1} more input(s)";

        // Without a handler the signal would end the process at once, leaving a partial store (as large as the store)
        // and standard input's copy behind. With one, a store being built stops at its next chunk and deletes its
        // temporary file, and standard input's folder is deleted, before the command exits with 130.
        using var stop = new StopRequest(StopWhileCopying, DeleteStandardInputFolder);
        try
        {
            var corpus = standardInput ? StandardInput(lines, replaceInvalid, progress, stop.Token) : Files(inputs, name, lines, replaceInvalid, progress, verify, rebuild, stop.Token);
            if (!stop.IsRequested) return corpus;
            corpus.Dispose(); // the signal came once the store was ready (while a reused one was checked, say)
        }
        catch (OperationCanceledException) when (stop.IsRequested) { }
        throw new StoppedException($"stopped while reading {name}; its temporary files were removed");
    }

    private static CorpusText Files(IReadOnlyList<string> inputs, string name, bool lines, bool replaceInvalid, Func<double, TaskProgress?>? progress, bool verify, bool rebuild, CancellationToken cancellation)
    {
        long bytes;
        try { bytes = CorpusFiles.Expand(inputs).Sum(f => new FileInfo(f).Length); }
        catch (TextInputException e) { throw new CommandError(e.Message); }
        var options = new CorpusOptions { Lines = lines, ReplaceInvalid = replaceInvalid, VerifyContent = verify, Rebuild = rebuild, Cancellation = cancellation };
        var prepared = Prepare(inputs, options, progress?.Invoke(bytes / 1e6), rename: null);
        return new CorpusText(prepared.Store, prepared.Store.Vocabulary, prepared.Store.TextHash, name, prepared, prepared.Store.Path);
    }

    private static PreparedCorpus Prepare(IReadOnlyList<string> inputs, CorpusOptions options, TaskProgress? progress, Func<string, string>? rename)
    {
        try { return TokenStoreCache.Prepare(inputs, options with { Progress = progress is null ? null : progress.Report }); }
        catch (TextInputException e) { throw new CommandError(rename?.Invoke(e.Message) ?? e.Message); }
        catch (TokenStoreFormatException e) { throw new CommandError(e.Message); }
        catch (IOException e) { throw new CommandError(rename?.Invoke(e.Message) ?? e.Message); }
        finally { progress?.Finish(); }
    }

    private static CorpusText Embedded(bool lines)
    {
        string text = Inputs.DefaultCorpus();
        if (lines) text = Inputs.FrameLines(text);
        var vocabulary = Vocabulary.FromText(text);
        return new CorpusText(new ArrayTokenSource(vocabulary.Encode(text), vocabulary.Count), vocabulary, TextFingerprint.Of(text), "the embedded corpus", null, null);
    }

    // Standard input's temporary folder while it exists, and whether standard input is being copied into it: a signal
    // then deletes the folder and ends the process, as the copy may be waiting on a read that nothing can cut short.
    private static volatile string? s_standardInputFolder;
    private static volatile bool s_copying;
    private static int s_stopTaken; // 1 once the handler or the copying thread has taken charge of a stop during the copy

    private static void StopWhileCopying()
    {
        if (!s_copying) return; // tokenizing: the build stops at its next chunk
        if (Interlocked.Exchange(ref s_stopTaken, 1) != 0) return; // the copying thread saw the cancellation first and reports it
        DeleteStandardInputFolder();
        Console.Error.WriteLine("charrnn: stopped while reading standard input; its temporary files were removed");
        Environment.Exit(StopRequest.ExitCode);
    }

    private static void DeleteStandardInputFolder()
    {
        if (s_standardInputFolder is { } folder) DeleteFolder(folder);
    }

    private static void DeleteFolder(string folder)
    {
        try { Directory.Delete(folder, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // a temporary folder: the system cleans it
    }

    /// <summary>
    /// Standard input can be read once only, and a store is made in two passes: it is copied to a temporary file in
    /// $TMPDIR first. The file and its store are deleted as soon as the store is open (the open file keeps its data).
    /// </summary>
    private static CorpusText StandardInput(bool lines, bool replaceInvalid, Func<double, TaskProgress?>? progress, CancellationToken cancellation)
    {
        if (StandardInputIsClosed()) throw new CommandError("standard input is closed; pipe the text in, or name a file with --input");
        string folder = Path.Combine(Path.GetTempPath(), $"charrnn-stdin-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        string copy = Path.Combine(folder, "stdin.txt");
        s_standardInputFolder = folder;
        try
        {
            long bytes;
            try
            {
                s_copying = true;
                // a signal whose handler read s_copying before it was set only cancelled: stop here, or the copy would
                // wait for standard input to end first (the fence orders the flag's store before the token's load, as the
                // handler's cancel comes before its load of the flag). Where both saw the other, whichever takes the stop
                // first reports it: the handler by ending the process, this thread by throwing.
                Interlocked.MemoryBarrier();
                if (cancellation.IsCancellationRequested && Interlocked.Exchange(ref s_stopTaken, 1) == 0) cancellation.ThrowIfCancellationRequested();
                Directory.CreateDirectory(folder);
                using var file = new FileStream(copy, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16);
                using (var stdin = Console.OpenStandardInput()) stdin.CopyTo(file, 1 << 16);
                file.Flush(flushToDisk: false);
                bytes = file.Length;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CommandError($"cannot copy standard input to a temporary file in '{Path.GetTempPath()}' ({FileErrors.Reason(e, copy)}); set TMPDIR to a folder with room for it");
            }
            finally { s_copying = false; }
            if (bytes == 0) throw new CommandError("standard input is empty");
            var options = new CorpusOptions { Lines = lines, ReplaceInvalid = replaceInvalid, CacheDirectory = folder, Cancellation = cancellation };
            var prepared = Prepare([copy], options, progress?.Invoke(bytes / 1e6), m => m.Replace($"'{copy}'", "standard input", StringComparison.Ordinal).Replace(copy, "standard input", StringComparison.Ordinal));
            return new CorpusText(prepared.Store, prepared.Store.Vocabulary, prepared.Store.TextHash, "standard input", prepared, null);
        }
        finally
        {
            s_standardInputFolder = null;
            DeleteFolder(folder);
        }
    }

    // A process started with standard input closed (<&-) finds descriptor 0 taken by one the runtime opened for itself,
    // a pipe only this process writes to: reading it would wait forever. The runtime opens its descriptors close-on-exec,
    // which an inherited standard input never is (it would not have survived the exec).
    private static bool StandardInputIsClosed()
    {
        if (OperatingSystem.IsWindows()) return false;
        const int GetDescriptorFlags = 1, CloseOnExec = 1; // F_GETFD, FD_CLOEXEC: the same on Linux and macOS
        int flags = DescriptorControl(0, GetDescriptorFlags);
        return flags < 0 || (flags & CloseOnExec) != 0;
    }

    [LibraryImport("libc", EntryPoint = "fcntl")]
    private static partial int DescriptorControl(int descriptor, int command);

    /// <summary>Closes the token store, if any.</summary>
    public void Dispose() => _prepared?.Dispose();
}
