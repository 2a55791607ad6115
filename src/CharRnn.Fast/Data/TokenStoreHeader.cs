using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using CharRnn.Fast.Text;

namespace CharRnn.Fast.Data;

/// <summary>
/// The header of a token store file. All integers little-endian:
/// <code>
///   magic "CHRNTOKS" · u32 format version (1) · u32 bytes per token (1, 2 or 4)
///   i64 header length L (the first token's offset; a multiple of 64) · i64 token count N
///   i64 invalid UTF-8 sequences replaced by U+FFFD · u32 flags (bit 1: lines framing)
///   u32 V · V × u32 the vocabulary's scalars, ascending
///   u32 input count · per input: u32 n, n bytes UTF-8 full path, i64 size, i64 last-write time (UTC ticks), 32 bytes SHA-256
///   32 bytes SHA-256 of the text the tokens spell, as UTF-8 (after BOM removal, replacement and lines framing)
///   32 bytes SHA-256 of the token bytes (the N × width bytes after the header)
///   32 bytes SHA-256 of every header byte before it · zero padding to L
/// </code>
/// then N tokens of the stated width; the file is exactly L + N × width bytes long.
/// </summary>
internal sealed class TokenStoreHeader
{
    public const int FormatVersion = 2;
    private const int Alignment = 64, HashBytes = 32, MaxPathBytes = 1 << 16;
    private static ReadOnlySpan<byte> Magic => "CHRNTOKS"u8;

    // Bit 1 marks the lines framing, in which a lone '\r' ends a line. Bit 0 marked the framing of earlier versions,
    // which deleted every '\r' (gluing the lines of a classic Mac OS file together): such a store is refused, so rebuilt.
    private const uint LinesFlag = 2, DeletedCarriageReturnsFlag = 1;

    public TokenStoreHeader(Vocabulary vocabulary, long tokenCount, long replacedCount, bool lines, IReadOnlyList<CorpusFileFingerprint> inputs, string textSha256 = "", string tokensSha256 = "")
    {
        TextSha256 = textSha256;
        TokensSha256 = tokensSha256;
        Vocabulary = vocabulary;
        TokenCount = tokenCount;
        ReplacedCount = replacedCount;
        Lines = lines;
        Inputs = inputs;
        BytesPerToken = BytesPerTokenFor(vocabulary.Count);
    }

    public Vocabulary Vocabulary { get; }
    public long TokenCount { get; }
    public long ReplacedCount { get; }
    public bool Lines { get; }
    public IReadOnlyList<CorpusFileFingerprint> Inputs { get; }

    /// <summary>SHA-256 (lowercase hex) of the token sequence's text as UTF-8; empty until the tokens are written.</summary>
    public string TextSha256 { get; }

    /// <summary>SHA-256 (lowercase hex) of the token bytes; empty until they are written.</summary>
    public string TokensSha256 { get; }
    public int BytesPerToken { get; }

    /// <summary>1 byte a token for V ≤ 256, 2 for V ≤ 65,536, else 4.</summary>
    public static int BytesPerTokenFor(int vocabularySize) => vocabularySize <= 256 ? 1 : vocabularySize <= 65536 ? 2 : 4;

    /// <summary>The header's bytes, padding included (their count is the first token's offset).</summary>
    public byte[] ToBytes()
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true)) // BinaryWriter is little-endian on every platform
        {
            w.Write(Magic);
            w.Write((uint)FormatVersion);
            w.Write((uint)BytesPerToken);
            w.Write(0L); // header length, patched below
            w.Write(TokenCount);
            w.Write(ReplacedCount);
            w.Write(Lines ? LinesFlag : 0u);
            w.Write((uint)Vocabulary.Count);
            foreach (var symbol in Vocabulary.Symbols) w.Write((uint)symbol.Value);
            w.Write((uint)Inputs.Count);
            foreach (var input in Inputs)
            {
                var path = Encoding.UTF8.GetBytes(input.Path);
                w.Write((uint)path.Length);
                w.Write(path);
                w.Write(input.Size);
                w.Write(input.LastWriteTimeUtc.Ticks);
                w.Write(input.Sha256.Length == 0 ? new byte[HashBytes] : Convert.FromHexString(input.Sha256));
            }
            w.Write(TextSha256.Length == 0 ? new byte[HashBytes] : Convert.FromHexString(TextSha256));
            w.Write(TokensSha256.Length == 0 ? new byte[HashBytes] : Convert.FromHexString(TokensSha256));
        }
        int hashAt = (int)buffer.Length;
        int length = (hashAt + HashBytes + Alignment - 1) / Alignment * Alignment;
        var bytes = new byte[length];
        buffer.GetBuffer().AsSpan(0, hashAt).CopyTo(bytes);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(16), length);
        SHA256.HashData(bytes.AsSpan(0, hashAt), bytes.AsSpan(hashAt, HashBytes));
        return bytes;
    }

    /// <summary>
    /// Reads and checks the header of <paramref name="stream"/>: magic, version, the file length against the token
    /// count, the header's own hash and every field, reading field by field (a damaged length allocates nothing).
    /// Anything wrong throws <see cref="TokenStoreFormatException"/> naming <paramref name="path"/>; returns the header
    /// and its length.
    /// </summary>
    public static (TokenStoreHeader Header, long Length) Read(FileStream stream, string path)
    {
        long fileLength = stream.Length;
        TokenStoreFormatException Corrupt(string what) => new($"token store '{path}' {what}");
        if (fileLength < Alignment) throw Corrupt($"is truncated: {fileLength} bytes");

        stream.Position = 0;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var r = new FieldReader(new BufferedStream(stream, 1 << 16), fileLength, hash, () => Corrupt("has a header that is corrupt or truncated"));
        Span<byte> magic = stackalloc byte[8];
        r.Bytes(magic);
        if (!magic.SequenceEqual(Magic)) throw Corrupt("is not a token store (wrong magic bytes)");
        uint version = r.U32();
        if (version != FormatVersion) throw Corrupt($"has format version {version}; this program reads version {FormatVersion}");
        uint width = r.U32();
        long length = r.I64(), count = r.I64();
        if (width is not (1 or 2 or 4)) throw Corrupt($"has a header that is corrupt: {width} bytes per token");
        if (length < Alignment || length % Alignment != 0 || length > fileLength) throw Corrupt($"has a header that is corrupt or truncated: header length {length} in a file of {fileLength} bytes");
        if (count < 1 || count > (fileLength - length) / width || length + count * width != fileLength)
            throw Corrupt($"is truncated or has extra bytes: {fileLength} bytes, where its header promises {length} + {count} × {width}");
        r.Limit = length;

        long replaced = r.I64();
        uint flags = r.U32();
        uint v = r.U32();
        if (v < 1 || v > 0x110000) throw Corrupt($"has a header that is corrupt: vocabulary of {v}");
        var symbols = new Rune[v];
        for (int i = 0; i < symbols.Length; i++)
        {
            uint scalar = r.U32();
            if (!Rune.IsValid(scalar) || (i > 0 && scalar <= (uint)symbols[i - 1].Value)) throw Corrupt("has a header that is corrupt: its vocabulary is not distinct valid characters in ascending order");
            symbols[i] = new Rune(scalar);
        }
        uint inputCount = r.U32();
        var inputs = new List<CorpusFileFingerprint>();
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        Span<byte> sha = stackalloc byte[HashBytes];
        for (uint i = 0; i < inputCount; i++)
        {
            uint pathBytes = r.U32();
            if (pathBytes > MaxPathBytes) throw Corrupt($"has a header that is corrupt: an input path of {pathBytes} bytes");
            var pathUtf8 = new byte[pathBytes];
            r.Bytes(pathUtf8);
            string inputPath;
            try { inputPath = strict.GetString(pathUtf8); }
            catch (DecoderFallbackException) { throw Corrupt("has a header that is corrupt: an input path is not UTF-8"); }
            long size = r.I64(), ticks = r.I64();
            if (size < 0 || ticks < DateTime.MinValue.Ticks || ticks > DateTime.MaxValue.Ticks) throw Corrupt("has a header that is corrupt: an input's size or time is out of range");
            r.Bytes(sha);
            inputs.Add(new CorpusFileFingerprint(inputPath, size, new DateTime(ticks, DateTimeKind.Utc), Convert.ToHexStringLower(sha)));
        }
        r.Bytes(sha);
        string textSha256 = Convert.ToHexStringLower(sha);
        r.Bytes(sha);
        string tokensSha256 = Convert.ToHexStringLower(sha);
        var expected = hash.GetCurrentHash();
        r.Bytes(sha);
        if (!sha.SequenceEqual(expected)) throw Corrupt("has a header that is corrupt (its hash does not match)");
        if ((r.Position + Alignment - 1) / Alignment * Alignment != length) throw Corrupt("has a header that is corrupt: wrong header length");
        if (flags == DeletedCarriageReturnsFlag) throw Corrupt("holds the lines framing of an earlier version (carriage returns deleted, not line ends)");
        if (replaced < 0 || (flags & ~LinesFlag) != 0) throw Corrupt("has a header that is corrupt: unknown flags");
        var header = new TokenStoreHeader(Vocabulary.FromSymbols(symbols), count, replaced, (flags & LinesFlag) != 0, inputs, textSha256, tokensSha256);
        if (header.BytesPerToken != width) throw Corrupt($"has a header that is corrupt: {width} bytes per token for a vocabulary of {v}");
        return (header, length);
    }

    /// <summary>Little-endian fields read in order, each byte added to the running hash, never past <see cref="Limit"/>.</summary>
    private sealed class FieldReader(Stream stream, long limit, IncrementalHash hash, Func<Exception> truncated)
    {
        public long Position { get; private set; }
        public long Limit { get; set; } = limit;

        public void Bytes(Span<byte> destination)
        {
            if (destination.Length > Limit - Position) throw truncated();
            stream.ReadExactly(destination);
            hash.AppendData(destination);
            Position += destination.Length;
        }

        public uint U32() { Span<byte> b = stackalloc byte[4]; Bytes(b); return BinaryPrimitives.ReadUInt32LittleEndian(b); }
        public long I64() { Span<byte> b = stackalloc byte[8]; Bytes(b); return BinaryPrimitives.ReadInt64LittleEndian(b); }
    }
}

/// <summary>A token store file is corrupt, truncated or of another format version; the message says which.</summary>
public sealed class TokenStoreFormatException(string message) : Exception(message);
