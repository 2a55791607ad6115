using System.Security.Cryptography;
using System.Text;
using CharRnn.Fast.IO;

namespace CharRnn.Fast.Data;

/// <summary>
/// Where a corpus's token store lives and when it is reused. The store is kept beside the corpus —
/// <c>&lt;input&gt;.charrnn-tokens</c> for one file or directory, <c>&lt;first input&gt;.&lt;key&gt;.charrnn-tokens</c>
/// for several (<c>.lines.charrnn-tokens</c> for lines framing; <c>&lt;start of the name&gt;-&lt;key&gt;.charrnn-tokens</c>
/// when a name would be too long) — or in the cache directory when that place cannot be written. A store is reused when it opens cleanly, lists the same files with the same sizes and last-write times
/// (and, with <see cref="CorpusOptions.VerifyContent"/>, the same SHA-256), and its tokens still have the SHA-256 its
/// header recorded (one read of the store, <see cref="TokenStore.VerifyTokens"/>); a store that is corrupt, truncated,
/// of another format or stale is rebuilt, never used.
/// </summary>
public static class TokenStoreCache
{
    /// <summary>
    /// The token store of <paramref name="inputs"/> (files and directories, expanded by <see cref="CorpusFiles.Expand"/>):
    /// reused if a valid one exists, else built (the entry point of <c>charrnn prepare</c>). Input problems throw
    /// <see cref="TextInputException"/>; a store that cannot be written throws <see cref="IOException"/>; a build
    /// stopped by <see cref="CorpusOptions.Cancellation"/> throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public static PreparedCorpus Prepare(IReadOnlyList<string> inputs, CorpusOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        options ??= new CorpusOptions();
        var files = CorpusFiles.Expand(inputs).Select(CorpusFiles.Stamp).ToArray();
        return PrepareAt(files, options, Locations(inputs, options));
    }

    /// <summary>The places a store of <paramref name="inputs"/> may live, in order of preference: beside the corpus, then the cache.</summary>
    public static IReadOnlyList<string> Locations(IReadOnlyList<string> inputs, CorpusOptions options)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(options);
        if (inputs.Count == 0) throw new ArgumentException("no inputs", nameof(inputs));
        var full = inputs.Select(i => Path.TrimEndingDirectorySeparator(Path.GetFullPath(i))).ToArray();
        string key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', full))));
        string suffix = (options.Lines ? ".lines" : "") + CorpusFiles.StoreExtension;
        string name = Path.GetFileName(full[0]);
        string stem = name.Length > 0 ? name : "root";
        string shortened = $"-{key[..16]}{suffix}";
        var locations = new List<string>(2);
        if (name.Length > 0)
            locations.Add(Path.Combine(Path.GetDirectoryName(full[0])!, Fits(full.Length == 1 ? name + suffix : $"{name}.{key[..8]}{suffix}") ?? Shorten(stem, shortened)));
        locations.Add(Path.Combine(options.CacheDirectory ?? DefaultCacheDirectory(), Fits(stem + shortened) ?? Shorten(stem, shortened)));
        return locations;
    }

    // A store's name, and its temporary file's ("." + name + ".xxxxxxxx.tmp", 14 bytes more), must fit in one path
    // component (NAME_MAX, 255 bytes); an input with a longer name gets a store named by the start of its name and the
    // key of its path.
    private const int MaxStoreNameBytes = 255 - 14;

    private static string? Fits(string fileName) => Encoding.UTF8.GetByteCount(fileName) <= MaxStoreNameBytes ? fileName : null;

    private static string Shorten(string stem, string tail)
    {
        int room = MaxStoreNameBytes - Encoding.UTF8.GetByteCount(tail), used = 0, end = 0;
        foreach (var rune in stem.EnumerateRunes()) // whole characters only
        {
            if (used + rune.Utf8SequenceLength > room) break;
            used += rune.Utf8SequenceLength;
            end += rune.Utf16SequenceLength;
        }
        return stem[..end] + tail;
    }

    internal static PreparedCorpus PrepareAt(IReadOnlyList<CorpusFileStamp> files, CorpusOptions options, IReadOnlyList<string> locations, Func<Stream, Stream>? wrapOutput = null)
    {
        string? reason = options.Rebuild ? "a rebuild was requested" : null;
        if (!options.Rebuild)
            foreach (var location in locations.Where(File.Exists))
            {
                TokenStore store;
                try { store = TokenStore.Open(location); }
                catch (Exception e) when (e is TokenStoreFormatException or IOException or UnauthorizedAccessException)
                {
                    reason ??= e.Message;
                    continue;
                }
                string? stale;
                try { stale = Stale(store, files, options); }
                catch { store.Dispose(); throw; } // an input that cannot be read, or a stop while its content is hashed
                if (stale is null)
                {
                    try
                    {
                        store.VerifyTokens(options.Cancellation);
                        return new PreparedCorpus(store, Reused: true, RebuildReason: null);
                    }
                    catch (OperationCanceledException) { store.Dispose(); throw; }
                    catch (Exception e) when (e is TokenStoreFormatException or IOException or UnauthorizedAccessException) { stale = e.Message; }
                    store.Dispose();
                    reason ??= stale;
                    continue;
                }
                store.Dispose();
                reason ??= $"token store '{location}' is stale: {stale}";
            }
        return new PreparedCorpus(TokenStoreBuilder.Build(files, options, locations, wrapOutput), Reused: false, reason);
    }

    /// <summary>Why <paramref name="store"/> does not hold <paramref name="files"/> as <paramref name="options"/> ask, or null when it does.</summary>
    private static string? Stale(TokenStore store, IReadOnlyList<CorpusFileStamp> files, CorpusOptions options)
    {
        if (store.Lines != options.Lines) return store.Lines ? "it holds the lines framing" : "it does not hold the lines framing";
        if (store.ReplacedCount > 0 && !options.ReplaceInvalid) return $"it was made with {store.ReplacedCount} invalid UTF-8 sequence(s) replaced";
        if (store.Inputs.Count != files.Count || !store.Inputs.Select(i => i.Path).SequenceEqual(files.Select(f => f.Path), StringComparer.Ordinal))
            return "the list of input files changed";
        for (int i = 0; i < files.Count; i++)
        {
            var (was, now) = (store.Inputs[i], files[i]);
            if (was.Size != now.Size) return $"'{now.Path}' changed size ({was.Size:N0} → {now.Size:N0} bytes)";
            if (was.LastWriteTimeUtc != now.LastWriteTimeUtc) return $"'{now.Path}' changed (last written {was.LastWriteTimeUtc:O} → {now.LastWriteTimeUtc:O})";
        }
        if (options.VerifyContent)
            foreach (var input in store.Inputs)
            {
                string sha;
                try { using var stream = File.OpenRead(input.Path); sha = Convert.ToHexStringLower(TokenStore.Sha256Of(stream, options.Cancellation)); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new TextInputException($"cannot read '{input.Path}': {FileErrors.Reason(e, input.Path)}"); }
                if (sha != input.Sha256) return $"'{input.Path}' changed content (same size and time)";
            }
        return null;
    }

    private static string DefaultCacheDirectory()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string root = !string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg) ? xdg
            : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } home ? Path.Combine(home, ".cache")
            : Path.GetTempPath();
        return Path.Combine(root, "charrnn", "tokens");
    }
}

/// <summary>The token store of a corpus, and whether it was reused. Disposing it disposes <see cref="Store"/>.</summary>
/// <param name="Store">The opened store.</param>
/// <param name="Reused">True when a valid store existed; false when one was built.</param>
/// <param name="RebuildReason">Why an existing store was not used (corrupt, stale, …), or null when there was none.</param>
public sealed record PreparedCorpus(TokenStore Store, bool Reused, string? RebuildReason) : IDisposable
{
    /// <summary>Disposes <see cref="Store"/>.</summary>
    public void Dispose() => Store.Dispose();
}
