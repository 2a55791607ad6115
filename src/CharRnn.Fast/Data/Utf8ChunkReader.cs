using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Unicode;
using CharRnn.Fast.IO;

namespace CharRnn.Fast.Data;

/// <summary>
/// Streams UTF-8 files to a <see cref="TextChunkSink"/> in fixed-size chunks, never holding a whole file: a leading
/// BOM is dropped, a sequence cut by a chunk boundary is carried into the next chunk, and an invalid byte either stops
/// the read with its byte offset in the file (as <see cref="TextFile"/> does) or becomes U+FFFD (maximal-subpart
/// replacement, as <see cref="Encoding.UTF8"/> does). Buffers are allocated once, here.
/// </summary>
internal sealed class Utf8ChunkReader
{
    private static ReadOnlySpan<byte> Bom => [0xEF, 0xBB, 0xBF];

    private readonly int _chunkBytes;
    private readonly bool _replaceInvalid;
    private readonly byte[] _bytes; // [carried ≤ 3 bytes | one read of ≤ chunkBytes]
    private readonly char[] _chars; // the decoded chunk: a byte never becomes more than one char

    public Utf8ChunkReader(int chunkBytes, bool replaceInvalid)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkBytes, 1);
        _chunkBytes = chunkBytes;
        _replaceInvalid = replaceInvalid;
        _bytes = new byte[chunkBytes + 3];
        _chars = new char[chunkBytes + 3];
    }

    /// <summary>
    /// Reads <paramref name="file"/> into <paramref name="sink"/> (then calls its <see cref="TextChunkSink.EndOfFile"/>);
    /// <paramref name="hash"/> sees every byte, BOM included; <paramref name="decoded"/> every byte decoded (all but a
    /// leading BOM: the text's own UTF-8 when nothing was replaced). Returns the number of invalid sequences replaced. A
    /// file whose length differs from the stamp's, or that grows while read, throws <see cref="TextInputException"/>.
    /// </summary>
    public long Read(CorpusFileStamp file, TextChunkSink sink, IncrementalHash? hash, IncrementalHash? decoded = null, Action<int>? bytesRead = null)
    {
        using var stream = Open(file.Path);
        long total = 0, replaced = 0;
        long offset = 0; // file offset of _bytes[0]
        int carry = 0;
        bool atStart = true;
        while (true)
        {
            int n;
            try { n = stream.Read(_bytes, carry, _chunkBytes); }
            catch (IOException e) { throw new TextInputException($"cannot read '{file.Path}': {FileErrors.Reason(e, file.Path)}"); }
            hash?.AppendData(_bytes, carry, n);
            total += n;
            if (total > file.Size) throw ChangedWhileRead(file.Path);
            bytesRead?.Invoke(n);
            bool final = n == 0;
            int filled = carry + n, start = 0;
            if (atStart)
            {
                if (filled < Bom.Length && !final) { carry = filled; continue; } // a BOM may still be arriving
                atStart = false;
                if (_bytes.AsSpan(0, filled).StartsWith(Bom)) start = Bom.Length;
            }
            int consumed = Decode(_bytes.AsSpan(start, filled - start), final, offset + start, file.Path, ref replaced, out int written);
            decoded?.AppendData(_bytes, start, consumed);
            if (written > 0) sink.Write(_chars.AsSpan(0, written));
            int end = start + consumed;
            carry = filled - end;
            _bytes.AsSpan(end, carry).CopyTo(_bytes);
            offset += end;
            if (final) break;
        }
        if (total != file.Size) throw ChangedWhileRead(file.Path);
        sink.EndOfFile();
        return replaced;
    }

    /// <summary>Whether the file starts with a UTF-8 byte-order mark (which is not part of its text).</summary>
    public static bool StartsWithBom(string path)
    {
        using var stream = Open(path);
        Span<byte> head = stackalloc byte[3];
        return stream.ReadAtLeast(head, 3, throwOnEndOfStream: false) == 3 && head.SequenceEqual(Bom);
    }

    internal static TextInputException ChangedWhileRead(string path) =>
        new($"input file '{path}' changed while it was being read; run again once it no longer changes");

    private static FileStream Open(string path)
    {
        FileStream stream;
        try { stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0, FileOptions.SequentialScan); }
        catch (FileNotFoundException) { throw new TextInputException($"input file '{path}' does not exist"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new TextInputException($"cannot read '{path}': {FileErrors.Reason(e, path)}"); }
        if (!stream.CanSeek)
        {
            stream.Dispose();
            throw new TextInputException($"input '{path}' is not a regular file (a corpus is read twice, so pipes and devices cannot be used)");
        }
        return stream;
    }

    /// <summary>
    /// Decodes <paramref name="bytes"/> into the char buffer; returns the bytes consumed. Unless <paramref name="final"/>,
    /// an incomplete sequence at the end is left unconsumed (at most 3 bytes) for the next chunk to complete.
    /// </summary>
    private int Decode(ReadOnlySpan<byte> bytes, bool final, long offset, string path, ref long replaced, out int charsWritten)
    {
        var chars = _chars.AsSpan();
        int read = 0, written = 0;
        while (true)
        {
            // The vectorized decoder; it stops at the first invalid sequence.
            var status = Utf8.ToUtf16(bytes[read..], chars[written..], out int r, out int w, replaceInvalidSequences: false, isFinalBlock: final);
            read += r;
            written += w;
            if (status is OperationStatus.Done or OperationStatus.NeedMoreData) break;
            if (status != OperationStatus.InvalidData) throw new InvalidOperationException($"UTF-8 decoding returned {status}");
            if (!_replaceInvalid) throw new TextInputException(TextFile.InvalidUtf8Message(path, bytes[read], offset + read));
            Rune.DecodeFromUtf8(bytes[read..], out _, out int invalid); // the maximal invalid subpart becomes one U+FFFD
            chars[written++] = (char)Rune.ReplacementChar.Value;
            read += invalid;
            replaced++;
        }
        charsWritten = written;
        return read;
    }
}
