using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using CharRnn.Fast.Text;
using Microsoft.Win32.SafeHandles;

namespace CharRnn.Fast.Data;

/// <summary>
/// A token store file opened for reading: its header (vocabulary, the inputs it was made from) checked, its tokens
/// addressed by 64-bit positions and read with positioned reads (pread) into the caller's buffer, so a corpus of any
/// length costs only the buffers its readers hold: unlike a memory mapping, the pages read never count in the process's
/// memory (sequential readers such as <see cref="Training.TokenStream"/> read ahead in blocks, so the calls are few).
/// <see cref="Read"/> is safe from several threads; <see cref="Dispose"/> must not race with it. Make stores with
/// <see cref="TokenStoreCache.Prepare"/>.
/// </summary>
public sealed class TokenStore : ITokenSource, IDisposable
{
    private readonly SafeFileHandle _file;
    private readonly long _headerLength; // the file offset of token 0
    private readonly string _tokensSha256;
    private bool _disposed;

    private TokenStore(string path, TokenStoreHeader header, long headerLength, SafeFileHandle file)
    {
        _headerLength = headerLength;
        _tokensSha256 = header.TokensSha256;
        Path = path;
        Vocabulary = header.Vocabulary;
        Length = header.TokenCount;
        BytesPerToken = header.BytesPerToken;
        Lines = header.Lines;
        ReplacedCount = header.ReplacedCount;
        Inputs = header.Inputs;
        TextHash = TextFingerprint.Prefix + header.TextSha256;
        _file = file;
    }

    /// <summary>
    /// Opens the store at <paramref name="path"/>. A file that is not a token store of this format version, is
    /// truncated or longer than its header says, or whose header hash does not match throws
    /// <see cref="TokenStoreFormatException"/>; a missing or unreadable file throws the usual I/O exceptions.
    /// </summary>
    public static TokenStore Open(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1);
        try
        {
            var (header, headerLength) = TokenStoreHeader.Read(stream, full);
            var file = File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
            if (RandomAccess.GetLength(file) != headerLength + header.TokenCount * header.BytesPerToken)
            {
                file.Dispose();
                throw new TokenStoreFormatException($"token store '{full}' changed while it was opened");
            }
            return new TokenStore(full, header, headerLength, file);
        }
        finally { stream.Dispose(); }
    }

    /// <summary>The store's full path.</summary>
    public string Path { get; }

    /// <summary>The corpus's vocabulary (distinct scalars in ordinal order; id = index).</summary>
    public Vocabulary Vocabulary { get; }

    /// <inheritdoc/>
    public long Length { get; }

    /// <inheritdoc/>
    public int VocabularySize => Vocabulary.Count;

    /// <summary>Bytes a token takes in the file: 1 for V ≤ 256, 2 for V ≤ 65,536, else 4.</summary>
    public int BytesPerToken { get; }

    /// <summary>Whether the tokens are the lines framing of the inputs (each non-empty line framed by '\n').</summary>
    public bool Lines { get; }

    /// <summary>Invalid UTF-8 sequences replaced by U+FFFD while encoding (0: the inputs were valid UTF-8).</summary>
    public long ReplacedCount { get; }

    /// <summary>The input files, in order, as they were when the store was written.</summary>
    public IReadOnlyList<CorpusFileFingerprint> Inputs { get; }

    /// <summary>
    /// The <see cref="TextFingerprint"/> of the text the tokens spell (<c>sha256:</c> and the SHA-256 of its UTF-8,
    /// after BOM removal, replacement of invalid bytes and lines framing), computed when the store was written: what a
    /// checkpoint records as <c>text_hash</c>, known without decoding the corpus again. For one UTF-8 file without a
    /// BOM in stream mode it is what <c>sha256sum</c> prints for the file.
    /// </summary>
    public string TextHash { get; }

    /// <summary>
    /// SHA-256 (lowercase hex) identifying the token sequence by what it was made from: the framing and each input's
    /// content hash, in order (not paths or times, so a moved or touched corpus keeps its identity).
    /// </summary>
    public string ContentHash
    {
        get
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            hash.AppendData(Lines ? "lines\n"u8 : "text\n"u8);
            foreach (var input in Inputs) hash.AppendData(Encoding.ASCII.GetBytes(input.Sha256 + "\n"));
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
    }

    /// <summary>
    /// Reads the token bytes back from the file, a block at a time (memory does not grow with the store)
    /// and throws <see cref="TokenStoreFormatException"/> unless their SHA-256 is the one the header recorded: damage
    /// that keeps every id inside the vocabulary, which <see cref="Read"/> cannot see. Costs one read of the file;
    /// <paramref name="cancellation"/> stops it between blocks (<see cref="OperationCanceledException"/>).
    /// </summary>
    public void VerifyTokens(CancellationToken cancellation = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        byte[] actual;
        using (var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 20, FileOptions.SequentialScan))
        {
            stream.Position = _headerLength;
            actual = Sha256Of(stream, cancellation);
        }
        if (!Convert.ToHexStringLower(actual).Equals(_tokensSha256, StringComparison.Ordinal))
            throw new TokenStoreFormatException($"token store '{Path}' is corrupt: its tokens do not match the hash in its header");
    }

    /// <summary>SHA-256 of the rest of <paramref name="stream"/>, read in blocks; <paramref name="cancellation"/> is checked before each.</summary>
    internal static byte[] Sha256Of(Stream stream, CancellationToken cancellation)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var block = new byte[1 << 20];
        int n;
        while ((n = stream.Read(block)) > 0)
        {
            cancellation.ThrowIfCancellationRequested();
            hash.AppendData(block, 0, n);
        }
        return hash.GetHashAndReset();
    }

    /// <inheritdoc/>
    /// <remarks>
    /// A stored id outside the vocabulary (a damaged token region) throws <see cref="TokenStoreFormatException"/>
    /// instead of reaching the model, as does a file that has become shorter.
    /// </remarks>
    public void Read(long position, Span<int> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        new TokenRange(position, destination.Length).CheckInside(Length, nameof(position));
        int n = destination.Length, width = BytesPerToken;
        // the stored bytes go to the front of the destination's own memory (w·n ≤ 4·n bytes), then are widened in place
        var raw = MemoryMarshal.AsBytes(destination)[..(n * width)];
        for (int done = 0; done < raw.Length;)
        {
            int got = RandomAccess.Read(_file, raw[done..], _headerLength + position * width + done);
            if (got == 0) throw new TokenStoreFormatException($"token store '{Path}' is truncated: it ended while tokens were read; delete the file to have it rebuilt");
            done += got;
        }
        int bad = width switch
        {
            1 => Widen<byte>(destination, VocabularySize),
            2 => Widen<ushort>(destination, VocabularySize),
            _ => Widen<uint>(destination, VocabularySize),
        };
        if (bad >= 0)
            throw new TokenStoreFormatException($"token store '{Path}' is corrupt: token {(uint)destination[bad]} at position {position + bad} is outside its vocabulary of {VocabularySize}; delete the file to have it rebuilt");
    }

    // The n stored little-endian ids of type T at the front of tokens' memory → ints, last first (token i's int covers
    // stored ids ≥ i only, all already read), each checked against V; returns the index of the first bad id, or −1.
    private static int Widen<T>(Span<int> tokens, int vocabularySize) where T : unmanaged, IBinaryInteger<T>
    {
        var stored = MemoryMarshal.Cast<int, T>(tokens)[..tokens.Length];
        uint limit = (uint)vocabularySize;
        int bad = -1;
        for (int i = tokens.Length - 1; i >= 0; i--)
        {
            uint id = uint.CreateTruncating(stored[i]);
            if (!BitConverter.IsLittleEndian) id = Unsafe.SizeOf<T>() == 2 ? BinaryPrimitives.ReverseEndianness((ushort)id) : Unsafe.SizeOf<T>() == 4 ? BinaryPrimitives.ReverseEndianness(id) : id;
            tokens[i] = (int)id;
            if (id >= limit) bad = i;
        }
        return bad;
    }

    /// <summary>Closes the file.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _file.Dispose();
    }
}
