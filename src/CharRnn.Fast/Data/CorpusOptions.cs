namespace CharRnn.Fast.Data;

/// <summary>How <see cref="TokenStoreCache.Prepare"/> reads a corpus and where it keeps the token store.</summary>
public sealed record CorpusOptions
{
    /// <summary>
    /// Lines framing: every non-empty line framed by '\n' (a line ends at '\n', "\r\n" or a lone '\r'), each file's
    /// end ending its last line (the CLI's --lines). Otherwise the files' texts are concatenated as they are, nothing inserted.
    /// </summary>
    public bool Lines { get; init; }

    /// <summary>Replace invalid UTF-8 with U+FFFD instead of stopping at the first invalid byte.</summary>
    public bool ReplaceInvalid { get; init; }

    /// <summary>
    /// Where stores go when the corpus's own folder cannot be written; null: $XDG_CACHE_HOME/charrnn/tokens, else
    /// ~/.cache/charrnn/tokens.
    /// </summary>
    public string? CacheDirectory { get; init; }

    /// <summary>
    /// Before reusing a store, read the inputs again and compare their SHA-256 with the stored ones (catches content
    /// changed with size and time kept, at the cost of one read of the corpus).
    /// </summary>
    public bool VerifyContent { get; init; }

    /// <summary>Build a new store even when a valid one exists.</summary>
    public bool Rebuild { get; init; }

    /// <summary>
    /// Stops a store being built: <see cref="TokenStoreCache.Prepare"/> throws <see cref="OperationCanceledException"/>
    /// within one read chunk, and deletes the store's temporary file first.
    /// </summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>Called with the fraction of tokenization done (0..1) now and then while a store is built.</summary>
    public Action<double>? Progress { get; init; }

    /// <summary>Bytes read at a time (tests use tiny chunks to cut every multi-byte sequence).</summary>
    internal int ChunkBytes { get; init; } = 1 << 17;
}
