using System.Security.Cryptography;
using CharRnn.Fast.IO;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;

namespace CharRnn.Fast.Data;

/// <summary>
/// Writes a token store by streaming the corpus twice: pass 1 collects the vocabulary and counts the tokens, pass 2
/// encodes them (hashing each file's bytes, the text they make and the token bytes as they go by). The file is written
/// as a temporary file beside the target, preallocated to its exact size (a full disk fails before any work), then
/// renamed over it, so no reader sees a partial store. It is not synced to disk: a store is a cache, and one that a
/// crash left torn fails its header or token hash and is rebuilt.
/// </summary>
internal static class TokenStoreBuilder
{
    private const long ProgressEvery = 16 << 20; // bytes between progress calls

    /// <summary>
    /// Builds the store of <paramref name="files"/> at the first of <paramref name="locations"/> where a file can be
    /// created, and opens it. Input problems throw <see cref="TextInputException"/>; a failed write throws
    /// <see cref="IOException"/> naming the store, and a cancelled build <see cref="OperationCanceledException"/>; both
    /// leave no file behind. <paramref name="wrapOutput"/> lets tests
    /// fail the write part way.
    /// </summary>
    public static TokenStore Build(IReadOnlyList<CorpusFileStamp> files, CorpusOptions options, IReadOnlyList<string> locations, Func<Stream, Stream>? wrapOutput = null)
    {
        var reader = new Utf8ChunkReader(options.ChunkBytes, options.ReplaceInvalid);
        var meter = Meter(options.Progress, 2 * files.Sum(f => f.Size));
        // Checked at every chunk, so a cancelled build stops within one (and the catch below deletes its temporary file).
        var cancellation = options.Cancellation;
        Action<int> progress = n =>
        {
            cancellation.ThrowIfCancellationRequested();
            meter?.Invoke(n);
        };

        // Pass 1: which scalars occur, and how many tokens each file ends at.
        var symbols = new SymbolCollector();
        TextChunkSink sink = options.Lines ? new LinesFraming(symbols) : symbols;
        long replaced = 0;
        var endsAt = new long[files.Count];
        for (int i = 0; i < files.Count; i++)
        {
            replaced += reader.Read(files[i], sink, hash: null, bytesRead: progress);
            endsAt[i] = symbols.Count;
        }
        if (symbols.Count == 0)
            throw new TextInputException(options.Lines ? "the input has no non-empty lines" : files.Count == 1 ? $"input file '{files[0].Path}' is empty" : "the input files are empty");
        var vocabulary = symbols.ToVocabulary();
        if (vocabulary.Count > RnnShape.MaxVocabulary) // before the encoding pass: no model could be trained on the store
            throw new TextInputException($"the text has {vocabulary.Count:N0} distinct characters; a model holds at most {RnnShape.MaxVocabulary:N0}");
        var fingerprints = files.Select(f => new CorpusFileFingerprint(f.Path, f.Size, f.LastWriteTimeUtc, "")).ToArray();
        var header = new TokenStoreHeader(vocabulary, symbols.Count, replaced, options.Lines, fingerprints);
        var headerBytes = header.ToBytes(); // hashes still zero: rewritten with them at the end, same length
        long total = headerBytes.Length + symbols.Count * header.BytesPerToken;

        var (file, temp, target) = CreateTemporary(locations, total);
        try
        {
            var output = wrapOutput?.Invoke(file) ?? file;
            output.Write(headerBytes);

            // Pass 2: encode, hashing each file's bytes, the token bytes and the text on the way. Without framing and
            // replacement the text's UTF-8 is the files' bytes without their BOMs, hashed as read (one file without a
            // BOM: its own hash); otherwise the decoded text is encoded back to UTF-8 and hashed.
            var encoder = new TokenEncoder(vocabulary, output);
            bool textIsBytes = !options.Lines && replaced == 0;
            bool textIsFile = textIsBytes && files.Count == 1 && !Utf8ChunkReader.StartsWithBom(files[0].Path);
            using var textBytes = textIsBytes && !textIsFile ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
            var text = textIsBytes ? null : new Utf8HashSink(encoder);
            sink = text is null ? encoder : options.Lines ? new LinesFraming(text) : text;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long replacedAgain = 0;
            for (int i = 0; i < files.Count; i++)
            {
                try { replacedAgain += reader.Read(files[i], sink, hash, textBytes, progress); }
                catch (UnknownCharactersException) { throw Utf8ChunkReader.ChangedWhileRead(files[i].Path); }
                if (encoder.Count != endsAt[i]) throw Utf8ChunkReader.ChangedWhileRead(files[i].Path);
                fingerprints[i] = fingerprints[i] with { Sha256 = Convert.ToHexStringLower(hash.GetHashAndReset()) };
                if (CorpusFiles.Stamp(files[i].Path) != files[i]) throw Utf8ChunkReader.ChangedWhileRead(files[i].Path);
            }
            if (replacedAgain != replaced) throw Utf8ChunkReader.ChangedWhileRead(files[^1].Path);

            output.Flush();
            file.Position = 0;
            string textSha256 = textIsFile ? fingerprints[0].Sha256 : textBytes is not null ? Convert.ToHexStringLower(textBytes.GetHashAndReset()) : text!.TakeSha256();
            file.Write(new TokenStoreHeader(vocabulary, symbols.Count, replaced, options.Lines, fingerprints, textSha256, encoder.TakeSha256()).ToBytes());
            if (file.Length != total) throw new InvalidOperationException($"wrote {file.Length} bytes of a {total}-byte token store");
            file.Dispose(); // not synced to disk: a store torn by a crash fails its hashes when next opened, and is rebuilt
            File.Move(temp, target, overwrite: true);
        }
        catch (Exception e)
        {
            try { file.Dispose(); } catch (IOException) { } // flushing what is left fails again on a full disk
            TryDelete(temp);
            if (e is IOException) throw new IOException($"cannot write the token store '{target}' ({total:N0} bytes): {Reason(e, temp)}", e);
            throw;
        }
        options.Progress?.Invoke(1);
        return TokenStore.Open(target);
    }

    /// <summary>A hidden temporary file beside the first location where one can be created with the store's full size.</summary>
    private static (FileStream File, string Temporary, string Target) CreateTemporary(IReadOnlyList<string> locations, long size)
    {
        var failures = new List<string>();
        foreach (var target in locations)
        {
            string directory = Path.GetDirectoryName(target)!;
            string temp = Path.Combine(directory, "." + Path.GetFileName(target) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
            try
            {
                Directory.CreateDirectory(directory);
                var file = new FileStream(temp, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 1 << 16, PreallocationSize = size,
                });
                return (file, temp, target);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                TryDelete(temp);
                failures.Add($"'{target}': {Reason(e, temp)}");
            }
        }
        throw new IOException($"cannot write the token store ({size:N0} bytes) in any of its places: {string.Join("; ", failures)}");
    }

    // .NET reports a preallocation that does not fit as "Failed to create '<path>' with allocation size N because the disk was full."
    private static string Reason(Exception e, string path)
        => e.Message.Contains("disk was full", StringComparison.OrdinalIgnoreCase) ? "no space left on device" : FileErrors.Reason(e, path);

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static Action<int>? Meter(Action<double>? report, long totalBytes)
    {
        if (report is null || totalBytes == 0) return null;
        long done = 0, next = ProgressEvery;
        return n =>
        {
            done += n;
            if (done < next) return;
            next = done + ProgressEvery;
            report(Math.Min(1, (double)done / totalBytes));
        };
    }
}
